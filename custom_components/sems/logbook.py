"""Logbook entries for control writes: "<device> <control>: <old> → <new>", in Home Assistant's language."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.components.logbook.const import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr

from .const import DOMAIN, EVENT_CONTROL_CHANGED
from .controls import control_label, control_value_label
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
        raw = str(data.get("control"))
        if raw not in set(Control):
            return {LOGBOOK_ENTRY_NAME: name or str(data.get("device")), LOGBOOK_ENTRY_MESSAGE: raw}
        control = Control(raw)
        old = control_value_label(hass, control, data.get("old"))
        new = control_value_label(hass, control, data.get("new"))
        return {
            LOGBOOK_ENTRY_NAME: name or str(data.get("device")),
            # No verb: the arrow reads the same in every language.
            LOGBOOK_ENTRY_MESSAGE: f"{control_label(hass, control)}: {old} \u2192 {new}",
        }

    async_describe_event(DOMAIN, EVENT_CONTROL_CHANGED, describe)
