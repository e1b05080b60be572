"""Diagnostics download: the stored endpoint, the devices and their latest readings, and the cloud sync's
consent record and last message; without secrets.

It works in every entry state: a loaded entry adds its connection and latest readings; an entry that is
not loaded (setup retrying, unloaded, or an entry of the cloud-only integration that shares the domain)
has no runtime data and shows what it stores.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from .cloud import SECRETS
from .const import CLOUD_ENTRY_KEYS, CONF_METER_LOCATIONS
from .coordinator import SemsConfigEntry, SemsCoordinator
from .entry_data import stored_devices
from .plantkit.model import DeviceIdentity
from .plantkit.snapshot import DeviceSnapshot

# The host shows where a user lives on their network; serials identify the plant (and its SEMS account);
# a cloud-only entry's keys are an account's credentials; the cloud sync's credentials, certificates and
# pseudonym key are secrets.
TO_REDACT = {"host", "serial", "via_serial", "unique_id", "title", *CLOUD_ENTRY_KEYS, *SECRETS}


async def async_get_config_entry_diagnostics(hass: HomeAssistant, entry: SemsConfigEntry) -> dict[str, Any]:
    """Diagnostics of one endpoint, in whatever state its entry is."""
    diagnostics: dict[str, Any] = {
        "state": entry.state.value,
        # The translated reason's key, not its text: the text names the host.
        "setup_error": entry.error_reason_translation_key,
        "entry": {
            "title": entry.title,
            "unique_id": entry.unique_id,
            "data": dict(entry.data),
            "options": _options(entry),
        },
    }
    coordinator: SemsCoordinator | None = (
        entry.runtime_data if entry.state is ConfigEntryState.LOADED else None
    )
    if coordinator is None:
        diagnostics["devices"] = [_identity(device) for device in stored_devices(entry.data)]
    else:
        diagnostics |= _loaded(coordinator)
    return async_redact_data(diagnostics, TO_REDACT)


def _options(entry: SemsConfigEntry) -> dict[str, Any]:
    """The entry's options; the meter locations by unit ID and role, as their keys start with the serial."""
    options = dict(entry.options)
    if placements := options.get(CONF_METER_LOCATIONS):
        devices = {device.key: device for device in stored_devices(entry.data)}
        options[CONF_METER_LOCATIONS] = [
            {
                "unit_id": devices[key].unit_id if key in devices else None,
                "instance": devices[key].instance if key in devices else None,
                "location": location,
            }
            for key, location in placements.items()
        ]
    return options


def _loaded(coordinator: SemsCoordinator) -> dict[str, Any]:
    """The connection, the poll outcome and the latest readings of a loaded entry."""
    snapshot = coordinator.data
    return {
        "endpoint": {
            "transport": str(coordinator.client.endpoint.transport),
            "port": coordinator.client.endpoint.port,
            "timeout": coordinator.client.endpoint.timeout,
            "update_interval_seconds": (
                coordinator.update_interval.total_seconds() if coordinator.update_interval else None
            ),
            "planned_requests_per_poll": coordinator.client.planned_requests(),
        },
        "last_update_success": coordinator.last_update_success,
        "last_exception": repr(coordinator.last_exception) if coordinator.last_exception else None,
        "asleep": coordinator.monitor.asleep,
        "failed_polls": coordinator.monitor.failed_polls,
        "devices": [] if snapshot is None else [_device(device) for device in snapshot.devices.values()],
        # What left the LAN: state, the consent record, counters, the last message sent.
        "cloud_sync": coordinator.cloud_sync.diagnostics() if coordinator.cloud_sync else None,
    }


def _identity(identity: DeviceIdentity) -> dict[str, Any]:
    data = identity.to_dict()
    del data["details"]  # profile-private
    return data


def _device(device: DeviceSnapshot) -> dict[str, Any]:
    """One device of the latest snapshot: identity, status, faults, each value with its source, and how
    many energy readings its guards rejected."""
    return {
        **_identity(device.identity),
        "source": str(device.source),
        "status": str(device.status),
        "faults": None if device.faults is None else [fault.as_dict() for fault in device.faults],
        "values": {str(q): {"value": s.value, "source": str(s.source)} for q, s in device.values.items()},
        "rejected_energy_readings": device.rejected,
    }
