"""Sensors generated from plantkit's canonical quantities, plus a status sensor per device.

They render the device snapshot: lifetime energy totals arrive already guarded by the library (never
lower than published before, glitches held), night stand-ins and held values are decided there too.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace

from homeassistant.components.sensor import DOMAIN as SENSOR_DOMAIN
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfFrequency,
    UnitOfPower,
    UnitOfTemperature,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .cloud_sensor import CLOUD_SENSORS, SemsCloudSensor
from .coordinator import SemsConfigEntry, SemsCoordinator
from .entity import (
    SemsCoordinatorEntity,
    SemsEntity,
    async_add_device_entities,
    plant_device_info,
    plant_device_key,
)
from .plantkit.model import QUANTITY_INFO, DeviceIdentity, DeviceStatus, Kind, Quantity, Role, Unit
from .plantkit.naming import CONTEXT_KEYS, entity_key
from .plantkit.plant import PLANT_QUANTITIES
from .plantkit.snapshot import DeviceSnapshot, Source

# Read-only entities fed by a coordinator: no limit on parallel updates.
PARALLEL_UPDATES = 0
QUANTITY_VALUES = frozenset(str(quantity) for quantity in Quantity)

# unit -> (HA unit, device class, display precision)
_UNIT_MAP: dict[Unit, tuple[str, SensorDeviceClass | None, int]] = {
    Unit.WATT: (UnitOfPower.WATT, SensorDeviceClass.POWER, 0),
    Unit.KILOWATT_HOUR: (UnitOfEnergy.KILO_WATT_HOUR, SensorDeviceClass.ENERGY, 2),
    Unit.PERCENT: (PERCENTAGE, None, 0),
    Unit.VOLT: (UnitOfElectricPotential.VOLT, SensorDeviceClass.VOLTAGE, 1),
    Unit.AMPERE: (UnitOfElectricCurrent.AMPERE, SensorDeviceClass.CURRENT, 2),
    Unit.HERTZ: (UnitOfFrequency.HERTZ, SensorDeviceClass.FREQUENCY, 2),
    Unit.CELSIUS: (UnitOfTemperature.CELSIUS, SensorDeviceClass.TEMPERATURE, 1),
}
# Percentages are generic; only the state of charge is a battery level.
_DEVICE_CLASS_OVERRIDES: dict[Quantity, SensorDeviceClass] = {Quantity.BATTERY_SOC: SensorDeviceClass.BATTERY}

_STATE_CLASSES: dict[Kind, SensorStateClass | None] = {
    Kind.CONSTANT: None,
    Kind.MEASUREMENT: SensorStateClass.MEASUREMENT,
    # Both never decrease between resets; TOTAL_INCREASING makes a daily reset a new cycle in statistics.
    Kind.LIFETIME_TOTAL: SensorStateClass.TOTAL_INCREASING,
    Kind.DAILY_TOTAL: SensorStateClass.TOTAL_INCREASING,
}

# Only real operating states are options; DeviceStatus.UNKNOWN is shown as HA's own "unknown".
STATUS_OPTIONS = [str(status) for status in DeviceStatus if status is not DeviceStatus.UNKNOWN]


@dataclass(frozen=True, kw_only=True)
class SemsSensorEntityDescription(SensorEntityDescription):
    """A sensor of one plant device."""

    value_fn: Callable[[DeviceSnapshot], StateType]
    # Whether the value means something now; a voltage of a sleeping inverter does not (unavailable).
    available_fn: Callable[[DeviceSnapshot], bool]


def quantity_description(quantity: Quantity) -> SemsSensorEntityDescription:
    """The description of a canonical quantity, derived from its unit and kind."""
    info = QUANTITY_INFO[quantity]
    unit, device_class, precision = _UNIT_MAP[info.unit]
    return SemsSensorEntityDescription(
        key=str(quantity),
        translation_key=str(quantity),
        native_unit_of_measurement=unit,
        device_class=_DEVICE_CLASS_OVERRIDES.get(quantity, device_class),
        state_class=_STATE_CLASSES[info.kind],
        suggested_display_precision=precision,
        entity_category=None if info.primary else EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=info.primary,
        value_fn=lambda snapshot: snapshot.value(quantity),
        available_fn=lambda snapshot: quantity in snapshot.values,
    )


QUANTITY_DESCRIPTIONS: dict[Quantity, SemsSensorEntityDescription] = {
    quantity: quantity_description(quantity) for quantity in Quantity
}
# The same sensors on a device whose name already says what their own name starts with (a battery's
# "Power", a grid meter's "Import energy"): plantkit's naming decides the key; the unique id stays.
CONTEXT_DESCRIPTIONS: dict[str, SemsSensorEntityDescription] = {
    renamed: replace(QUANTITY_DESCRIPTIONS[Quantity(key)], translation_key=renamed)
    for keys in CONTEXT_KEYS.values()
    for key, renamed in keys.items()
    if key in QUANTITY_DESCRIPTIONS
}

STATUS_DESCRIPTION = SemsSensorEntityDescription(
    key="status",
    translation_key="status",
    device_class=SensorDeviceClass.ENUM,
    options=STATUS_OPTIONS,
    value_fn=lambda snapshot: None if snapshot.status is DeviceStatus.UNKNOWN else str(snapshot.status),
    available_fn=lambda snapshot: snapshot.source is not Source.NIGHT
    or snapshot.status is not DeviceStatus.UNKNOWN,
)


# How many energy readings the library's guards rejected (glitches, impossible values): each rejection is
# logged once per episode; this count says how often it happens.
REJECTED_DESCRIPTION = SemsSensorEntityDescription(
    key="rejected_readings",
    translation_key="rejected_readings",
    entity_category=EntityCategory.DIAGNOSTIC,
    value_fn=lambda snapshot: snapshot.rejected,
    available_fn=lambda snapshot: True,
)


def descriptions_for(snapshot: DeviceSnapshot) -> list[SemsSensorEntityDescription]:
    """Sensors for what the device's profile provides, whether it has a value now or not.

    The status sensor is made for inverters, and for other devices that report a status; the count of
    rejected energy readings for devices with energy counters.
    """
    identity = snapshot.identity
    found: list[SemsSensorEntityDescription] = []
    if identity.role is Role.INVERTER or snapshot.status is not DeviceStatus.UNKNOWN:
        found.append(STATUS_DESCRIPTION)
    for quantity in (q for q in Quantity if q in snapshot.quantities):
        key = entity_key(quantity, identity)
        found.append(QUANTITY_DESCRIPTIONS[quantity] if key == quantity else CONTEXT_DESCRIPTIONS[key])
    if any(QUANTITY_INFO[q].unit is Unit.KILOWATT_HOUR for q in snapshot.quantities):
        found.append(REJECTED_DESCRIPTION)
    return found


def plant_description(quantity: Quantity) -> SemsSensorEntityDescription:
    """A plant total: the quantity's unit and state class, its own name (``plant_<quantity>``)."""
    base = QUANTITY_DESCRIPTIONS[quantity]
    return SemsSensorEntityDescription(
        key=f"plant_{quantity}",
        translation_key=f"plant_{quantity}",
        native_unit_of_measurement=base.native_unit_of_measurement,
        device_class=base.device_class,
        state_class=base.state_class,
        suggested_display_precision=base.suggested_display_precision,
        value_fn=base.value_fn,  # unused: plant values come from the snapshot's totals
        available_fn=base.available_fn,
    )


