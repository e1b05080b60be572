"""Logbook entries for control writes: "<device> changed <control> from <old> to <new>"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.components.logbook.const import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.translation import async_get_cached_translations

from .const import DOMAIN, EVENT_CONTROL_CHANGED
from .controls import control_platform
from .plantkit.control import Control


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, Any]]], None],
) -> None:
    """Describe ``sems_control_changed``: which device, which control, the old and the new value."""

    @callback
    def describe(event: Event) -> dict[str, Any]:
        data = event.data
        device = dr.async_get(hass).async_get(str(data.get("device_id")))
        name = (device.name_by_user or device.name) if device is not None else None
        control = str(data.get("control"))
        texts = async_get_cached_translations(hass, hass.config.language, "entity", DOMAIN)
        label = control
        if control in set(Control):
            key = f"component.{DOMAIN}.entity.{control_platform(Control(control))}.{control}"
            label = texts.get(f"{key}.name", control)

        def shown(value: Any) -> str:
            if control == Control.BATTERY_MODE and value is not None:
                return texts.get(f"component.{DOMAIN}.entity.select.battery_mode.state.{value}", str(value))
            if isinstance(value, bool):
                return "on" if value else "off"
            if isinstance(value, int | float):
                return f"{value:g} {'%' if control == Control.MIN_SOC else 'W'}"
            return "unknown" if value is None else str(value)

        old, new = shown(data.get("old")), shown(data.get("new"))
        return {
            LOGBOOK_ENTRY_NAME: name or str(data.get("device")),
            LOGBOOK_ENTRY_MESSAGE: f"changed {label} from {old} to {new}",
        }

    async_describe_event(DOMAIN, EVENT_CONTROL_CHANGED, describe)
