"""Small lookups several integration test modules share (test modules never import each other)."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr


def entry_device(hass: HomeAssistant, entry: ConfigEntry, identifier: str) -> dr.DeviceEntry | None:
    """The entry's device with the identifier ``(domain, identifier)``, or None.

    Looks through the entry's own devices: 2026.x deprecates ``async_get_device`` because identifiers are
    no longer unique across entries, and its replacement does not exist in 2025.4.
    """
    for device in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id):
        if (entry.domain, identifier) in device.identifiers:
            return device
    return None
