"""What a user sees of a plant's devices: names from translation keys without repetition, each device's
own identity, titles that cover every device, and unique ids (so entities and history) that never change."""

from __future__ import annotations

import re

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from custom_components.sems.const import DOMAIN
from simulator.plant import SimulatedPlant

from .conftest import ALL_CASES, EASTRON_GATEWAY, GOODWE_ET_TCP, SUNSPEC_TCP, PlantCase, add_plant

# The GoodWe ET plant's unique ids (after its serial) before names were reworked: they must stay, or
# users lose their entities and history.
ET_UNIQUE_IDS = [
    "ac_power",
    "battery_battery_charge_energy_total",
    "battery_battery_current",
    "battery_battery_discharge_energy_total",
    "battery_battery_power",
    "battery_battery_soc",
    "battery_battery_soh",
    "battery_battery_temperature",
    "battery_battery_voltage",
    "battery_faults",
    "battery_problem",
    "battery_problem_battery",
    "battery_problem_communication",
    "battery_problem_insulation",
    "battery_problem_other",
    "battery_problem_temperature",
    "battery_rejected_readings",
    "battery_status",
    "cloud_dropped",
    "cloud_last_sync",
    "cloud_queued",
    "cloud_sent",
    "cloud_sent_battery",
    "cloud_sent_energy",
    "cloud_sent_faults",
    "cloud_sent_grid",
    "cloud_sent_plant_profile",
    "cloud_sent_power",
    "cloud_sent_status",
    "cloud_sync",
    "faults",
    "grid_current_l1",
    "grid_current_l2",
    "grid_current_l3",
    "grid_frequency",
    "grid_voltage_l1",
    "grid_voltage_l2",
    "grid_voltage_l3",
    "inverter_temperature",
    "load_energy_total",
    "load_power",
    "meter_faults",
    "meter_grid_export_energy_total",
    "meter_grid_frequency",
    "meter_grid_import_energy_total",
    "meter_grid_power",
    "meter_grid_power_l1",
    "meter_grid_power_l2",
    "meter_grid_power_l3",
    "meter_problem",
    "meter_problem_communication",
    "meter_problem_grid",
    "meter_problem_other",
    "meter_rejected_readings",
    "meter_status",
    "plant_battery_power",
    "plant_grid_power",
    "plant_installed_power",
    "plant_load_power",
    "plant_pv_energy_today",
    "plant_pv_power",
    "plant_self_consumed_energy_today",
    "plant_status",
    "problem",
    "problem_communication",
    "problem_grid",
    "problem_insulation",
    "problem_other",
    "problem_pv",
    "problem_temperature",
    "pv1_current",
    "pv1_power",
    "pv1_voltage",
    "pv2_current",
    "pv2_power",
    "pv2_voltage",
    "pv_energy_today",
    "pv_energy_total",
    "pv_power",
    "rejected_readings",
    "status",
]
# Words a device name ends with that say what it is; an entity name must not start with them again.
ROLE_WORDS = {"battery", "grid", "meter", "production", "consumption"}


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("case", ALL_CASES, ids=lambda case: case.endpoint)
async def test_names_and_entity_ids_do_not_repeat_themselves(
    hass: HomeAssistant, plant: SimulatedPlant, case: PlantCase, entity_registry: er.EntityRegistry
) -> None:
    """No "battery Battery discharge energy", no "..._battery_battery_..." entity ids."""
    entry = await add_plant(hass, plant, case)
    entities = er.async_entries_for_config_entry(entity_registry, entry.entry_id)
    assert entities
    for entity in entities:
        assert not re.search(r"(_[a-z0-9]+)\1_", entity.entity_id + "_"), entity.entity_id
        state = hass.states.get(entity.entity_id)
        assert state is not None, entity.entity_id
        device = dr.async_get(hass).async_get(entity.device_id or "")
        assert device is not None
        device_words = (device.name or "").casefold().split()
        entity_words = state.name.casefold().split()[len(device_words) :]
        assert entity_words, state.name
        if device_words[-1] in ROLE_WORDS:
            assert entity_words[0] not in ROLE_WORDS, state.name


