"""Config flow: adding each simulated endpoint, every error and its recovery, options, reconfigure."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.sems.config_flow import parse_port, parse_unit_ids, valid_host
from custom_components.sems.const import (
    CONF_DEVICES,
    CONF_METER_LOCATIONS,
    CONF_POLL_PRESET,
    CONF_TRANSPORT,
    CONF_UNIT_IDS,
    DOMAIN,
)
from custom_components.sems.plantkit.discovery import DEFAULT_SETTINGS, DiscoverySettings, serial_port_problem
from simulator.plant import SimulatedPlant

from .common import closed_port, discovering_with, open_polling_options
from .conftest import (
    ALL_CASES,
    GOODWE_ET_TCP,
    GOODWE_ET_UDP,
    HOST,
    SDM630_TCP,
    SUNSPEC_TCP,
    PlantCase,
    add_plant,
    answer_meter_locations,
)


def probing(**limits: float) -> DiscoverySettings:
    """The default settings with the probe of an address the user typed changed (timeout, budget)."""
    return replace(DEFAULT_SETTINGS, probe=replace(DEFAULT_SETTINGS.probe, **limits))


async def start_reconfigure_flow(hass: HomeAssistant, entry: ConfigEntry) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    return dict(result)


async def start_user_flow(hass: HomeAssistant) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    return dict(result)


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda case: case.endpoint)
async def test_user_flow_creates_entry(hass: HomeAssistant, plant: SimulatedPlant, case: PlantCase) -> None:
    """Each simulated endpoint is found, titled by its main device and set up with all its devices."""
    flow = await start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], case.user_input(plant))

    result = await answer_meter_locations(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.unique_id == case.unique_id
    assert entry.title == case.title
    # Meters that do not say where they measure were asked about; the preselected answer is the grid.
    placed = entry.options.get(CONF_METER_LOCATIONS, {})
    assert set(entry.options) <= {CONF_METER_LOCATIONS}
    assert set(placed.values()) <= {"grid"}
    assert len(placed) == sum(
        device["role"] == "meter" and device["location"] is None for device in entry.data[CONF_DEVICES]
    )
    assert entry.data[CONF_HOST] == HOST
    assert entry.data[CONF_PORT] == plant.port(case.endpoint)
    assert entry.data[CONF_TRANSPORT] == case.stored_transport
    assert entry.data[CONF_UNIT_IDS] == parse_unit_ids(case.unit_ids)
    assert len(entry.data[CONF_DEVICES]) == case.device_count
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


@pytest.mark.parametrize(
    ("case", "stored_transport"),
    [(GOODWE_ET_TCP, "tcp"), (GOODWE_ET_UDP, "udp")],
    ids=["tcp-answers", "falls-back-to-udp"],
)
async def test_auto_transport(
    hass: HomeAssistant, plant: SimulatedPlant, case: PlantCase, stored_transport: str
) -> None:
    """ "Automatic" tries Modbus TCP, then GoodWe UDP on the same port, and stores what answered."""
    flow = await start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {**case.user_input(plant), CONF_TRANSPORT: "auto"}
    )
    result = await answer_meter_locations(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_TRANSPORT] == stored_transport
    assert result["data"][CONF_PORT] == plant.port(case.endpoint)


@pytest.mark.parametrize(
    ("bad_input", "field", "error"),
    [
        ({CONF_HOST: "not a host!"}, CONF_HOST, "invalid_host"),
        ({CONF_HOST: "-leading-dash.example"}, CONF_HOST, "invalid_host"),
        ({CONF_HOST: "127.0.0.1", CONF_TRANSPORT: "serial"}, CONF_HOST, "invalid_host"),
        ({CONF_PORT: 70000}, CONF_PORT, "invalid_port"),
        ({CONF_PORT: 0}, CONF_PORT, "invalid_port"),
        ({CONF_PORT: 502.5}, CONF_PORT, "invalid_port"),
        ({CONF_UNIT_IDS: "1, 300"}, CONF_UNIT_IDS, "invalid_unit"),
        ({CONF_UNIT_IDS: "one"}, CONF_UNIT_IDS, "invalid_unit"),
        ({CONF_UNIT_IDS: "0", CONF_TRANSPORT: "auto"}, CONF_UNIT_IDS, "invalid_unit"),  # may be UDP: RTU
        ({CONF_UNIT_IDS: "1, 0", CONF_TRANSPORT: "udp"}, CONF_UNIT_IDS, "invalid_unit"),
        ({CONF_UNIT_IDS: "0", CONF_TRANSPORT: "rtu-over-tcp"}, CONF_UNIT_IDS, "invalid_unit"),
        ({CONF_UNIT_IDS: "0", CONF_TRANSPORT: "tcp", CONF_PORT: 70000}, CONF_PORT, "invalid_port"),
        ({CONF_HOST: "255.255.255.255"}, CONF_HOST, "not_a_device_address"),
        ({CONF_HOST: "224.0.0.1"}, CONF_HOST, "not_a_device_address"),
        ({CONF_HOST: "0.0.0.0"}, CONF_HOST, "not_a_device_address"),
        ({CONF_HOST: "0.1.2.3"}, CONF_HOST, "not_a_device_address"),
        ({CONF_HOST: "240.1.2.3"}, CONF_HOST, "not_a_device_address"),
        ({CONF_HOST: "::"}, CONF_HOST, "not_a_device_address"),
        ({CONF_HOST: "ff02::1"}, CONF_HOST, "not_a_device_address"),
        ({CONF_HOST: "/dev/../etc/passwd"}, CONF_HOST, "invalid_serial_port"),
        ({CONF_HOST: "/dev/../etc/passwd", CONF_TRANSPORT: "serial"}, CONF_HOST, "invalid_serial_port"),
        ({CONF_HOST: "/dev/./ttyUSB0", CONF_TRANSPORT: "serial"}, CONF_HOST, "invalid_serial_port"),
        ({CONF_HOST: "/dev/watchdog"}, CONF_HOST, "invalid_serial_port"),
        ({CONF_HOST: "/dev/watchdog", CONF_TRANSPORT: "serial"}, CONF_HOST, "invalid_serial_port"),
        ({CONF_HOST: "/dev/null", CONF_TRANSPORT: "serial"}, CONF_HOST, "invalid_serial_port"),
        ({CONF_HOST: "/dev/tty", CONF_TRANSPORT: "serial"}, CONF_HOST, "invalid_serial_port"),
        ({CONF_HOST: "/dev/serial/by-id/", CONF_TRANSPORT: "serial"}, CONF_HOST, "invalid_serial_port"),
    ],
)
async def test_invalid_input_then_recovery(
    hass: HomeAssistant, plant: SimulatedPlant, bad_input: dict[str, Any], field: str, error: str
) -> None:
    """Syntax errors are reported on their own field, before anything is sent; fixing them succeeds."""
    flow = await start_user_flow(hass)
    good = GOODWE_ET_TCP.user_input(plant)
    requests_before = plant.server(GOODWE_ET_TCP.endpoint).count()

    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {**good, **bad_input})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: error}
    assert plant.server(GOODWE_ET_TCP.endpoint).count() == requests_before

    result = await hass.config_entries.flow.async_configure(flow["flow_id"], good)
    result = await answer_meter_locations(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_cannot_connect_then_recovery(hass: HomeAssistant, plant: SimulatedPlant) -> None:
    """Nothing listens at the port: cannot_connect; the right port then works."""
    flow = await start_user_flow(hass)
    good = GOODWE_ET_TCP.user_input(plant)
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {**good, CONF_PORT: closed_port()}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}

    result = await hass.config_entries.flow.async_configure(flow["flow_id"], good)
    result = await answer_meter_locations(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_timeout_then_recovery(hass: HomeAssistant, plant: SimulatedPlant) -> None:
    """A dongle that stays silent: timeout; once it answers again the flow succeeds."""
    server = plant.server(GOODWE_ET_UDP.endpoint)
    server.faults.offline = True  # UDP datagrams are ignored, as by a dongle that is switched off
    flow = await start_user_flow(hass)
    user_input = {**GOODWE_ET_UDP.user_input(plant), CONF_UNIT_IDS: "247"}
    with discovering_with(hass, probing(timeout=0.2)):
        result = await hass.config_entries.flow.async_configure(flow["flow_id"], user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "timeout"}

    server.faults.clear()
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], user_input)
    result = await answer_meter_locations(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_not_supported_then_recovery(hass: HomeAssistant, plant: SimulatedPlant) -> None:
    """Something answers, but refuses every register a profile knows: not_supported."""
    server = plant.server(SDM630_TCP.endpoint)
    server.faults.exception_code = 2  # illegal data address for every read
    flow = await start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], SDM630_TCP.user_input(plant))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "not_supported"}

    server.faults.clear()
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], SDM630_TCP.user_input(plant))
    result = await answer_meter_locations(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_wrong_unit_is_no_device_at_unit_then_recovery(
    hass: HomeAssistant, plant: SimulatedPlant
) -> None:
    """A gateway answers "no device" (exception 11) for the unit asked: said so, with the unit, not
    "not supported"; the right unit then works."""
    flow = await start_user_flow(hass)
    user_input = SDM630_TCP.user_input(plant)
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {**user_input, CONF_UNIT_IDS: "5"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "no_device_at_unit"}
    assert result["description_placeholders"] == {"unit": "5"}

    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {**user_input, CONF_UNIT_IDS: "1"}
    )
    result = await answer_meter_locations(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_automatic_search_behind_a_gateway_that_closes_on_unknown_units(
    hass: HomeAssistant, plant: SimulatedPlant
) -> None:
    """The GoodWe ET answers at 247; asked for unit 1 first, its gateway closes the connection."""
    server = plant.server(GOODWE_ET_TCP.endpoint)
    server.faults.close_unknown_units = True
    flow = await start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], GOODWE_ET_TCP.user_input(plant))
    result = await answer_meter_locations(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == GOODWE_ET_TCP.unique_id

    flow = await start_user_flow(hass)
    user_input = {**GOODWE_ET_TCP.user_input(plant), CONF_UNIT_IDS: "3"}
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], user_input)
    assert result["errors"] == {"base": "no_device_at_unit"}
    assert result["description_placeholders"] == {"unit": "3"}


async def test_unexpected_error_then_recovery(
    hass: HomeAssistant, plant: SimulatedPlant, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug in the probe shows "unknown" and is logged with its traceback."""
    flow = await start_user_flow(hass)
    with patch("custom_components.sems.config_flow.probe_host", side_effect=RuntimeError("boom")):
        result = await hass.config_entries.flow.async_configure(
            flow["flow_id"], GOODWE_ET_TCP.user_input(plant)
        )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "unknown"}
    assert "Unexpected error while probing" in caplog.text
    assert "RuntimeError: boom" in caplog.text

    result = await hass.config_entries.flow.async_configure(flow["flow_id"], GOODWE_ET_TCP.user_input(plant))
    result = await answer_meter_locations(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_already_configured(hass: HomeAssistant, plant: SimulatedPlant) -> None:
    """The same inverter reached another way (UDP instead of TCP) is not added twice."""
    await add_plant(hass, plant, GOODWE_ET_TCP)
    flow = await start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], GOODWE_ET_UDP.user_input(plant))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_every_simulated_endpoint_becomes_its_own_entry(
    hass: HomeAssistant, plant: SimulatedPlant
) -> None:
    """The README's steps, one endpoint after another: none ends in "already configured" (each simulated
    device has its own serial), apart from the UDP twin of the GoodWe ET, which is the same inverter."""
    cases = [case for case in ALL_CASES if case is not GOODWE_ET_UDP]
    for case in cases:
        await add_plant(hass, plant, case)
    entries = hass.config_entries.async_entries(DOMAIN)
    assert sorted(entry.unique_id or "" for entry in entries) == sorted(case.unique_id for case in cases)


