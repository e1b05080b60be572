"""Energy dashboard: every energy sensor is valid for long-term statistics and the dashboard's checks."""

from __future__ import annotations

import pytest
from homeassistant.components.energy import data as energy_data
from homeassistant.components.energy.validate import async_validate
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import validate_statistics
from homeassistant.components.recorder.util import get_instance
from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
    get_start_time,
)

from simulator.plant import SimulatedPlant

from .common import poll
from .conftest import ALL_CASES, GOODWE_ET_TCP, PlantCase, add_plant


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_mock: Recorder, enable_custom_integrations: None) -> None:
    """The recorder must start before Home Assistant does, so it comes first here."""


async def compile_statistics(hass: HomeAssistant) -> None:
    """Record what is there now and compile this 5-minute period's statistics (creates their metadata)."""
    await async_wait_recording_done(hass)
    do_adhoc_statistics(hass, start=get_start_time(dt_util.utcnow()))
    await async_wait_recording_done(hass)


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda case: case.endpoint)
async def test_energy_sensors_are_valid_for_the_energy_dashboard(
    hass: HomeAssistant, plant: SimulatedPlant, case: PlantCase
) -> None:
    """Every energy sensor passes the recorder's statistics checks and the energy dashboard's validation."""
    entry = await add_plant(hass, plant, case)
    energy_ids = [
        e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if e.original_device_class == SensorDeviceClass.ENERGY
    ]
    assert energy_ids

    # Let the recorder see two readings, then compile the statistics of this 5-minute period.
    plant.advance(60)
    await poll(hass, 31)
    await compile_statistics(hass)

    assert await get_instance(hass).async_add_executor_job(validate_statistics, hass) == {}

    manager = await energy_data.async_get_manager(hass)
    await manager.async_update(
        {
            "energy_sources": [],
            "device_consumption": [{"stat_consumption": entity_id} for entity_id in energy_ids],
        }
    )
    validation = (await async_validate(hass)).as_dict()
    assert validation["device_consumption"] == [[] for _ in energy_ids]


async def test_energy_dashboard_plant_configuration(hass: HomeAssistant, plant: SimulatedPlant) -> None:
    """The GoodWe ET's sensors fill grid, solar and battery sources of the energy dashboard without issues."""
    await add_plant(hass, plant, GOODWE_ET_TCP)
    meter = "sensor.goodwe_gw10k_et_grid_meter"
    battery = "sensor.goodwe_gw10k_et_battery"
    await poll(hass, 31)
    await compile_statistics(hass)

    manager = await energy_data.async_get_manager(hass)
    await manager.async_update(
        {
            "energy_sources": [
                {
                    "type": "grid",
                    "flow_from": [
                        {
                            "stat_energy_from": f"{meter}_import_energy",
                            "stat_cost": None,
                            "entity_energy_price": None,
                            "number_energy_price": None,
                        }
                    ],
                    "flow_to": [
                        {
                            "stat_energy_to": f"{meter}_export_energy",
                            "stat_compensation": None,
                            "entity_energy_price": None,
                            "number_energy_price": None,
                        }
                    ],
                    "cost_adjustment_day": 0.0,
                },
                {
                    "type": "solar",
                    "stat_energy_from": "sensor.goodwe_gw10k_et_pv_energy",
                    "config_entry_solar_forecast": None,
                },
                {
                    "type": "battery",
                    "stat_energy_from": f"{battery}_discharge_energy",
                    "stat_energy_to": f"{battery}_charge_energy",
                },
            ],
            "device_consumption": [],
        }
    )
    validation = (await async_validate(hass)).as_dict()
    assert validation["energy_sources"] == [[], [], []]
    # Home Assistant adds checks over time (2026.x: "device_consumption_water"): none may find an issue.
    assert {key: issues for key, issues in validation.items() if any(issues)} == {}
