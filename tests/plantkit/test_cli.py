"""The `sems` command line: in-process through main() and as scripts/sems subprocesses.

main() runs its own event loop (asyncio.run), so in-process calls go through asyncio.to_thread while the
simulated devices are served by the test's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from custom_components.sems.plantkit import cli
from custom_components.sems.plantkit.exceptions import ModbusExceptionError
from custom_components.sems.plantkit.model import Quantity
from custom_components.sems.plantkit.registers import DataType, Point, RegisterKind
from custom_components.sems.plantkit.transport import Endpoint, TransportType
from simulator.devices.eastron import Sdm120Sim, Sdm630Sim
from simulator.physics import PlantState
from simulator.plant import SimulatedPlant

from .conftest import SIM_START, Serve

SEMS = Path(__file__).resolve().parents[2] / "scripts" / "sems"
STATE = PlantState(
    now=SIM_START,
    grid_power=-1054.3,
    grid_frequency=50.01,
    grid_import_energy_total=4321.25,
    grid_export_energy_total=6789.5,
)
FAIL_TIMEOUT = 2.0  # --timeout for the failure cases
IN_PROCESS_SLACK = 1.0  # event loop start/stop and closing the client
SUBPROCESS_SLACK = 20.0  # interpreter start and imports (Home Assistant via the package: 2-7 s under load)


@dataclass(frozen=True, slots=True)
class Run:
    """Outcome of one command."""

    status: int
    out: str
    err: str
    elapsed: float

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


type RunMain = Callable[..., Awaitable[Run]]
type RudeServer = Callable[[bytes | None], Awaitable[int]]


# -- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture
def run_main(capsys: pytest.CaptureFixture[str]) -> RunMain:
    """Run cli.main in a worker thread (it owns an event loop) and capture what it prints."""

    async def run(*argv: str) -> Run:
        capsys.readouterr()
        started = time.monotonic()
        status = await asyncio.to_thread(cli.main, list(argv))
        elapsed = time.monotonic() - started
        captured = capsys.readouterr()
        return Run(status, captured.out, captured.err, elapsed)

    return run


@contextlib.asynccontextmanager
async def script(*argv: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """scripts/sems started as a user would, with the interpreter that runs the tests (not .venv's, which
    another stack, e.g. the library-alone or the newest-HA run, does not have); killed if still running."""
    process = await asyncio.create_subprocess_exec(
        str(SEMS),
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "SEMS_CLI_PYTHON": sys.executable},
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def run_script(*argv: str) -> Run:
    """Run scripts/sems to its end."""
    started = time.monotonic()
    async with script(*argv) as process:
        out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode(), time.monotonic() - started)


@pytest.fixture
def sim_state() -> PlantState:
    return STATE


@pytest.fixture
async def rude_server(socket_enabled: None) -> AsyncIterator[RudeServer]:
    """A TCP server that is no Modbus device: it answers every request with ``reply`` (None: silence)."""
    servers: list[asyncio.Server] = []

    async def start(reply: bytes | None) -> int:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while await reader.read(256):
                    if reply is not None:
                        writer.write(reply)
                        await writer.drain()
            except ConnectionError:
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        port: int = server.sockets[0].getsockname()[1]
        return port

    yield start
    for server in servers:
        server.close()
        server.close_clients()
        await server.wait_closed()


@pytest.fixture
def closed_port(socket_enabled: None) -> int:
    """A loopback port nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


HTTP_REPLY = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"


def _target(port: int, *extra: str) -> list[str]:
    return ["--host", "127.0.0.1", "--port", str(port), *extra]


# -- in process ----------------------------------------------------------------------------------------


