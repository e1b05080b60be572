"""Base entity: one Home Assistant device per plant device, fed by the endpoint's coordinator."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import SemsCoordinator
from .entry_data import device_name
from .plantkit.faults import UNKNOWN_FAULT, UNSPECIFIED_INVERTER_WARNING, Fault, resolve
from .plantkit.model import DeviceIdentity, DeviceReading, Role

# Canonical codes that say nothing on their own: each raw bit behind them stays a fault of its own.
_UNSPECIFIC_CODES = frozenset({UNKNOWN_FAULT, UNSPECIFIED_INVERTER_WARNING})


def device_info(identity: DeviceIdentity, devices: list[DeviceIdentity]) -> DeviceInfo:
    """Device registry data (the link to the inverter is set by ``async_register_devices``).

    No configuration_url: Modbus endpoints (and GoodWe dongles on port 8899) serve no web page.
    """
    return DeviceInfo(
        identifiers={(DOMAIN, identity.key)},
        manufacturer=identity.manufacturer,
        model=identity.model,
        name=device_name(identity, devices),
        serial_number=identity.serial,
        sw_version=identity.firmware,
    )


@callback
def async_register_devices(hass: HomeAssistant, entry: ConfigEntry, devices: list[DeviceIdentity]) -> None:
    """Register the endpoint's devices before their entities; batteries and meters hang off their inverter.

    The link is set by registry id (``via_device_id``), which every supported version takes: the
    ``via_device`` key of DeviceInfo is deprecated since 2026.x (it stops working in 2027.8), and
    2025.4's DeviceInfo has no ``via_device_id``.
    """
    registry = dr.async_get(hass)
    device_ids = {
        identity.key: registry.async_get_or_create(
            config_entry_id=entry.entry_id, **device_info(identity, devices)
        ).id
        for identity in devices
    }
    for identity in devices:
        if (inverter := inverter_of(identity, devices)) is not None:
            registry.async_update_device(device_ids[identity.key], via_device_id=device_ids[inverter.key])


def inverter_of(identity: DeviceIdentity, devices: list[DeviceIdentity]) -> DeviceIdentity | None:
    """The inverter a battery or meter belongs to: the one named by via_serial, else the endpoint's only one.

    A SunSpec meter on its own unit id has no via_serial, but an endpoint with exactly one inverter is
    one plant, so the meter is shown under it. None for an inverter.
    """
    if identity.role is Role.INVERTER:
        return None
    inverters = [d for d in devices if d.role is Role.INVERTER]
    for inverter in inverters:
        if inverter.serial == identity.via_serial:
            return inverter
    return inverters[0] if len(inverters) == 1 else None


def active_faults(reading: DeviceReading) -> dict[str, dict[str, str]]:
    """The device's active faults, worst first: announcement key -> code, name, severity, group, raw.

    Raw codes that mean the same fault are one entry (a SunSpec inverter reports a trip both in its
    103 Evt1 and its 701 Alrm word; "raw" then lists both), so one trip is one event. Bits the catalogue
    cannot name stay apart, keyed by their raw code, so two unknown bits are two faults.
    """
    merged: dict[str, list[Fault]] = {}
    for fault in resolve(reading.faults):
        key = fault.raw if fault.code in _UNSPECIFIC_CODES else fault.code
        merged.setdefault(key, []).append(fault)
    return {
        key: {
            "code": faults[0].code,
            "name": faults[0].name,
            "severity": str(faults[0].severity),
            "group": str(faults[0].group),
            "raw": ", ".join(fault.raw for fault in faults),
        }
        for key, faults in merged.items()
    }


class SemsEntity(CoordinatorEntity[SemsCoordinator]):
    """An entity of one plant device."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: SemsCoordinator, identity: DeviceIdentity) -> None:
        super().__init__(coordinator)
        self.identity = identity
        self._attr_device_info = device_info(identity, coordinator.devices)

    @property
    def reading(self) -> DeviceReading | None:
        """This device's latest reading (None before the first one, which setup guarantees)."""
        return self.coordinator.data.get(self.identity.key) if self.coordinator.data else None

    @property
    def available(self) -> bool:
        """Unavailable while the endpoint cannot be read, or if this device dropped out of the reading."""
        return super().available and self.reading is not None
