"""The battery mode of a battery (or hybrid inverter) as a select entity (README "Battery and export
controls"). Choosing a forced mode uses the forced power set on the device; for a power or a duration
use the ``sems.set_battery_mode`` action."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .control_entity import SemsControlEntity, async_add_control_entities
from .coordinator import SemsConfigEntry
from .plantkit.control import BatteryMode, Control

# Writes go one at a time (each is read back before the next).
PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class SemsSelectEntityDescription(SelectEntityDescription):
    """A choice control (the options listed are every mode; each device offers its own subset)."""

    control: Control


SELECTS = (
    SemsSelectEntityDescription(
        key=str(Control.BATTERY_MODE),
        translation_key=str(Control.BATTERY_MODE),
        control=Control.BATTERY_MODE,
        options=[str(mode) for mode in BatteryMode],
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SemsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """A battery mode select per device that offers one."""
    async_add_control_entities(entry, async_add_entities, SELECTS, SemsControlSelect)


class SemsControlSelect(SemsControlEntity, SelectEntity):
    """The battery mode; its options are the modes the device offers."""

    @property
    def options(self) -> list[str]:
        """The modes this device offers."""
        state = self.control_state
        return [str(mode) for mode in state.spec.options] if state is not None else []

    @property
    def current_option(self) -> str | None:
        """The device's mode (unknown when it runs a mode that has no canonical name)."""
        state = self.control_state
        return str(state.value) if state is not None and isinstance(state.value, BatteryMode) else None

    async def async_select_option(self, option: str) -> None:
        """Set the mode for good (a temporary mode of the device ends)."""
        await self.controls.async_set(self.identity.key, self.control, option)