async def test_unique_ids_never_change(
    hass: HomeAssistant, plant: SimulatedPlant, entity_registry: er.EntityRegistry
) -> None:
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    serial = GOODWE_ET_TCP.unique_id
    found = sorted(
        entity.unique_id.removeprefix(serial).removeprefix("_")
        for entity in er.async_entries_for_config_entry(entity_registry, entry.entry_id)
    )
    assert found == ET_UNIQUE_IDS


async def test_existing_entity_ids_are_kept(
    hass: HomeAssistant, plant: SimulatedPlant, entity_registry: er.EntityRegistry
) -> None:
    """A user upgrading keeps the entity ids (and so automations and history) their entities had."""
    old = {
        f"{GOODWE_ET_TCP.unique_id}_battery_battery_charge_energy_total": (
            "sensor.goodwe_gw10k_et_battery_battery_charge_energy"
        ),
        f"{GOODWE_ET_TCP.unique_id}_meter_grid_power": (
            "sensor.goodwe_smart_meter_three_phase_4_wire_grid_power"
        ),
    }
    for unique_id, entity_id in old.items():
        entity_registry.async_get_or_create(
            "sensor", DOMAIN, unique_id, suggested_object_id=entity_id.removeprefix("sensor.")
        )
    await add_plant(hass, plant, GOODWE_ET_TCP)
    for unique_id, entity_id in old.items():
        assert entity_registry.async_get_entity_id("sensor", DOMAIN, unique_id) == entity_id
        assert hass.states.get(entity_id) is not None


def devices_by_key(registry: dr.DeviceRegistry, entry_id: str) -> dict[str, dr.DeviceEntry]:
    return {sorted(d.identifiers)[0][1]: d for d in dr.async_entries_for_config_entry(registry, entry_id)}


async def test_each_device_shows_its_own_identity(
    hass: HomeAssistant, plant: SimulatedPlant, device_registry: dr.DeviceRegistry
) -> None:
    """Battery and meter devices show no serial that is the inverter's; the SunSpec battery no model that
    is the inverter's; the GoodWe meter's short name tells its plant."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    devices = {
        sorted(d.identifiers)[0][1]: d
        for d in dr.async_entries_for_config_entry(device_registry, entry.entry_id)
    }
    serial = GOODWE_ET_TCP.unique_id
    inverter, battery, meter = devices[serial], devices[f"{serial}_battery"], devices[f"{serial}_meter"]
    assert (inverter.name, inverter.model, inverter.serial_number) == ("GoodWe GW10K-ET", "GW10K-ET", serial)
    assert (battery.name, battery.model, battery.serial_number) == ("GoodWe GW10K-ET battery", None, None)
    assert (meter.name, meter.model, meter.serial_number) == (
        "GoodWe GW10K-ET grid meter",
        "Smart meter (three phase, 4 wire)",
        None,
    )
    assert battery.via_device_id == meter.via_device_id == inverter.id

    entry = await add_plant(hass, plant, SUNSPEC_TCP)
    devices = {
        sorted(d.identifiers)[0][1]: d
        for d in dr.async_entries_for_config_entry(device_registry, entry.entry_id)
    }
    battery = devices["SS-INV-0001_battery"]
    assert (battery.name, battery.model, battery.serial_number) == (
        "SunSpecSim SIM-INV-10K battery",
        None,
        None,
    )
    meter = devices["SS-MTR-0001_meter"]  # a meter with its own Common model keeps its own identity
    assert (meter.name, meter.model, meter.serial_number) == (
        "SunSpecSim SIM-METER-3P grid meter",
        "SIM-METER-3P",
        "SS-MTR-0001",
    )


async def test_gateway_title_covers_every_device(hass: HomeAssistant, plant: SimulatedPlant) -> None:
    entry = await add_plant(hass, plant, EASTRON_GATEWAY)
    assert entry.title == "Eastron SDM630 + SDM120"