async def test_probe_prints_one_line_per_device(serve: Serve, run_main: RunMain) -> None:
    server = await serve([Sdm630Sim(unit_id=1), Sdm120Sim(unit_id=2)], "rtu-over-tcp")
    run = await run_main(
        "probe", *_target(server.port, "--transport", "rtu-over-tcp", "--unit", "1", "--unit", "2")
    )
    assert (run.status, run.err) == (0, "")
    lines = run.out.splitlines()
    assert len(lines) == 2
    assert lines[0].split() == [
        "meter", "eastron_sdm630", "Eastron", "SDM630", "serial", "12345678", "firmware", "-", "unit", "1",
    ]  # fmt: skip
    assert lines[1].split() == [
        "meter", "eastron_sdm120", "Eastron", "SDM120", "serial", "23456789", "firmware", "-", "unit", "2",
    ]  # fmt: skip


async def test_probe_json_lists_identities(serve: Serve, run_main: RunMain) -> None:
    server = await serve([Sdm630Sim(unit_id=1)])
    run = await run_main("probe", *_target(server.port, "--json"))
    assert run.status == 0
    (device,) = json.loads(run.out)["devices"]
    assert device == {
        "role": "meter",
        "profile": "eastron_sdm630",
        "manufacturer": "Eastron",
        "model": "SDM630",
        "serial": "12345678",
        "firmware": None,
        "unit_id": 1,
        "via_serial": None,
        "details": {"meter_code": 0x0070, "phases": 3},  # what identified it, for installers
        "rated_power": None,
        "location": None,  # an Eastron meter does not say where it sits: the user chooses
        "instance": None,
    }


async def test_read_json_has_probe_identity_and_values(serve: Serve, run_main: RunMain) -> None:
    server = await serve([Sdm630Sim(unit_id=1)])
    run = await run_main("read", *_target(server.port, "--json", "--unit", "1"))
    assert (run.status, run.err) == (0, "")
    (device,) = json.loads(run.out)["devices"]
    assert (device["profile"], device["serial"], device["unit_id"], device["status"]) == (
        "eastron_sdm630",
        "12345678",
        1,
        "running",
    )
    values = device["values"]
    assert values["grid_power"] == -1054.3  # exporting: canonical sign, float32 noise removed
    assert values["grid_import_energy_total"] == 4321.25
    assert values["grid_export_energy_total"] == 6789.5
    assert values["grid_frequency"] == 50.01


async def test_read_table_shows_values_with_units(serve: Serve, run_main: RunMain) -> None:
    server = await serve([Sdm120Sim(unit_id=1)])
    run = await run_main("read", *_target(server.port))
    assert run.status == 0
    device, plant = (block.splitlines() for block in run.out.split("\n\n"))
    assert device[0] == "meter Eastron SDM120 (serial 23456789, unit 1, profile eastron_sdm120): running"
    rows = {line.split()[0]: line.split()[1:] for line in device[1:]}
    assert rows["grid_power"] == ["-1054.3", "W"]
    assert rows["grid_export_energy_total"] == ["6789.5", "kWh"]
    assert rows["grid_frequency"] == ["50.01", "Hz"]
    # The plant's totals follow, from the same snapshot Home Assistant shows.
    assert plant[0] == "plant: running"
    totals = {line.split()[0]: line.split()[1:] for line in plant[1:]}
    assert totals["grid_power"] == ["-1054.3", "W"]


async def test_read_json_includes_the_plant_and_what_was_held(serve: Serve, run_main: RunMain) -> None:
    server = await serve([Sdm630Sim(unit_id=1)])
    run = await run_main("read", *_target(server.port, "--json", "--unit", "1"))
    shown = json.loads(run.out)
    (device,) = shown["devices"]
    assert (device["held"], device["rejected"]) == ([], 0)
    assert shown["plant"]["status"] == "running"
    assert shown["plant"]["values"]["grid_power"] == -1054.3


