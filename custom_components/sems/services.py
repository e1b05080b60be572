"""Service actions: ``sems.set_battery_mode`` and ``sems.set_export_limit`` (README "Battery and export
controls"). Registered once in ``async_setup``; each call names a device of a loaded entry.

The schemas check only the shapes; every value is checked against the device's own limits by the
controls (``controls.SemsControls``), which raise translated ``ServiceValidationError`` for a refused
request and ``HomeAssistantError`` when the device fails.
"""

from __future__ import annotations

import voluptuous as vol
from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr

from .const import DOMAIN, SERVICE_SET_BATTERY_MODE, SERVICE_SET_EXPORT_LIMIT
from .controls import SemsControls
from .coordinator import SemsCoordinator
from .plantkit.control import Control

ATTR_MODE = "mode"
ATTR_POWER = "power"
ATTR_DURATION = "duration"
ATTR_ENABLED = "enabled"

_NUMBER = vol.Any(int, float, vol.Coerce(float))

SET_BATTERY_MODE_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_DEVICE_ID): cv.string,
        vol.Required(ATTR_MODE): cv.string,
        vol.Optional(ATTR_POWER): _NUMBER,
        vol.Optional(ATTR_DURATION): cv.time_period,
    }
)
SET_EXPORT_LIMIT_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_DEVICE_ID): cv.string,
        vol.Required(ATTR_ENABLED): cv.boolean,
        vol.Optional(ATTR_POWER): _NUMBER,
    }
)


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the service actions."""
    hass.services.async_register(
        DOMAIN, SERVICE_SET_BATTERY_MODE, _async_set_battery_mode, schema=SET_BATTERY_MODE_SCHEMA
    )
    hass.services.async_register(
        DOMAIN, SERVICE_SET_EXPORT_LIMIT, _async_set_export_limit, schema=SET_EXPORT_LIMIT_SCHEMA
    )


async def _async_set_battery_mode(call: ServiceCall) -> None:
    controls, key = _target(call, Control.BATTERY_MODE)
    await controls.async_set_battery_mode(
        key, call.data[ATTR_MODE], call.data.get(ATTR_POWER), call.data.get(ATTR_DURATION)
    )


async def _async_set_export_limit(call: ServiceCall) -> None:
    controls, key = _target(call, Control.EXPORT_LIMIT)
    await controls.async_set_export_limit(key, call.data[ATTR_ENABLED], call.data.get(ATTR_POWER))


def _target(call: ServiceCall, control: Control) -> tuple[SemsControls, str]:
    """The controls of the device's loaded entry, and the key of the plant device that offers ``control``
    (the device itself, or the one device of its plant that does: a battery mode asked of the inverter or
    of the plant is its battery's)."""
    hass = call.hass
    registry = dr.async_get(hass)
    wanted = call.data[ATTR_DEVICE_ID]
    # Looked up through the loaded entries' own devices (2026.x deprecates DeviceEntry.config_entries).
    for entry in hass.config_entries.async_loaded_entries(DOMAIN):
        controls = entry.runtime_data.controls if isinstance(entry.runtime_data, SemsCoordinator) else None
        if controls is None:
            continue
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
            if device.id != wanted:
                continue
            key = next((key for domain, key in device.identifiers if domain == DOMAIN), None)
            if key is not None:
                return controls, controls.device_for(key, control).key
    raise ServiceValidationError(translation_domain=DOMAIN, translation_key="unknown_device")
