"""Devices appearing and disappearing behind a gateway after setup (quality scale: dynamic-devices,
stale-devices): a meter switched on later gets its entities without a reload; one taken away leaves the
others readable, goes unavailable, and can be deleted by the user; it is found again when it comes back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.sems import async_remove_config_entry_device
from custom_components.sems.const import CONF_DEVICES, DEVICE_CENSUS_INTERVAL
from simulator.plant import SimulatedPlant

from .common import entry_device
from .conftest import EASTRON_GATEWAY, add_plant

SDM630 = "sensor.eastron_sdm630_grid_meter_power"
SDM120 = "sensor.eastron_sdm120_grid_meter_power"
SDM120_KEY = "23456789_meter"


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def state(hass: HomeAssistant, entity_id: str) -> str | None:
    found = hass.states.get(entity_id)
    return None if found is None else found.state


@pytest.mark.freeze_time("2026-06-21 12:00:00", tick=True)
async def test_a_meter_switched_on_later_gets_its_entities(
    hass: HomeAssistant, plant: SimulatedPlant, freezer: FrozenDateTimeFactory
) -> None:
    """Unit 2 is listed but silent at setup; once it answers, the next census adds it."""
    gateway = plant.server(EASTRON_GATEWAY.endpoint)
    sdm120 = gateway.devices.pop(2)
    entry = await add_plant(hass, plant, EASTRON_GATEWAY)
    assert [d["unit_id"] for d in entry.data[CONF_DEVICES]] == [1]
    assert state(hass, SDM120) is None

    gateway.devices[2] = sdm120
    await tick(hass, freezer, 10)
    assert state(hass, SDM120) is None  # not asked before the census is due
    await tick(hass, freezer, DEVICE_CENSUS_INTERVAL.total_seconds())
    assert state(hass, SDM120) not in (None, STATE_UNAVAILABLE, STATE_UNKNOWN)
    assert [d["unit_id"] for d in entry.data[CONF_DEVICES]] == [1, 2]
    device = entry_device(hass, entry, SDM120_KEY)
    assert device is not None
    assert device.name == "Eastron SDM120 grid meter"


@pytest.mark.freeze_time("2026-06-21 12:00:00", tick=True)
async def test_a_meter_taken_away_is_unavailable_removable_and_found_again(
    hass: HomeAssistant, plant: SimulatedPlant, freezer: FrozenDateTimeFactory
) -> None:
    entry = await add_plant(hass, plant, EASTRON_GATEWAY)
    gateway = plant.server(EASTRON_GATEWAY.endpoint)
    registry = dr.async_get(hass)
    sdm120_device = entry_device(hass, entry, SDM120_KEY)
    assert sdm120_device is not None
    assert not await async_remove_config_entry_device(hass, entry, sdm120_device)  # it answers

    sdm120 = gateway.devices.pop(2)  # the gateway now says "no device at unit 2"
    for _ in range(3):
        await tick(hass, freezer, 10)
    assert state(hass, SDM120) == STATE_UNAVAILABLE
    assert state(hass, SDM630) not in (None, STATE_UNAVAILABLE)  # the other meter reads on

    assert await async_remove_config_entry_device(hass, entry, sdm120_device)
    registry.async_remove_device(sdm120_device.id)  # what Home Assistant does next
    await hass.async_block_till_done()
    assert [d["unit_id"] for d in entry.data[CONF_DEVICES]] == [1]
    assert not [
        e
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if e.device_id == sdm120_device.id
    ]
    asked = gateway.count(2)
    await tick(hass, freezer, 10)
    assert gateway.count(2) == asked  # no longer read

    gateway.devices[2] = sdm120  # back on the bus
    await tick(hass, freezer, DEVICE_CENSUS_INTERVAL.total_seconds())
    assert state(hass, SDM120) not in (None, STATE_UNAVAILABLE, STATE_UNKNOWN)
    assert entry_device(hass, entry, SDM120_KEY) is not None
