"""Diagnostics download: the stored endpoint, the devices and their latest readings, and the cloud sync's
consent record and last message; without secrets."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .cloud import SECRETS
from .coordinator import SemsConfigEntry
from .plantkit.snapshot import DeviceSnapshot

# The host shows where a user lives on their network; serials identify the plant (and its SEMS account);
# the cloud sync's credentials, certificates and pseudonym key are secrets.
TO_REDACT = {"host", "serial", "via_serial", "unique_id", "title", *SECRETS}


async def async_get_config_entry_diagnostics(hass: HomeAssistant, entry: SemsConfigEntry) -> dict[str, Any]:
    """Diagnostics of one endpoint."""
    coordinator = entry.runtime_data
    snapshot = coordinator.data
    devices = [] if snapshot is None else [_device(device) for device in snapshot.devices.values()]
    return async_redact_data(
        {
            "entry": {
                "title": entry.title,
                "unique_id": entry.unique_id,
                "data": dict(entry.data),
                "options": dict(entry.options),
            },
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
            "devices": devices,
            # What left the LAN: state, the consent record, counters, the last message sent.
            "cloud_sync": coordinator.cloud_sync.diagnostics() if coordinator.cloud_sync else None,
        },
        TO_REDACT,
    )


def _device(device: DeviceSnapshot) -> dict[str, Any]:
    """One device of the latest snapshot: identity, status, faults and each value with its source."""
    identity = device.identity.to_dict()
    del identity["details"]  # profile-private
    return {
        **identity,
        "source": str(device.source),
        "status": str(device.status),
        "faults": None if device.faults is None else [fault.as_dict() for fault in device.faults],
        "values": {str(q): {"value": s.value, "source": str(s.source)} for q, s in device.values.items()},
    }
