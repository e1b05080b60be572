"""Diagnostics download in every entry state: useful content, with host, serials and accounts redacted."""

from __future__ import annotations

import json

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.sems.const import CONF_DEVICES, DOMAIN
from simulator.plant import SimulatedPlant

from .common import CLOUD_DATA, closed_port, entry_for
from .conftest import EASTRON_GATEWAY, GOODWE_ET_TCP, HOST, add_plant, answer_meter_locations


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    plant: SimulatedPlant,
    snapshot: SnapshotAssertion,
) -> None:
    """The GoodWe ET's diagnostics: stored connection, planned requests, readings; no host or serial."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    text = json.dumps(diagnostics)
    assert HOST not in text
    assert GOODWE_ET_TCP.unique_id not in text
    port = diagnostics["endpoint"]["port"]
    assert port == plant.port(GOODWE_ET_TCP.endpoint)
    diagnostics["endpoint"]["port"] = diagnostics["entry"]["data"]["port"] = "<free port>"
    assert diagnostics == snapshot


async def test_diagnostics_name_placed_meters_by_unit_not_serial(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, plant: SimulatedPlant
) -> None:
    """Meters the user placed are stored by a key that starts with their serial: diagnostics show them by
    unit ID instead, so no serial leaks through the options."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], EASTRON_GATEWAY.user_input(plant)
    )
    result = await answer_meter_locations(hass, result, "grid", "consumption")
    entry = result["result"]
    await hass.async_block_till_done()

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    text = json.dumps(diagnostics)
    for device in entry.data[CONF_DEVICES]:
        assert device["serial"] not in text
    assert HOST not in text
    assert sorted(
        (p["unit_id"], p["location"]) for p in diagnostics["entry"]["options"]["meter_locations"]
    ) == [(1, "grid"), (2, "consumption")]


async def test_diagnostics_of_an_entry_retrying_setup(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, plant: SimulatedPlant
) -> None:
    """An entry that cannot reach its plant has no runtime data: diagnostics still answer, with the
    entry's state, its stored devices and why setup failed (no host, no serial)."""
    first = await add_plant(hass, plant, GOODWE_ET_TCP)
    stored = list(first.data[CONF_DEVICES])
    await hass.config_entries.async_remove(first.entry_id)
    entry = entry_for(plant, GOODWE_ET_TCP, stored)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_PORT: closed_port()})
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    text = json.dumps(diagnostics)
    assert HOST not in text
    assert GOODWE_ET_TCP.unique_id not in text
    assert diagnostics["state"] == "setup_retry"
    assert diagnostics["entry"]["data"]["transport"] == "tcp"
    assert [d["role"] for d in diagnostics["devices"]] == ["inverter", "battery", "meter"]
    assert "endpoint" not in diagnostics


async def test_diagnostics_of_an_unloaded_entry(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, plant: SimulatedPlant
) -> None:
    """After an unload the entry's stored devices are still shown."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["state"] == "not_loaded"
    assert len(diagnostics["devices"]) == 3
    assert GOODWE_ET_TCP.unique_id not in json.dumps(diagnostics)


async def test_diagnostics_of_a_foreign_entry(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """An entry of the cloud-only integration that shares the domain: its account data is redacted."""
    entry = MockConfigEntry(domain=DOMAIN, title="Inverter 0123-abcd", data=CLOUD_DATA)
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics)
    for secret in CLOUD_DATA.values():
        assert secret not in text
    assert diagnostics["state"] == "setup_error"
    assert diagnostics["devices"] == []
