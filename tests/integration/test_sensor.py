"""Sensors and devices of every simulated endpoint, energy-dashboard validity, counter glitches."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.const import ATTR_DEVICE_CLASS, EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.sems.const import DOMAIN
from custom_components.sems.plantkit.model import QUANTITY_INFO, Quantity
from simulator.plant import SimulatedPlant

from .common import poll
from .conftest import (
    ALL_CASES,
    EASTRON_GATEWAY,
    GOODWE_ET_TCP,
    SDM630_TCP,
    SUNSPEC_TCP,
    PlantCase,
    add_plant,
    quantity_of,
)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("case", ALL_CASES, ids=lambda case: case.endpoint)
async def test_entities_and_devices(
    hass: HomeAssistant,
    plant: SimulatedPlant,
    case: PlantCase,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
    ha_snapshot: SnapshotAssertion,
) -> None:
    """Every sensor (registry entry and state) and every device of each endpoint, frozen in snapshots.

    Problem sensors and fault events have their own snapshots (test_faults.py), the plant device's cloud
    sync sensors theirs (test_cloud.py).
    """
    with (
        patch("custom_components.sems.PLATFORMS", [Platform.SENSOR]),
        patch("custom_components.sems.sensor.CLOUD_SENSORS", ()),
    ):
        entry = await add_plant(hass, plant, case)
        await snapshot_platform(hass, entity_registry, ha_snapshot, entry.entry_id)
        assert await hass.config_entries.async_unload(entry.entry_id)

    devices = sorted(
        dr.async_entries_for_config_entry(device_registry, entry.entry_id),
        key=lambda d: sorted(d.identifiers),
    )
    assert len(devices) == case.device_count + 1  # and the plant as a whole
    for device in devices:
        assert device == ha_snapshot(name=f"device-{sorted(device.identifiers)[0][1]}")


@pytest.mark.parametrize(
    ("case", "children"),
    [
        (GOODWE_ET_TCP, {"9010KETU000SIM01_battery", "9010KETU000SIM01_meter"}),
        (SUNSPEC_TCP, {"SS-INV-0001_battery", "SS-MTR-0001_meter"}),  # the meter on its own unit id too
        (EASTRON_GATEWAY, set()),  # two meters, no inverter: nothing to hang off
    ],
    ids=lambda value: value.endpoint if isinstance(value, PlantCase) else "",
)
async def test_batteries_and_meters_hang_off_their_inverter(
    hass: HomeAssistant,
    plant: SimulatedPlant,
    device_registry: dr.DeviceRegistry,
    case: PlantCase,
    children: set[str],
) -> None:
    """The device page shows the battery and meter "connected via" the inverter, on every HA version."""
    entry = await add_plant(hass, plant, case)
    devices = {
        key: device
        for device in dr.async_entries_for_config_entry(device_registry, entry.entry_id)
        for domain, key in device.identifiers
        if domain == DOMAIN
    }
    linked = {key for key, device in devices.items() if device.via_device_id is not None}
    assert linked == children
    if children:
        assert {devices[key].via_device_id for key in children} == {devices[case.unique_id].id}


async def test_only_quantities_the_profile_provides(hass: HomeAssistant, plant: SimulatedPlant) -> None:
    """A meter gets its status and grid sensors only: nothing about PV or batteries."""
    entry = await add_plant(hass, plant, SDM630_TCP)
    device = next(iter(entry.runtime_data.data.devices.values()))
    unique_ids = {
        e.unique_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if e.domain == "sensor" and not e.translation_key.startswith(("cloud_", "plant_"))
    }
    key = device.identity.key
    expected = {f"{key}_status", f"{key}_rejected_readings"}
    assert unique_ids == expected | {f"{key}_{quantity}" for quantity in device.quantities}
    assert not any("pv" in unique_id or "battery" in unique_id for unique_id in unique_ids)


async def test_secondary_quantities_disabled_and_diagnostic(
    hass: HomeAssistant, plant: SimulatedPlant, entity_registry: er.EntityRegistry
) -> None:
    """Per-phase and technical values are diagnostic and off until the user enables them."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    entries = [
        e
        for e in er.async_entries_for_config_entry(entity_registry, entry.entry_id)
        # the plant device's sensors: test_cloud.py and test_plant.py
        if e.domain == "sensor" and not e.translation_key.startswith(("cloud_", "plant_"))
    ]
    assert entries
    for entity in entries:
        quantity = quantity_of(entity) or entity.translation_key
        if quantity == "rejected_readings":  # a diagnostic count, on by default
            assert entity.entity_category is EntityCategory.DIAGNOSTIC
            assert entity.disabled_by is None
            continue
        primary = quantity == "status" or QUANTITY_INFO[Quantity(quantity)].primary
        assert (entity.disabled_by is None) is primary, entity.entity_id
        assert (entity.entity_category is None) is primary, entity.entity_id
        assert (hass.states.get(entity.entity_id) is not None) is primary, entity.entity_id


async def test_status_sensor(hass: HomeAssistant, plant: SimulatedPlant) -> None:
    """The inverter's status is an enum of canonical states."""
    await add_plant(hass, plant, GOODWE_ET_TCP)
    state = hass.states.get("sensor.goodwe_gw10k_et_status")
    assert state.state == "running"
    assert state.attributes[ATTR_DEVICE_CLASS] == SensorDeviceClass.ENUM
    assert "fault" in state.attributes["options"]
    assert "unknown" not in state.attributes["options"]


async def test_lifetime_counter_reading_zero_is_ignored(hass: HomeAssistant, plant: SimulatedPlant) -> None:
    """A lifetime total that drops to 0 (inverter booting) keeps its last value, not a reset to zero."""
    await add_plant(hass, plant, GOODWE_ET_TCP)
    entity_id = "sensor.goodwe_gw10k_et_pv_energy"
    assert float(hass.states.get(entity_id).state) == pytest.approx(12345.6)

    state = plant.physics.state
    state.pv_energy_total, real_total = 0.0, state.pv_energy_total
    plant.render()
    await poll(hass, 31)
    assert float(hass.states.get(entity_id).state) == pytest.approx(12345.6)

    state.pv_energy_total = real_total + 0.1  # what 10 kW may add in a minute
    plant.render()
    await poll(hass, 31)
    assert float(hass.states.get(entity_id).state) == pytest.approx(12345.7)
