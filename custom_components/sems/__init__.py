"""SEMS Local Solar: read solar inverters, batteries and meters over Modbus on the local network."""

from __future__ import annotations

from typing import Any

from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.helpers.typing import ConfigType

from . import cloud, controls, services
from .const import (
    CLOUD_ENTRY_KEYS,
    CONF_ALLOW_CONTROL,
    CONF_DEVICES,
    DOMAIN,
    ISSUE_CLOUD_ENTRY,
    LOGGER,
    PLATFORMS,
)
from .coordinator import STORAGE_VERSION, SemsConfigEntry, SemsCoordinator, failure, storage_key
from .entity import async_mark_unavailable, async_register_devices, plant_device_key
from .entry_data import endpoint_from_data, meter_locations, probe_unit_ids, stored_devices
from .plantkit.client import PlantClient
from .plantkit.exceptions import PlantError
from .plantkit.profiles import prepare_stored

__all__ = ["SemsConfigEntry"]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the service actions (``sems.set_battery_mode``, ``sems.set_export_limit``) once."""
    services.async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: SemsConfigEntry) -> bool:
    """Connect to the endpoint, read once, then set up the sensors."""
    if is_cloud_entry(entry):
        # An entry of the cloud-only integration that shares our domain: explain once, do not retry.
        _async_create_cloud_entry_issue(hass, entry)
        return False

    try:
        coordinator = await _async_connect(hass, entry)
    except ConfigEntryNotReady:
        async_mark_unavailable(hass, entry)
        raise
    entry.runtime_data = coordinator
    # Opt-in cloud sync: off (no connection, no file) unless the options hold a consent.
    coordinator.cloud_sync = cloud.CloudSync(hass, entry, coordinator)
    await coordinator.cloud_sync.async_start()
    entry.async_on_unload(coordinator.cloud_sync.async_stop)
    # Controls read here at most; writing is allowed once setup is done (README "Battery and export
    # controls").
    coordinator.controls = controls.SemsControls(hass, entry)
    await coordinator.controls.async_setup()
    entry.async_on_unload(coordinator.controls.async_stop)

    _async_remove_stale_devices(
        hass, entry, {device.key for device in coordinator.devices} | {plant_device_key(entry)}
    )
    async_register_devices(hass, entry, coordinator.devices)
    entry.async_on_unload(entry.add_update_listener(_async_options_updated))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    coordinator.controls.async_start()
    return True


async def _async_connect(hass: HomeAssistant, entry: SemsConfigEntry) -> SemsCoordinator:
    """The entry's coordinator after its first refresh; raises ``ConfigEntryNotReady``."""
    client = PlantClient(endpoint_from_data(entry.data))
    client.place_meters(meter_locations(entry.options))
    await prepare_stored(entry.data.get(CONF_DEVICES) or ())
    client.devices = stored_devices(entry.data)
    if not client.devices:
        await _async_probe_and_store(hass, entry, client)

    coordinator = SemsCoordinator(hass, entry, client)  # closes the client when setup fails or unloads
    try:
        await coordinator.async_config_entry_first_refresh()
    except ConfigEntryNotReady as err:
        key, placeholders = failure(err, entry.title)
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
        ) from err
    return coordinator


async def async_unload_entry(hass: HomeAssistant, entry: SemsConfigEntry) -> bool:
    """Unload the sensors; the coordinator's shutdown (run by the entry) closes the connection."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: SemsConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Let the user delete a device the endpoint no longer has, or one that stopped answering while the
    others answer (a meter taken off a gateway). It is no longer read; answering again at its unit id,
    it is found again at the next census. Never the plant device."""
    coordinator = entry.runtime_data
    keys = {identity.key for identity in coordinator.devices}
    silent = {identity.key for identity in coordinator.monitor.silent_devices()}
    ours = [key for domain, key in device.identifiers if domain == DOMAIN]
    if plant_device_key(entry) in ours or any(key in keys and key not in silent for key in ours):
        return False
    for key in ours:
        if key in keys:
            coordinator.forget(key)
    return True


async def async_remove_entry(hass: HomeAssistant, entry: SemsConfigEntry) -> None:
    """Delete what the entry stored (the energy books' state, every file the cloud sync made) and the
    repair issue of a removed cloud-only entry; if the sync had consent, ask the receiver to erase (as a
    withdrawal would)."""
    await Store[dict[str, Any]](hass, STORAGE_VERSION, storage_key(entry.entry_id)).async_remove()
    await Store[dict[str, Any]](
        hass, controls.STORAGE_VERSION, controls.storage_key(entry.entry_id)
    ).async_remove()
    ir.async_delete_issue(hass, DOMAIN, _cloud_issue_id(entry))
    await cloud.async_remove(hass, entry)


def is_cloud_entry(entry: SemsConfigEntry) -> bool:
    """True for entries of the cloud-only "GoodWe SEMS API" integration, which also uses domain sems."""
    return CONF_HOST not in entry.data or bool(CLOUD_ENTRY_KEYS & entry.data.keys())


async def _async_probe_and_store(hass: HomeAssistant, entry: SemsConfigEntry, client: PlantClient) -> None:
    """Find the devices again (nothing usable was stored) and remember them for the next start."""
    try:
        client.devices = await client.probe(probe_unit_ids(entry.data))
    except PlantError as err:
        await client.close()
        key, placeholders = failure(err, entry.title)
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
        ) from err
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, CONF_DEVICES: [d.to_dict() for d in client.devices]}
    )


async def _async_options_updated(hass: HomeAssistant, entry: SemsConfigEntry) -> None:
    """Options change the polling interval and the failure threshold: apply both in place, and poll
    once at the new pace when the interval changed. The cloud sync follows its own options.

    Reconfiguration changes entry.data too, but its flow schedules a reload itself, so this listener
    reloads only for what no flow reloads for: a meter the user moved (``CONF_METER_LOCATIONS``), and
    control allowed or no longer allowed (the control entities come or go).
    """
    coordinator = entry.runtime_data
    allowed = bool(entry.options.get(CONF_ALLOW_CONTROL, False))
    if coordinator.controls is not None and allowed != coordinator.controls.allowed:
        hass.config_entries.async_schedule_reload(entry.entry_id)
        return
    if meter_locations(entry.options) != coordinator.client.placements:
        # A moved meter's readings mean something else: new sensors, names and totals, set up afresh.
        hass.config_entries.async_schedule_reload(entry.entry_id)
        return
    if coordinator.apply_options():
        await coordinator.async_request_refresh()
    if coordinator.cloud_sync is not None:
        await coordinator.cloud_sync.async_apply()


def _async_remove_stale_devices(hass: HomeAssistant, entry: SemsConfigEntry, keys: set[str]) -> None:
    """Remove devices of this entry that the endpoint no longer has (e.g. after a reconfigure)."""
    registry = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
        if not any(domain == DOMAIN and key in keys for domain, key in device.identifiers):
            LOGGER.debug("Removing device %s: no longer behind %s", device.name, entry.title)
            registry.async_remove_device(device.id)


def _cloud_issue_id(entry: SemsConfigEntry) -> str:
    return f"{ISSUE_CLOUD_ENTRY}_{entry.entry_id}"


def _async_create_cloud_entry_issue(hass: HomeAssistant, entry: SemsConfigEntry) -> None:
    ir.async_create_issue(
        hass,
        DOMAIN,
        _cloud_issue_id(entry),
        is_fixable=False,
        is_persistent=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=ISSUE_CLOUD_ENTRY,
        translation_placeholders={"title": entry.title},
    )