PLANT_DESCRIPTIONS: dict[Quantity, SemsSensorEntityDescription] = {
    quantity: plant_description(quantity) for quantity in PLANT_QUANTITIES
}
PLANT_STATUS_DESCRIPTION = SemsSensorEntityDescription(
    key="plant_status",
    translation_key="plant_status",
    device_class=SensorDeviceClass.ENUM,
    options=STATUS_OPTIONS,
    value_fn=lambda snapshot: None,  # unused: the plant's status comes from the plant snapshot
    available_fn=lambda snapshot: True,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SemsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The sensors of every device, from its first snapshot (what its profile provides); the plant
    device's totals and its cloud sync sensors."""
    coordinator = entry.runtime_data

    def make(identity: DeviceIdentity) -> list[Entity] | None:
        snapshot = coordinator.data.devices.get(identity.key)
        if snapshot is None:
            return None
        sensors = [
            SemsSensor(coordinator, identity, description) for description in descriptions_for(snapshot)
        ]
        if identity.placeable:
            _async_remove_moved_sensors(hass, entry, identity, {str(sensor.unique_id) for sensor in sensors})
        return list(sensors)

    async_add_device_entities(entry, async_add_entities, make)
    plant = coordinator.data.total_quantities
    async_add_entities(
        [
            SemsPlantSensor(coordinator, PLANT_STATUS_DESCRIPTION, None),
            *(SemsPlantSensor(coordinator, PLANT_DESCRIPTIONS[q], q) for q in PLANT_QUANTITIES if q in plant),
        ]
    )
    if coordinator.cloud_sync is not None:
        sync = coordinator.cloud_sync
        async_add_entities(SemsCloudSensor(entry, sync, description) for description in CLOUD_SENSORS)


@callback
def _async_remove_moved_sensors(
    hass: HomeAssistant, entry: SemsConfigEntry, meter: DeviceIdentity, current: set[str]
) -> None:
    """Remove the sensors a meter had at its former place (the user moved it): what they showed means
    something else now, and they would stay behind as "no longer provided". Their history stays."""
    registry = er.async_get(hass)
    prefix = f"{meter.key}_"
    for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
        suffix = entity.unique_id.removeprefix(prefix)
        if (
            entity.domain == SENSOR_DOMAIN
            and suffix != entity.unique_id
            and suffix in QUANTITY_VALUES
            and entity.unique_id not in current
        ):
            registry.async_remove(entity.entity_id)


class SemsSensor(SemsEntity, SensorEntity):
    """One value of one plant device."""

    entity_description: SemsSensorEntityDescription

    def __init__(
        self,
        coordinator: SemsCoordinator,
        identity: DeviceIdentity,
        description: SemsSensorEntityDescription,
    ) -> None:
        super().__init__(coordinator, identity)
        self.entity_description = description
        self._attr_unique_id = f"{identity.key}_{description.key}"

    @property
    def available(self) -> bool:
        """Available while the device's snapshot gives this value a meaning."""
        snapshot = self.snapshot
        return super().available and snapshot is not None and self.entity_description.available_fn(snapshot)

    @property
    def native_value(self) -> StateType:
        """The value of the latest snapshot; None (unknown) when the device does not report it now."""
        snapshot = self.snapshot
        return None if snapshot is None else self.entity_description.value_fn(snapshot)

    def rendered(self) -> Hashable:
        return self.native_value


class SemsPlantSensor(SemsCoordinatorEntity, SensorEntity):
    """A value of the plant as a whole (``plantkit.plant``), on the entry's plant device."""

    entity_description: SemsSensorEntityDescription

    def __init__(
        self,
        coordinator: SemsCoordinator,
        description: SemsSensorEntityDescription,
        quantity: Quantity | None,
    ) -> None:
        super().__init__(coordinator)
        entry = coordinator.config_entry
        self.entity_description = description
        self.quantity = quantity  # None: the plant's status
        self._attr_unique_id = f"{plant_device_key(entry)}_{description.key.removeprefix('plant_')}"
        self._attr_device_info = plant_device_info(entry)

    @property
    def available(self) -> bool:
        """Available while the plant's snapshot has this value at all."""
        return super().available and (self.quantity is None or self.quantity in self.coordinator.data.totals)

    @property
    def native_value(self) -> StateType:
        """The plant's value now (status: the worst of its devices)."""
        data = self.coordinator.data
        if self.quantity is None:
            return None if data.status is DeviceStatus.UNKNOWN else str(data.status)
        sample = data.totals.get(self.quantity)
        return None if sample is None else sample.value

    def rendered(self) -> Hashable:
        return self.native_value