async def test_watch_holds_a_torn_counter_as_home_assistant_does(serve: Serve) -> None:
    """A torn 32-bit read (+6,553.6 kWh for one poll) is refused by the same guard Home Assistant uses:
    the CLI shows the last good total, marked held, and takes the counter again once it is sane."""
    meter = Sdm630Sim(unit_id=1)
    server = await serve([meter])
    import_total = Point("import", 0x0048, DataType.F32, RegisterKind.INPUT)
    shown: list[dict[str, Any]] = []
    target = _target(server.port, "--json", "--unit", "1", "--interval", "0.5", "--count", "3")
    async with script("watch", *target) as process, asyncio.timeout(60):
        assert process.stdout is not None
        for value in (STATE.grid_import_energy_total + 6553.6, STATE.grid_import_energy_total, None):
            shown.append(json.loads(await process.stdout.readline()))
            if value is not None:
                meter.image.set(import_total, value)  # what the next refresh reads
        _, err = await process.communicate()
    assert (process.returncode, err) == (0, b"")
    devices = [refresh["devices"][0] for refresh in shown]
    totals = [device["values"]["grid_import_energy_total"] for device in devices]
    assert totals == [4321.25, 4321.25, 4321.25]
    assert [device["held"] for device in devices] == [[], ["grid_import_energy_total"], []]
    # The spike is held while it might still be a new level; the next reading shows it was a glitch.
    assert [device["rejected"] for device in devices] == [0, 0, 1]


async def test_watch_holds_through_two_failed_refreshes_then_reports(serve: Serve) -> None:
    """As in Home Assistant: two failed refreshes keep the last values (held), the third is reported."""
    server = await serve([Sdm630Sim(unit_id=1)])
    target = _target(server.port, "--json", "--unit", "1", "--interval", "0.2", "--count", "4")
    target += ["--timeout", "2"]
    async with script("watch", *target) as process, asyncio.timeout(60):
        assert process.stdout is not None
        first = json.loads(await process.stdout.readline())
        server.faults.delay = 5.0  # the meter stops answering in time
        out, err = await process.communicate()
    held = [json.loads(line) for line in out.decode().splitlines()]
    assert process.returncode == 0
    assert [len(refresh["devices"][0]["held"]) for refresh in [first, *held]] == [
        0,
        len(first["devices"][0]["values"]),
        len(first["devices"][0]["values"]),
    ]
    assert [refresh["devices"][0]["values"] for refresh in held] == [first["devices"][0]["values"]] * 2
    (line,) = err.decode().splitlines()
    assert line == f"sems: unavailable: no valid reply from tcp://127.0.0.1:{server.port} (unit 1) (timeout)"


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["probe"],
        ["probe", "--host", "127.0.0.1", "--port", "0"],
        ["probe", "--host", "127.0.0.1", "--port", "70000"],
        ["read", "--host", "127.0.0.1", "--unit", "300"],
        ["read", "--host", "127.0.0.1", "--unit", "one"],
        ["read", "--host", "127.0.0.1", "--timeout", "0"],
        ["read", "--host", "127.0.0.1", "--transport", "carrier-pigeon"],
    ],
)
async def test_bad_arguments_exit_2_with_one_line(run_main: RunMain, argv: list[str]) -> None:
    run = await run_main(*argv)
    assert run.status == cli.EXIT_USAGE
    assert run.out == ""
    assert len(run.err_lines) == 1
    assert run.err.startswith("sems")
    assert "error:" in run.err


async def test_help_exits_0(run_main: RunMain) -> None:
    run = await run_main("--help")
    assert run.status == 0
    assert "probe" in run.out
    assert "read" in run.out


async def test_closed_port_fails_fast(closed_port: int, run_main: RunMain) -> None:
    run = await run_main("probe", *_target(closed_port, "--timeout", str(FAIL_TIMEOUT)))
    assert run.status == cli.EXIT_UNREACHABLE
    assert run.out == ""
    assert run.err_lines == [f"sems: error: cannot connect to tcp://127.0.0.1:{closed_port}"]
    assert run.elapsed < FAIL_TIMEOUT


