"""The unit scan in the config flow ("scan" as unit IDs): one unit id after another behind one host, on
loopback only. ``sims`` and ``contacts`` come from the integration conftest; the unit ids asked are passed
in the discovery settings."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import replace
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.sems import config_flow
from custom_components.sems.const import CONF_DEVICES, CONF_TRANSPORT, CONF_UNIT_IDS, DOMAIN
from simulator.devices.eastron import Sdm120Sim, Sdm630Sim
from simulator.devices.goodwe import GoodWeDtSim

from ..plantkit.lan import Sims
from .common import SDM630_SERIAL, after_progress, discovering_with, manual_entry
from .conftest import QUICK_DISCOVERY, answer_meter_locations


async def start_unit_scan(hass: HomeAssistant, user_input: dict[str, Any]) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**user_input, CONF_UNIT_IDS: " Scan "}
    )
    return dict(result)


async def test_unit_scan_finds_every_meter_behind_a_gateway(hass: HomeAssistant, sims: Sims) -> None:
    gateway = await sims.serve("127.0.0.2", "rtu-over-tcp", Sdm630Sim(unit_id=1), Sdm120Sim(unit_id=2))
    with discovering_with(hass, replace(QUICK_DISCOVERY, unit_scan_ids=(1, 2, 3, 4))):
        result = await start_unit_scan(
            hass, {CONF_HOST: "127.0.0.2", CONF_PORT: gateway.port, CONF_TRANSPORT: "rtu-over-tcp"}
        )
        assert result["step_id"] == "unit_scan"
        assert result["description_placeholders"]["host"] == "127.0.0.2"
        result = await after_progress(hass, result)
    result = await answer_meter_locations(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_UNIT_IDS] == [1, 2]
    assert result["data"][CONF_TRANSPORT] == "rtu-over-tcp"
    assert [device["profile"] for device in result["data"][CONF_DEVICES]] == [
        "eastron_sdm630",
        "eastron_sdm120",
    ]
    assert {request.unit_id for request in gateway.requests} == {1, 2}  # 3 and 4: "no response"


async def test_unit_scan_auto_falls_back_to_udp(hass: HomeAssistant, sims: Sims) -> None:
    """Automatic: nothing accepts TCP on the port, so the units are asked over GoodWe UDP."""
    await sims.serve(
        "127.0.0.3", "udp", GoodWeDtSim(unit_id=127), GoodWeDtSim(unit_id=126, serial="5015KDTU000SIM02")
    )
    with discovering_with(hass, replace(QUICK_DISCOVERY, unit_scan_ids=(126, 127, 1))):
        result = await start_unit_scan(
            hass, {CONF_HOST: "127.0.0.3", CONF_PORT: sims.udp_port, CONF_TRANSPORT: "auto"}
        )
        result = await after_progress(hass, result)
    result = await answer_meter_locations(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_TRANSPORT] == "udp"
    assert [device["serial"] for device in result["data"][CONF_DEVICES]] == [
        "5015KDTU000SIM02",
        "5015KDTU000SIM01",
    ]


async def test_unit_scan_lists_a_device_answering_on_every_id_once(hass: HomeAssistant, sims: Sims) -> None:
    """Many Modbus TCP devices ignore the unit id: the same meter at ids 1 and 2 is one device."""
    await sims.serve("127.0.0.5", "tcp", Sdm630Sim(unit_id=1), Sdm630Sim(unit_id=2))
    with discovering_with(hass, replace(QUICK_DISCOVERY, unit_scan_ids=(1, 2))):
        result = await start_unit_scan(
            hass, {CONF_HOST: "127.0.0.5", CONF_PORT: sims.tcp_port, CONF_TRANSPORT: "auto"}
        )
        result = await answer_meter_locations(hass, await after_progress(hass, result))
    assert result["data"][CONF_TRANSPORT] == "tcp"
    assert [device["unit_id"] for device in result["data"][CONF_DEVICES]] == [1]
    assert result["data"][CONF_UNIT_IDS] == [1]


@pytest.mark.parametrize(
    ("problem", "error"),
    [("nothing", "timeout"), ("closed", "cannot_connect"), ("bug", "unknown")],
)
async def test_unit_scan_errors_then_recovery(
    hass: HomeAssistant, sims: Sims, problem: str, error: str, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = await sims.serve("127.0.0.2", "rtu-over-tcp", Sdm630Sim(unit_id=5))
    good = {CONF_HOST: "127.0.0.2", CONF_PORT: gateway.port, CONF_TRANSPORT: "rtu-over-tcp"}
    bad = {**good, CONF_PORT: gateway.port + 1} if problem == "closed" else good
    with ExitStack() as stack:
        units = (1, 2) if problem == "nothing" else (5,)
        stack.enter_context(discovering_with(hass, replace(QUICK_DISCOVERY, unit_scan_ids=units)))
        if problem == "bug":
            stack.enter_context(patch.object(config_flow, "unit_scan", side_effect=RuntimeError("boom")))
        result = await after_progress(hass, await start_unit_scan(hass, bad))
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "user"
        assert result["errors"] == {"base": error}
        if problem == "bug":
            assert "RuntimeError: boom" in caplog.text

    with discovering_with(hass, replace(QUICK_DISCOVERY, unit_scan_ids=(5,))):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {**good, CONF_UNIT_IDS: "scan"}
        )
        result = await after_progress(hass, result)
    result = await answer_meter_locations(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_UNIT_IDS] == [5]


async def test_unit_scan_of_a_missing_serial_port(hass: HomeAssistant, sims: Sims) -> None:
    """Automatic with a device path scans over serial; a port that does not exist cannot connect."""
    result = await after_progress(
        hass, await start_unit_scan(hass, {CONF_HOST: "/dev/ttySEMSNONE", CONF_TRANSPORT: "auto"})
    )
    assert result["errors"] == {"base": "cannot_connect"}


async def test_unit_scan_checks_the_form_first(hass: HomeAssistant, sims: Sims) -> None:
    result = await start_unit_scan(hass, {CONF_HOST: "not a host!", CONF_TRANSPORT: "auto"})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_HOST: "invalid_host"}


async def test_unit_scan_of_a_configured_device_aborts(hass: HomeAssistant, sims: Sims) -> None:
    await sims.serve("127.0.0.5", "tcp", Sdm630Sim())
    manual_entry(SDM630_SERIAL, "127.0.0.5", sims.tcp_port).add_to_hass(hass)
    with discovering_with(hass, replace(QUICK_DISCOVERY, unit_scan_ids=(1,))):
        result = await start_unit_scan(
            hass, {CONF_HOST: "127.0.0.5", CONF_PORT: sims.tcp_port, CONF_TRANSPORT: "tcp"}
        )
        result = await after_progress(hass, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
