"""The plant device of an entry: what its devices add up to, as sensors."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from simulator.plant import SimulatedPlant

from .common import entry_device
from .conftest import GOODWE_ET_TCP, SDM630_TCP, add_plant

PLANT = "sensor.goodwe_gw10k_et_plant"


async def test_plant_device_adds_up_the_hybrid(hass: HomeAssistant, plant: SimulatedPlant) -> None:
    """Solar, grid, battery and house power of the GoodWe ET plant equal its devices' and the physics'."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    state = plant.physics.state
    assert float(hass.states.get(f"{PLANT}_solar_power").state) == round(state.pv_power)
    assert float(hass.states.get(f"{PLANT}_grid_power").state) == float(
        hass.states.get("sensor.goodwe_gw10k_et_grid_meter_power").state
    )
    assert float(hass.states.get(f"{PLANT}_battery_power").state) == float(
        hass.states.get("sensor.goodwe_gw10k_et_battery_power").state
    )
    assert float(hass.states.get(f"{PLANT}_house_load").state) == float(
        hass.states.get("sensor.goodwe_gw10k_et_load_power").state
    )
    assert float(hass.states.get(f"{PLANT}_installed_power").state) == 10000
    assert hass.states.get(f"{PLANT}_status").state == "running"
    assert float(hass.states.get(f"{PLANT}_self_consumption_today").state) >= 0

    device = entry_device(hass, entry, f"{entry.unique_id}_plant")
    assert device is not None
    assert device.name == "GoodWe GW10K-ET plant"


async def test_a_lone_meter_gives_grid_power_only(hass: HomeAssistant, plant: SimulatedPlant) -> None:
    """Nothing is made up: a lone grid meter gives the plant's grid power and status, and nothing else."""
    entry = await add_plant(hass, plant, SDM630_TCP)
    keys = {
        e.translation_key
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if (e.translation_key or "").startswith("plant_")
    }
    assert keys == {"plant_status", "plant_grid_power"}
