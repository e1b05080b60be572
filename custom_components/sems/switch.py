"""The export limit on or off (README "Battery and export controls"); the limit itself is a number."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .control_entity import SemsControlEntity, async_add_control_entities
from .coordinator import SemsConfigEntry
from .plantkit.control import Control

# Writes go one at a time (each is read back before the next).
PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class SemsSwitchEntityDescription(SwitchEntityDescription):
    """An on/off control."""

    control: Control


SWITCHES = (
    SemsSwitchEntityDescription(
        key=str(Control.EXPORT_LIMIT), translation_key=str(Control.EXPORT_LIMIT), control=Control.EXPORT_LIMIT
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SemsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """An export limit switch per device that offers one."""
    async_add_control_entities(entry, async_add_entities, SWITCHES, SemsControlSwitch)


class SemsControlSwitch(SemsControlEntity, SwitchEntity):
    """An on/off control."""

    @property
    def is_on(self) -> bool | None:
        """The device's setting."""
        state = self.control_state
        return state.value if state is not None and isinstance(state.value, bool) else None

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Switch it on (read back)."""
        await self.controls.async_set(self.identity.key, self.control, True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Switch it off (read back)."""
        await self.controls.async_set(self.identity.key, self.control, False)