@pytest.mark.parametrize("reply", [HTTP_REPLY, None], ids=["http", "silent"])
async def test_non_modbus_server_fails_within_timeout(
    rude_server: RudeServer, run_main: RunMain, reply: bytes | None
) -> None:
    port = await rude_server(reply)
    run = await run_main("read", *_target(port, "--timeout", str(FAIL_TIMEOUT)))
    assert run.status == cli.EXIT_UNREACHABLE
    assert run.out == ""
    assert run.err_lines == [f"sems: error: no complete answer from tcp://127.0.0.1:{port} within 2 s"]
    assert run.elapsed < FAIL_TIMEOUT + IN_PROCESS_SLACK


async def test_device_answering_only_exceptions_is_unsupported(serve: Serve, run_main: RunMain) -> None:
    server = await serve([Sdm630Sim(unit_id=1)])
    server.faults.exception_code = ModbusExceptionError.ILLEGAL_DATA_ADDRESS
    run = await run_main("read", *_target(server.port, "--unit", "1", "--timeout", str(FAIL_TIMEOUT)))
    assert run.status == cli.EXIT_UNSUPPORTED
    assert run.err_lines == [
        f"sems: error: no supported device at tcp://127.0.0.1:{server.port}"
        " (last answer: Modbus exception code 2)"
    ]
    assert run.elapsed < FAIL_TIMEOUT


@pytest.mark.parametrize("closes", [False, True], ids=["exception-11", "closes"])
async def test_wrong_unit_is_no_device_at_unit(serve: Serve, run_main: RunMain, closes: bool) -> None:
    """A gateway answers exception 11, or closes the connection, for a unit it does not have."""
    server = await serve([Sdm630Sim(unit_id=1)])
    server.faults.close_unknown_units = closes
    run = await run_main("read", *_target(server.port, "--unit", "5", "--timeout", str(FAIL_TIMEOUT)))
    assert run.status == cli.EXIT_UNREACHABLE
    why = (
        "the gateway closes the connection when asked for it"
        if closes
        else "the gateway got no answer (Modbus exception 11)"
    )
    assert run.err_lines == [f"sems: error: no device at unit 5 at tcp://127.0.0.1:{server.port}: {why}"]
    assert run.elapsed < FAIL_TIMEOUT


def test_request_timeout_leaves_room_within_the_overall_timeout() -> None:
    args = cli.build_parser().parse_args(
        ["read", "--host", "10.0.0.9", "--transport", "udp", "--timeout", "2"]
    )
    assert cli.endpoint_from_args(args) == Endpoint("10.0.0.9", 8899, TransportType.UDP, timeout=0.5)
    args = cli.build_parser().parse_args(["probe", "--host", "h", "--request-timeout", "4"])
    endpoint = cli.endpoint_from_args(args)
    assert (endpoint.port, endpoint.timeout) == (502, 4.0)


# -- scripts/sems as a subprocess ------------------------------------------------------------------------

# endpoint, transport, unit ids (explicit where a gateway has several devices or a slow default probe)
SIMULATED_ENDPOINTS = (
    ("goodwe_et_tcp", "tcp", ()),
    ("goodwe_et_udp", "udp", ()),
    ("goodwe_dt_udp", "udp", (127,)),
    ("sunspec_tcp", "tcp", (1, 2)),
    ("sdm630_tcp", "tcp", ()),
    ("eastron_gateway", "rtu-over-tcp", (1, 2)),
)
EXPECTED_PROFILES = {
    "goodwe_et_tcp": ["goodwe_et", "goodwe_et_battery", "goodwe_et_meter"],
    "goodwe_et_udp": ["goodwe_et", "goodwe_et_battery", "goodwe_et_meter"],
    "goodwe_dt_udp": ["goodwe_dt"],
    "sunspec_tcp": ["sunspec_inverter", "sunspec_battery", "sunspec_meter"],
    "sdm630_tcp": ["eastron_sdm630"],
    "eastron_gateway": ["eastron_sdm630", "eastron_sdm120"],
}