@pytest.mark.parametrize(
    ("case", "preset", "seconds"),
    [
        (GOODWE_ET_TCP, "normal", 30),
        (SDM630_TCP, "normal", 10),
        (GOODWE_ET_TCP, "fast", 5),
        (GOODWE_ET_TCP, "gentle", 60),
        (GOODWE_ET_TCP, "dongle_safe", 300),
    ],
)
async def test_options_set_poll_interval(
    hass: HomeAssistant, plant: SimulatedPlant, case: PlantCase, preset: str, seconds: int
) -> None:
    """Presets change the interval in place: no reload, the entry's connection stays up."""
    entry = await add_plant(hass, plant, case)
    coordinator = entry.runtime_data
    if preset != "normal":
        assert coordinator.update_interval != timedelta(seconds=seconds)

    result = await open_polling_options(hass, entry)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {CONF_POLL_PRESET: preset})
    result = await answer_meter_locations(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()

    assert {k: v for k, v in entry.options.items() if k != CONF_METER_LOCATIONS} == {CONF_POLL_PRESET: preset}
    assert entry.runtime_data is coordinator  # not reloaded
    assert coordinator.update_interval == timedelta(seconds=seconds)


async def test_options_abort_for_cloud_entry(hass: HomeAssistant) -> None:
    """An entry of the cloud-only integration has nothing local to tune."""
    entry = MockConfigEntry(domain=DOMAIN, data={"username": "me", "password": "pw", "powerstation_id": "x"})
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "not_local_entry"


async def test_reconfigure_keeps_entities(
    hass: HomeAssistant, plant: SimulatedPlant, entity_registry: er.EntityRegistry
) -> None:
    """Switching the GoodWe ET from TCP to UDP keeps the entry, its devices and its entity ids."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    entity_ids = sorted(
        e.entity_id for e in er.async_entries_for_config_entry(entity_registry, entry.entry_id)
    )

    result = await start_reconfigure_flow(hass, entry)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], GOODWE_ET_UDP.user_input(plant)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    assert entry.data[CONF_TRANSPORT] == "udp"
    assert entry.data[CONF_PORT] == plant.port(GOODWE_ET_UDP.endpoint)
    assert entry.runtime_data.client.endpoint.port == plant.port(GOODWE_ET_UDP.endpoint)
    assert (
        sorted(e.entity_id for e in er.async_entries_for_config_entry(entity_registry, entry.entry_id))
        == entity_ids
    )
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_reconfigure_different_device(hass: HomeAssistant, plant: SimulatedPlant) -> None:
    """Pointing the entry at another plant aborts and leaves the entry untouched."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    data_before = dict(entry.data)

    result = await start_reconfigure_flow(hass, entry)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], SUNSPEC_TCP.user_input(plant))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "different_device"
    assert dict(entry.data) == data_before


