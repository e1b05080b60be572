"""What the log says about a plant: devices by name, never their serial numbers, and no host where a name
serves (diagnostics redact both; a log shared in a forum must not give them away either)."""

from __future__ import annotations

import logging
from unittest.mock import patch

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant

from custom_components.sems.const import CONF_DEVICES, DOMAIN
from custom_components.sems.coordinator import TRANSLATED_EXCEPTIONS, failure
from custom_components.sems.plantkit.exceptions import (
    ConnectionClosedError,
    ModbusExceptionError,
    NoDeviceAtUnitError,
    PlantConnectionError,
    PlantError,
    PlantProtocolError,
    PlantTimeoutError,
    PlantUnavailableError,
    UnsupportedDeviceError,
)
from simulator.plant import SimulatedPlant

from .common import closed_port, entry_for, poll
from .conftest import ALL_CASES, EASTRON_GATEWAY, GOODWE_ET_TCP, HOST, PlantCase, add_plant

# Every serial the simulated plant reports.
SERIALS = {case.unique_id for case in ALL_CASES} | {"23456789", "SS-MTR-0001"}
WATCHED = (
    "custom_components.sems",
    "homeassistant.config_entries",
    "homeassistant.helpers.update_coordinator",
)


def leaks(caplog: pytest.LogCaptureFixture) -> list[str]:
    """INFO and higher lines about the plant that name a serial number or the host."""
    lines = [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.INFO and record.name.startswith(WATCHED)
    ]
    return [line for line in lines if HOST in line or any(serial in line for serial in SERIALS)]


@pytest.mark.parametrize("case", [GOODWE_ET_TCP, EASTRON_GATEWAY], ids=lambda case: case.endpoint)
async def test_loss_and_recovery_name_the_plant_not_its_host(
    hass: HomeAssistant, plant: SimulatedPlant, caplog: pytest.LogCaptureFixture, case: PlantCase
) -> None:
    """The coordinator's line at the loss (its UpdateFailed text included; a WARNING: it recovers by itself)
    and the INFO recovery line."""
    caplog.set_level(logging.INFO)
    await add_plant(hass, plant, case)
    server = plant.server(case.endpoint)
    for fault in ("exception_code", "drop_connection"):
        server.faults.switch(fault, 4 if fault == "exception_code" else True)
        for _ in range(3):
            await poll(hass, 31)
        server.faults.clear()
        plant.advance(60)
        await poll(hass, 31)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    losses = [r.getMessage() for r in caplog.records if "Error fetching" in r.getMessage()]
    assert len(losses) == 2  # one loss per fault, each logged once
    assert all(case.title in loss for loss in losses)
    assert leaks(caplog) == []


async def test_setup_retry_names_the_plant_not_its_host(
    hass: HomeAssistant, plant: SimulatedPlant, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    first = await add_plant(hass, plant, GOODWE_ET_TCP)
    stored = list(first.data[CONF_DEVICES])
    await hass.config_entries.async_remove(first.entry_id)
    entry = entry_for(plant, GOODWE_ET_TCP, stored)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_PORT: closed_port()})
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert "GoodWe GW10K-ET" in str(entry.reason)
    assert HOST not in str(entry.reason)
    assert leaks(caplog) == []


async def test_an_unexpected_probe_error_is_logged_without_the_host(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    with patch("custom_components.sems.config_flow.probe_host", side_effect=RuntimeError("boom")):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"host": HOST, "transport": "tcp", "port": 502}
        )
    assert result["errors"] == {"base": "unknown"}
    assert leaks(caplog) == []


async def test_energy_guard_lines_name_the_device(
    hass: HomeAssistant, plant: SimulatedPlant, caplog: pytest.LogCaptureFixture
) -> None:
    """A lifetime counter reading 0 (an inverter booting) is logged at INFO, by device name."""
    caplog.set_level(logging.INFO)
    await add_plant(hass, plant, GOODWE_ET_TCP)
    state = plant.physics.state
    state.pv_energy_total, real_total = 0.0, state.pv_energy_total
    plant.render()
    await poll(hass, 31)
    state.pv_energy_total = real_total + 0.1
    plant.render()
    await poll(hass, 31)
    guarded = [r.getMessage() for r in caplog.records if "pv_energy_total" in r.getMessage()]
    assert guarded
    assert all(line.startswith("GoodWe GW10K-ET ") for line in guarded)
    assert leaks(caplog) == []


@pytest.mark.parametrize(
    ("error", "key", "placeholders"),
    [
        (PlantTimeoutError("no valid reply from tcp://192.168.1.5:502 (unit 247)"), "timeout", {}),
        (PlantConnectionError("cannot connect to tcp://192.168.1.5:502"), "cannot_connect", {}),
        (
            ConnectionClosedError("tcp://192.168.1.5:502: the device closed the connection"),
            "connection_closed",
            {},
        ),
        (
            NoDeviceAtUnitError((2, 3), "exception 11", "tcp://192.168.1.5:502"),
            "no_device_at_unit",
            {"unit": "2, 3"},
        ),
        (ModbusExceptionError(4), "device_error", {"code": "4"}),
        (PlantProtocolError("asked for 8 registers, got 4"), "invalid_answer", {}),
        (UnsupportedDeviceError("no supported device at tcp://192.168.1.5:502"), "not_supported", {}),
        (PlantError("unknown profile 'x'"), "communication_error", {}),
    ],
)
def test_failure_messages_say_why_without_the_host(
    error: PlantError, key: str, placeholders: dict[str, str]
) -> None:
    """Each failure the library raises, however deep in the chain, has its own translated message."""
    try:
        try:
            raise error
        except PlantError as err:
            raise PlantUnavailableError("GoodWe GW10K-ET: " + str(err)) from err
    except PlantUnavailableError as unavailable:
        found = failure(unavailable, "GoodWe GW10K-ET")
    assert found == (key, {"name": "GoodWe GW10K-ET", **placeholders})
    assert key in TRANSLATED_EXCEPTIONS