def _expected_values(profile: str, role: str, state: PlantState) -> dict[Quantity, float]:
    """What each device must show of the plant state, in canonical units and signs."""
    if role == "meter":
        return {
            Quantity.GRID_POWER: state.grid_power,
            Quantity.GRID_IMPORT_ENERGY_TOTAL: state.grid_import_energy_total,
            Quantity.GRID_EXPORT_ENERGY_TOTAL: state.grid_export_energy_total,
        }
    if role == "battery":
        return {Quantity.BATTERY_POWER: state.battery_power, Quantity.BATTERY_SOC: state.battery_soc}
    # A PV-only inverter feeds its whole PV power; a hybrid's AC output includes the battery.
    ac_power = state.pv_power if profile == "goodwe_dt" else state.ac_power
    return {Quantity.PV_POWER: state.pv_power, Quantity.AC_POWER: ac_power}


async def test_script_reads_every_simulated_device(plant: SimulatedPlant) -> None:
    state = plant.physics.state
    assert state.grid_power < 0 < state.pv_power  # noon: exporting
    assert state.battery_power < 0  # and charging
    runs = await asyncio.gather(
        *(
            run_script(
                "read",
                "--json",
                "--transport",
                transport,
                *_target(plant.port(name)),
                *(arg for unit in units for arg in ("--unit", str(unit))),
            )  # fmt: skip
            for name, transport, units in SIMULATED_ENDPOINTS
        )
    )
    for (name, _, _), run in zip(SIMULATED_ENDPOINTS, runs, strict=True):
        assert (name, run.status, run.err) == (name, 0, "")
        devices = json.loads(run.out)["devices"]
        assert [d["profile"] for d in devices] == EXPECTED_PROFILES[name]
        for device in devices:
            for quantity, expected in _expected_values(device["profile"], device["role"], state).items():
                shown = device["values"][quantity]
                assert shown == pytest.approx(expected, rel=0.01, abs=0.1), (
                    name,
                    device["profile"],
                    quantity,
                )


async def test_script_closed_port(closed_port: int) -> None:
    run = await run_script("probe", *_target(closed_port, "--timeout", str(FAIL_TIMEOUT)))
    assert (run.status, run.out) == (cli.EXIT_UNREACHABLE, "")
    assert run.err_lines == [f"sems: error: cannot connect to tcp://127.0.0.1:{closed_port}"]
    assert run.elapsed < FAIL_TIMEOUT + SUBPROCESS_SLACK


async def test_script_non_modbus_server(rude_server: RudeServer) -> None:
    port = await rude_server(HTTP_REPLY)
    run = await run_script("read", "--json", *_target(port, "--timeout", str(FAIL_TIMEOUT)))
    assert (run.status, run.out) == (cli.EXIT_UNREACHABLE, "")
    assert run.err_lines == [f"sems: error: no complete answer from tcp://127.0.0.1:{port} within 2 s"]
    assert run.elapsed < FAIL_TIMEOUT + SUBPROCESS_SLACK


async def test_script_exception_only_device(serve: Serve) -> None:
    server = await serve([Sdm630Sim(unit_id=1)])
    server.faults.exception_code = ModbusExceptionError.ILLEGAL_FUNCTION
    run = await run_script("read", *_target(server.port, "--timeout", str(FAIL_TIMEOUT)))
    assert (run.status, run.out) == (cli.EXIT_UNSUPPORTED, "")
    assert len(run.err_lines) == 1
    assert run.err.startswith(f"sems: error: no supported device at tcp://127.0.0.1:{server.port}")
    assert "Modbus exception code" in run.err
    assert run.elapsed < FAIL_TIMEOUT + SUBPROCESS_SLACK


async def test_script_bad_port_is_a_usage_error() -> None:
    run = await run_script("probe", "--host", "127.0.0.1", "--port", "0")
    assert (run.status, run.out) == (cli.EXIT_USAGE, "")
    assert run.err_lines == ["sems probe: error: argument --port: port must be 1..65535, not 0 (see --help)"]
