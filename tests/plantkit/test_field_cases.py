"""Field cases from real installations (``<repo>/../shared/field-cases/F*.json``) replayed over loopback,
through the library and through the command line (``read --json``), each checked against the values
the case file states. Every file found is a case: new ones need no code here."""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from custom_components.sems.plantkit.client import PlantClient
from custom_components.sems.plantkit.exceptions import PlantError
from custom_components.sems.plantkit.transport import Endpoint
from simulator.field_case import FieldCase, field_case_server

REPO = Path(__file__).resolve().parents[2]
# A worktree outside the main checkout can point at the folder with SEMS_FIELD_CASES.
CASES = Path(os.environ.get("SEMS_FIELD_CASES") or REPO.parent / "shared" / "field-cases")
CASE_FILES = sorted(CASES.glob("F*.json")) if CASES.is_dir() else []
REQUEST_TIMEOUT = 1.0  # the command line's default per-request timeout (--timeout 10 / 4, at most 1 s)
CLI_SECONDS = 60.0  # interpreter start and imports under load, plus the command's own --timeout


def _params() -> list[Any]:
    if not CASE_FILES:
        reason = f"no field cases at {CASES} (set SEMS_FIELD_CASES to the folder)"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="no-field-cases")]
    params = []
    for path in CASE_FILES:
        params.append(pytest.param(path, id=path.stem))
    return params


def check_reading(case: FieldCase, devices: Sequence[dict[str, Any]]) -> None:
    """What the case expects of the devices read (``read --json`` shape: role, values)."""
    for key, want in case.expected.items():
        role, quantity = key.split(":")
        of_role = [device for device in devices if device["role"] == role]
        assert of_role, f"{case.case_id}: no {role} among {[d['role'] for d in devices]}"
        shown = [device["values"].get(quantity) for device in of_role]
        known = [value for value in shown if value is not None]
        if want is None:
            assert not known, f"{case.case_id}: {key} must be unknown, is {known}"
            continue
        assert known, f"{case.case_id}: no {role} reports {quantity}"
        assert all(math.isclose(value, want, rel_tol=1e-6) for value in known), (
            f"{case.case_id}: {key} is {known}, expected {want}"
        )
    for role, count in case.expected_devices.items():
        found = sum(1 for device in devices if device["role"] == role)
        assert found == count, f"{case.case_id}: {found} {role} devices, expected {count}"
    for quantity, count in case.expected_sources.items():
        found = sum(1 for device in devices if quantity in device["values"])
        assert found == count, f"{case.case_id}: {found} devices report {quantity}, expected {count}"


@pytest.mark.usefixtures("socket_enabled")
@pytest.mark.parametrize("path", _params())
async def test_field_case_through_the_library(path: Path) -> None:
    case = FieldCase.load(path)
    server = field_case_server(case)
    await server.start()
    try:
        host = server.serial_path or "127.0.0.1"
        endpoint = Endpoint(host, server.port, case.transport, timeout=REQUEST_TIMEOUT)
        async with PlantClient(endpoint) as client:
            try:
                await client.probe([case.unit])
                readings = await client.read()
            except PlantError:
                if case.accept_clean_failure:
                    return
                raise
    finally:
        await server.stop()
    check_reading(case, [reading.to_json() for reading in readings])


@pytest.mark.usefixtures("socket_enabled")
@pytest.mark.parametrize("path", _params())
async def test_field_case_through_the_cli(path: Path) -> None:
    case = FieldCase.load(path)
    server = field_case_server(case)
    await server.start()
    try:
        host = server.serial_path or "127.0.0.1"
        argv = [
            "read",
            "--json",
            "--host",
            host,
            "--transport",
            str(case.transport),
            "--unit",
            str(case.unit),
        ]
        if server.port:
            argv += ["--port", str(server.port)]
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(REPO / "scripts" / "sems_cli.py"),
            *argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(), CLI_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
    finally:
        await server.stop()
    status, errors = process.returncode, err.decode().splitlines()
    assert status not in case.wrong_exit_codes, f"{case.case_id}: exit {status}: {errors}"
    if status != 0:
        assert case.accept_clean_failure, f"{case.case_id}: exit {status}: {errors}"
        assert len(errors) == 1, errors  # a clean failure: one line, no traceback
        assert errors[0].startswith("sems: error: "), errors
        return
    check_reading(case, json.loads(out)["devices"])
