"""Sensors generated from plantkit's canonical quantities, plus a status sensor per device."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from homeassistant.components.sensor import (
    RestoreSensor,
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
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .cloud_sensor import CLOUD_SENSORS, SemsCloudSensor
from .const import LOGGER
from .coordinator import SemsConfigEntry, SemsCoordinator
from .entity import SemsEntity
from .plantkit.model import (
    QUANTITY_INFO,
    DeviceIdentity,
    DeviceReading,
    DeviceStatus,
    Kind,
    Quantity,
    Role,
    Unit,
)

# Read-only entities fed by a coordinator: no limit on parallel updates.
PARALLEL_UPDATES = 0

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

_STATE_CLASSES: dict[Kind, SensorStateClass] = {
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

    value_fn: Callable[[DeviceReading], StateType]
    # Whether the reading has this value at all; while the plant sleeps only what it has stays available.
    present_fn: Callable[[DeviceReading], bool]
    lifetime_total: bool = False  # never published lower than before (see MonotonicTotal)


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
        value_fn=lambda reading: reading.values.get(quantity),
        present_fn=lambda reading: quantity in reading.values,
        lifetime_total=info.kind is Kind.LIFETIME_TOTAL,
    )


QUANTITY_DESCRIPTIONS: dict[Quantity, SemsSensorEntityDescription] = {
    quantity: quantity_description(quantity) for quantity in Quantity
}

STATUS_DESCRIPTION = SemsSensorEntityDescription(
    key="status",
    translation_key="status",
    device_class=SensorDeviceClass.ENUM,
    options=STATUS_OPTIONS,
    value_fn=lambda reading: None if reading.status is DeviceStatus.UNKNOWN else str(reading.status),
    present_fn=lambda reading: reading.status is not DeviceStatus.UNKNOWN,
)


def descriptions_for(reading: DeviceReading) -> list[SemsSensorEntityDescription]:
    """Sensors for what the device's profile provides: every quantity in its reading, even if None now.

    The status sensor is made for inverters, and for other devices that report a status.
    """
    found: list[SemsSensorEntityDescription] = []
    if reading.identity.role is Role.INVERTER or reading.status is not DeviceStatus.UNKNOWN:
        found.append(STATUS_DESCRIPTION)
    found.extend(QUANTITY_DESCRIPTIONS[q] for q in Quantity if q in reading.values)
    return found


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SemsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the sensors of every device from the first reading (setup guarantees one), and the cloud
    sync sensors of the plant device."""
    coordinator = entry.runtime_data
    async_add_entities(
        (SemsTotalSensor if description.lifetime_total else SemsSensor)(
            coordinator, reading.identity, description
        )
        for reading in coordinator.data.values()
        for description in descriptions_for(reading)
    )
    if coordinator.cloud_sync is not None:
        sync = coordinator.cloud_sync
        async_add_entities(SemsCloudSensor(entry, sync, description) for description in CLOUD_SENSORS)


class MonotonicTotal:
    """The glitch guard of a lifetime counter: it is never published lower than it was.

    Inverters report 0 while booting and now and then a stale, lower value. Passed on, long-term
    statistics (state class total_increasing) take a decrease for a meter reset and count the next real
    value as a whole new lifetime of energy. So a lower value keeps the last one (logged once per
    episode), and the counter moves on as soon as the device reports more than that again.
    Unreadable values (sentinels) stay unknown: they are not a value at all.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.last: float | None = None
        self._holding = False

    def restore(self, value: float) -> None:
        """Start from the value published before a restart."""
        if self.last is None or value > self.last:
            self.last = value

    def filter(self, value: float | None) -> float | None:
        """The value to publish for a new reading."""
        if value is None:
            return None
        if self.last is not None and value < self.last:
            if not self._holding:
                LOGGER.info(
                    "%s went back from %s to %s; keeping %s until it counts past it",
                    self.name,
                    self.last,
                    value,
                    self.last,
                )
                self._holding = True
            return self.last
        self.last = value
        self._holding = False
        return value


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
        self._attr_native_value = self._current_value()

    @property
    def available(self) -> bool:
        """While the plant sleeps, only what it still shows (totals, power, status) stays available."""
        if not super().available:
            return False
        reading = self.reading
        return not self.coordinator.asleep or (
            reading is not None and self.entity_description.present_fn(reading)
        )

    @callback
    def _handle_coordinator_update(self) -> None:
        self._attr_native_value = self._current_value()
        super()._handle_coordinator_update()

    def _current_value(self) -> StateType:
        """The value of the latest reading; None (unknown) when the device does not report it now."""
        reading = self.reading
        return None if reading is None else self.entity_description.value_fn(reading)


class SemsTotalSensor(SemsSensor, RestoreSensor):
    """A lifetime energy counter: guarded against going backwards, also across restarts."""

    def __init__(
        self,
        coordinator: SemsCoordinator,
        identity: DeviceIdentity,
        description: SemsSensorEntityDescription,
    ) -> None:
        self._guard = MonotonicTotal(f"{identity.key} {description.key}")
        super().__init__(coordinator, identity, description)

    async def async_added_to_hass(self) -> None:
        """Seed the guard with the value published before the restart, so a boot-time 0 stays hidden."""
        await super().async_added_to_hass()
        last = await self.async_get_last_sensor_data()
        if last is not None and isinstance(last.native_value, int | float | Decimal):
            self._guard.restore(float(last.native_value))
            self._attr_native_value = self._current_value()

    def _current_value(self) -> StateType:
        reading = self.reading
        if reading is None:
            return None
        value = self.entity_description.value_fn(reading)
        total = self._guard.filter(float(value) if isinstance(value, int | float) else None)
        if total is None and self.coordinator.asleep:
            # Started at night: the plant has not answered yet; show the total from before the restart.
            return self._guard.last
        return total
