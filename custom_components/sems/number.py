"""Control numbers: forced battery power, minimum state of charge and export limit (README "Battery and
export controls"). Their range is the device's own (rated power, the battery's limits)."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import PERCENTAGE, UnitOfPower
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .control_entity import SemsControlEntity, async_add_control_entities
from .coordinator import SemsConfigEntry
from .plantkit.control import Control

# Writes go one at a time (each is read back before the next).
PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class SemsNumberEntityDescription(NumberEntityDescription):
    """A numeric control; its range and step are the device's (``ControlSpec``)."""

    control: Control


NUMBERS = (
    SemsNumberEntityDescription(
        key=str(Control.FORCE_POWER),
        translation_key=str(Control.FORCE_POWER),
        control=Control.FORCE_POWER,
        device_class=NumberDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        mode=NumberMode.BOX,
    ),
    SemsNumberEntityDescription(
        key=str(Control.MIN_SOC),
        translation_key=str(Control.MIN_SOC),
        control=Control.MIN_SOC,
        device_class=NumberDeviceClass.BATTERY,
        native_unit_of_measurement=PERCENTAGE,
        mode=NumberMode.BOX,
    ),
    SemsNumberEntityDescription(
        key=str(Control.EXPORT_LIMIT_POWER),
        translation_key=str(Control.EXPORT_LIMIT_POWER),
        control=Control.EXPORT_LIMIT_POWER,
        device_class=NumberDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        mode=NumberMode.BOX,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SemsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """A number per numeric control a device offers."""
    async_add_control_entities(entry, async_add_entities, NUMBERS, SemsControlNumber)


class SemsControlNumber(SemsControlEntity, NumberEntity):
    """A numeric control within the device's limits."""

    @property
    def native_value(self) -> float | None:
        """The device's value."""
        state = self.control_state
        value = state.value if state is not None else None
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    @property
    def native_min_value(self) -> float:
        """The device's lower limit."""
        state = self.control_state
        return state.spec.minimum if state is not None else 0.0

    @property
    def native_max_value(self) -> float:
        """The device's upper limit."""
        state = self.control_state
        return state.spec.maximum if state is not None else 0.0

    @property
    def native_step(self) -> float:
        """The device's step."""
        state = self.control_state
        return state.spec.step if state is not None else 1.0

    async def async_set_native_value(self, value: float) -> None:
        """Write the value (checked against the device's limits, read back)."""
        await self.controls.async_set(self.identity.key, self.control, value)
