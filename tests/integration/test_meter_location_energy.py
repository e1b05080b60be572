"""The Energy dashboard accepts a plant with a production meter beside its grid meter (issue 8 item 6),
whether the device says where its meters measure (SolarEdge) or the user placed them (Eastron)."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.components.energy import data as energy_data
from homeassistant.components.energy import validate as energy_validate
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from custom_components.sems.const import DOMAIN
from custom_components.sems.plantkit.model import Quantity, Role
from simulator.plant import SimulatedPlant

from .common import entry_device
from .conftest import EASTRON_GATEWAY, PlantCase, add_plant, quantity_of

SOLAREDGE = PlantCase("solaredge_tcp", "tcp", None, "", "", 3, "tcp")


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_mock: Any, enable_custom_integrations: None) -> None:
    """The recorder starts before Home Assistant (its fixture must come first)."""


def meter_sensors(hass: HomeAssistant, entry: Any) -> list[dict[Quantity, str]]:
    """Each meter's sensors by the quantity they show."""
    registry = er.async_get(hass)
    meters = []
    for device in entry.runtime_data.devices:
        if device.role is not Role.METER:
            continue
        registered = entry_device(hass, entry, device.key)
        assert registered is not None
        meters.append(
            {
                quantity: e.entity_id
                for e in er.async_entries_for_device(registry, registered.id)
                if e.domain == "sensor" and (quantity := quantity_of(e)) is not None
            }
        )
    return meters


@pytest.mark.parametrize("placed", [False, True], ids=["device-says", "user-placed"])
async def test_energy_dashboard_accepts_a_production_meter_beside_the_grid_meter(
    hass: HomeAssistant, plant: SimulatedPlant, placed: bool
) -> None:
    """Grid import and export from the grid meter, solar from the production meter: Home Assistant's
    energy validation finds nothing wrong with any of them, once their statistics exist."""
    assert await async_setup_component(hass, "energy", {})
    if placed:
        flow = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        for user_input in (
            EASTRON_GATEWAY.user_input(plant),
            {"location": "grid"},
            {"location": "production"},
        ):
            result = await hass.config_entries.flow.async_configure(flow["flow_id"], user_input)
        entry = result["result"]
        await hass.async_block_till_done()
    else:
        entry = await add_plant(hass, plant, SOLAREDGE)
    meters = meter_sensors(hass, entry)
    (grid,) = [m for m in meters if Quantity.GRID_IMPORT_ENERGY_TOTAL in m]
    (production,) = [m for m in meters if Quantity.AC_ENERGY_TOTAL in m]
    used = [
        grid[Quantity.GRID_IMPORT_ENERGY_TOTAL],
        grid[Quantity.GRID_EXPORT_ENERGY_TOTAL],
        production[Quantity.AC_ENERGY_TOTAL],
    ]
    await async_wait_recording_done(hass)
    now = dt_util.utcnow()  # statistics of the 5-minute period the states were recorded in
    do_adhoc_statistics(hass, start=now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0))
    await async_wait_recording_done(hass)

    manager = await energy_data.async_get_manager(hass)
    await manager.async_update(
        {
            "energy_sources": [
                {
                    "type": "grid",
                    "flow_from": [{"stat_energy_from": used[0], "stat_cost": None}],
                    "flow_to": [{"stat_energy_to": used[1], "stat_compensation": None}],
                    "cost_adjustment_day": 0,
                },
                {"type": "solar", "stat_energy_from": used[2], "config_entry_solar_forecast": None},
            ]
        }
    )
    validation = (await energy_validate.async_validate(hass)).as_dict()
    assert validation["energy_sources"] == [[], []], validation
