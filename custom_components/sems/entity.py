"""Base entity: one Home Assistant device per plant device, fed by the endpoint's coordinator."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import SemsCoordinator
from .entry_data import device_name
from .plantkit.model import DeviceIdentity, DeviceReading, Role


def device_info(identity: DeviceIdentity, devices: list[DeviceIdentity]) -> DeviceInfo:
    """Device registry data; batteries and meters hang off the inverter they were found through.

    No configuration_url: Modbus endpoints (and GoodWe dongles on port 8899) serve no web page.
    """
    info = DeviceInfo(
        identifiers={(DOMAIN, identity.key)},
        manufacturer=identity.manufacturer,
        model=identity.model,
        name=device_name(identity, devices),
        serial_number=identity.serial,
        sw_version=identity.firmware,
    )
    if identity.role is not Role.INVERTER:
        inverter = _inverter_of(identity, devices)
        if inverter is not None:
            info["via_device"] = (DOMAIN, inverter.key)
    return info


def _inverter_of(identity: DeviceIdentity, devices: list[DeviceIdentity]) -> DeviceIdentity | None:
    """The inverter a battery or meter belongs to: the one named by via_serial, else the endpoint's only one.

    A SunSpec meter on its own unit id has no via_serial, but an endpoint with exactly one inverter is
    one plant, so the meter is shown under it.
    """
    inverters = [d for d in devices if d.role is Role.INVERTER]
    for inverter in inverters:
        if inverter.serial == identity.via_serial:
            return inverter
    return inverters[0] if len(inverters) == 1 else None


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
