"""scripts/develop as a developer runs it: started in the background it still stops on SIGINT (and stops
Home Assistant and the simulator with it), it starts without error noise, and its settings are documented."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
BANNER_TIMEOUT = 180  # setup check, simulator start, and the one-off login user (hass --script auth)
STOP_TIMEOUT = 45  # scripts/develop gives each process 20 s before it kills it


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def ignore_sigint() -> None:
    """What a shell without job control does to `scripts/develop &`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.skipif(
    not (REPO_ROOT / ".venv" / "bin" / "python").exists(),
    reason="scripts/develop runs the pinned stack in .venv, which the newest-HA chroot's copy has not",
)
@pytest.mark.timeout(BANNER_TIMEOUT + STOP_TIMEOUT + 30)
def test_develop_in_the_background_stops_on_sigint(tmp_path: Path, socket_enabled: None) -> None:
    port = free_port()
    state = tmp_path / "state"
    env = {
        **os.environ,
        "SEMS_DEV_PORT": str(port),
        "SEMS_DEV_CONFIG": str(tmp_path / "config"),
        "SEMS_DEV_STATE": str(state),
    }
    stdout, stderr = tmp_path / "stdout", tmp_path / "stderr"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            ["bash", str(REPO_ROOT / "scripts" / "develop"), "--random-ports", "--only", "sdm630_tcp"],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            preexec_fn=ignore_sigint,  # noqa: PLW1509 - the point of the test
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + BANNER_TIMEOUT
        while "Stop with Ctrl-C" not in stdout.read_text(errors="replace"):
            assert process.poll() is None, stderr.read_text(errors="replace")
            assert time.monotonic() < deadline, "scripts/develop did not start"
            time.sleep(0.5)
        assert (state / "simulator-control.json").exists()  # the simulator runs

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=STOP_TIMEOUT) == 130
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert "stopped" in stdout.read_text(errors="replace")
    assert not (state / "simulator-control.json").exists()  # the simulator stopped cleanly
    assert not listening(port)
    errors = stderr.read_text(errors="replace")
    assert "grep:" not in errors
    assert "No such file" not in errors


def test_develop_settings_are_documented() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    for variable in ("SEMS_DEV_PORT", "SEMS_DEV_CONFIG", "SEMS_DEV_STATE"):
        assert variable in readme, variable
