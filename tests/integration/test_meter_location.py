"""Where a meter measures (issue 8 item 6): the device says so (SolarEdge's meter functions), or the user
places it in setup and in the options (Eastron); only a grid meter feeds grid power and grid import and
export, and the Energy dashboard accepts a plant with a production meter beside its grid meter."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er

from custom_components.sems.const import CONF_METER_LOCATIONS, DOMAIN
from custom_components.sems.plantkit.model import Quantity
from simulator.plant import SimulatedPlant

from .common import entry_device
from .conftest import EASTRON_GATEWAY, PlantCase, add_plant, quantity_of

SDM630_KEY = "45678901_meter"
SDM120_KEY = "23456789_meter"
SOLAREDGE = PlantCase("solaredge_tcp", "tcp", None, "", "", 3, "tcp")
GRID_QUANTITIES = {
    Quantity.GRID_POWER,
    Quantity.GRID_POWER_L1,
    Quantity.GRID_POWER_L2,
    Quantity.GRID_POWER_L3,
    Quantity.GRID_IMPORT_ENERGY_TOTAL,
    Quantity.GRID_EXPORT_ENERGY_TOTAL,
}


def sensors_of(hass: HomeAssistant, entry: ConfigEntry, key: str) -> dict[Quantity, str]:
    """The device's sensors by the quantity they show."""
    device = entry_device(hass, entry, key)
    assert device is not None
    return {
        quantity: e.entity_id
        for e in er.async_entries_for_device(er.async_get(hass), device.id, include_disabled_entities=True)
        if e.domain == "sensor" and (quantity := quantity_of(e)) is not None
    }


async def configure(hass: HomeAssistant, flow_id: str, user_input: dict[str, Any]) -> dict[str, Any]:
    return dict(await hass.config_entries.flow.async_configure(flow_id, user_input))


async def test_the_user_places_each_meter_in_setup(hass: HomeAssistant, plant: SimulatedPlant) -> None:
    """Two Eastron meters behind a gateway say nothing about their place: one question each, named by
    model and unit id; the answers are kept, named on the device, and decide the meter's sensors."""
    flow = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await configure(hass, flow["flow_id"], EASTRON_GATEWAY.user_input(plant))
    assert result["step_id"] == "meter_location"
    assert result["description_placeholders"] == {"meter": "Eastron SDM630", "unit": "1"}
    result = await configure(hass, flow["flow_id"], {"location": "grid"})
    assert result["step_id"] == "meter_location"
    assert result["description_placeholders"] == {"meter": "Eastron SDM120", "unit": "2"}
    result = await configure(hass, flow["flow_id"], {"location": "production"})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.options == {CONF_METER_LOCATIONS: {SDM630_KEY: "grid", SDM120_KEY: "production"}}
    await hass.async_block_till_done()
    production = entry_device(hass, entry, SDM120_KEY)
    assert production is not None
    assert production.name == "Eastron SDM120 production meter"
    sensors = sensors_of(hass, entry, SDM120_KEY)
    assert {Quantity.AC_POWER, Quantity.AC_ENERGY_TOTAL} <= sensors.keys()
    assert not GRID_QUANTITIES & sensors.keys()  # only the grid meter feeds the grid
    assert {Quantity.GRID_POWER, Quantity.GRID_IMPORT_ENERGY_TOTAL} <= sensors_of(
        hass, entry, SDM630_KEY
    ).keys()
    # The simulated meter measures the plant's grid power; placed at production, forward is production.
    power = float(hass.states.get(sensors[Quantity.AC_POWER]).state)
    assert power == pytest.approx(plant.physics.state.grid_power, abs=1)


async def test_a_meter_moved_in_the_options_gets_the_sensors_of_its_new_place(
    hass: HomeAssistant, plant: SimulatedPlant
) -> None:
    """The options ask again (the current place preselected); a moved meter's old sensors go, its new
    ones come with the reload; a meter that stays keeps its entities."""
    entry = await add_plant(hass, plant, EASTRON_GATEWAY)  # both preselected: grid
    before_630 = sensors_of(hass, entry, SDM630_KEY)

    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert "meters" in result["menu_options"]
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "meters"})
    assert result["step_id"] == "meters"
    assert result["description_placeholders"] == {"meter": "Eastron SDM630", "unit": "1"}
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"location": "grid"})
    assert result["description_placeholders"] == {"meter": "Eastron SDM120", "unit": "2"}
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"location": "consumption"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)

    assert entry.options[CONF_METER_LOCATIONS] == {SDM630_KEY: "grid", SDM120_KEY: "consumption"}
    moved = sensors_of(hass, entry, SDM120_KEY)
    assert {Quantity.LOAD_POWER, Quantity.LOAD_ENERGY_TOTAL} <= moved.keys()
    assert not GRID_QUANTITIES & moved.keys()  # no orphaned grid sensors left behind
    for quantity in (Quantity.LOAD_POWER, Quantity.LOAD_ENERGY_TOTAL):
        assert hass.states.get(moved[quantity]) is not None
    assert sensors_of(hass, entry, SDM630_KEY) == before_630
    device = entry_device(hass, entry, SDM120_KEY)
    assert device is not None
    assert device.name == "Eastron SDM120 consumption meter"


async def test_a_meter_that_says_where_it_measures_is_not_asked_about(
    hass: HomeAssistant, plant: SimulatedPlant
) -> None:
    """SolarEdge states its meters' functions: no question in setup, no "Meter locations" in the options."""
    entry = await add_plant(hass, plant, SOLAREDGE)
    assert CONF_METER_LOCATIONS not in entry.options
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert "meters" not in result["menu_options"]