async def test_reconfigure_error_then_recovery(hass: HomeAssistant, plant: SimulatedPlant) -> None:
    """Errors show on the reconfigure form, prefilled with the stored connection; a fix succeeds."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    result = await start_reconfigure_flow(hass, entry)
    schema_defaults = {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema
        if key.description and "suggested_value" in key.description
    }
    assert schema_defaults[CONF_HOST] == HOST
    assert schema_defaults[CONF_PORT] == plant.port(GOODWE_ET_TCP.endpoint)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**GOODWE_ET_TCP.user_input(plant), CONF_PORT: closed_port()}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], GOODWE_ET_TCP.user_input(plant)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"


@pytest.mark.parametrize(
    ("host", "transport", "valid"),
    [
        ("192.168.1.20", "tcp", True),
        ("fe80::1", "udp", True),
        ("inverter.local", "auto", True),
        ("inverter.local.", "tcp", True),
        ("/dev/ttyUSB0", "serial", True),
        ("/dev/ttyUSB0", "auto", True),
        ("COM3", "serial", True),
        ("/dev/ttyUSB0", "tcp", False),
        ("/dev/ttyACM0", "serial", True),
        ("/dev/serial/by-id/usb-FTDI_FT232R-if00-port0", "serial", True),
        ("/dev/pts/3", "serial", True),
        ("/dev/../etc/passwd", "serial", False),
        ("/dev/watchdog", "serial", False),
        ("/dev/tty0", "serial", False),  # a virtual console, not a serial port
        ("inverter.local", "serial", False),
        ("", "tcp", False),
        ("a" * 64 + ".example", "tcp", False),
        ("under_score.example", "tcp", False),
        ("http://192.168.1.20", "tcp", False),
    ],
)
def test_valid_host(host: str, transport: str, valid: bool) -> None:
    assert valid_host(host, transport) is valid


def test_parse_port_and_unit_ids() -> None:
    assert parse_port(None) is None
    assert parse_port(502.0) == 502
    assert parse_unit_ids("") == []
    assert parse_unit_ids(None) == []
    assert parse_unit_ids("1, 2;247 2") == [1, 2, 247]
    with pytest.raises(ValueError, match="0"):
        parse_unit_ids("0")  # Modbus' broadcast: every device acts on it, none answers
    with pytest.raises(ValueError, match="248"):
        parse_unit_ids("248")
    with pytest.raises(ValueError, match="70000"):
        parse_port(70000)


async def test_probe_budget_ends_a_slow_probe(hass: HomeAssistant, plant: SimulatedPlant) -> None:
    """However many unit ids and profiles stay silent, the user waits at most the probe budget."""
    plant.server(GOODWE_ET_UDP.endpoint).faults.offline = True
    flow = await start_user_flow(hass)
    with discovering_with(hass, probing(budget=0.3)):
        result = await hass.config_entries.flow.async_configure(
            flow["flow_id"], GOODWE_ET_UDP.user_input(plant)
        )
    assert result["errors"] == {"base": "timeout"}


async def test_serial_ignores_port_and_reports_a_missing_adapter(hass: HomeAssistant) -> None:
    """For a serial adapter the port field is irrelevant; a device path that does not exist cannot connect."""
    flow = await start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"],
        {CONF_HOST: "/dev/ttyUSB97", CONF_TRANSPORT: "serial", CONF_PORT: 0},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}


async def test_a_pseudo_terminal_is_a_serial_port(hass: HomeAssistant) -> None:
    """A character device with a serial port's name passes the form (here a pty, as socat's virtual
    ports are); the probe then finds nothing on it. A file that is no character device does not pass."""
    controller, terminal = os.openpty()
    try:
        path = os.ttyname(terminal)
        assert serial_port_problem(path) is None
        flow = await start_user_flow(hass)
        with discovering_with(hass, probing(budget=0.5)):
            result = await hass.config_entries.flow.async_configure(
                flow["flow_id"], {CONF_HOST: path, CONF_TRANSPORT: "serial", CONF_UNIT_IDS: "1"}
            )
        assert result["errors"] == {"base": "timeout"}
    finally:
        os.close(terminal)
        os.close(controller)
    assert serial_port_problem("/dev/null") == "invalid_serial_port"
    assert serial_port_problem("/dev/ttyUSB97") is None  # missing: the probe reports it
    assert serial_port_problem("COM3") is None
