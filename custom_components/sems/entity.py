"""Base entity: one Home Assistant device per plant device, rendering the monitor's snapshot of it."""

from __future__ import annotations

from collections.abc import Hashable

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import SemsCoordinator
from .plantkit.model import DeviceIdentity
from .plantkit.naming import device_name, inverter_of
from .plantkit.snapshot import DeviceSnapshot


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


def plant_device_key(entry: ConfigEntry) -> str:
    """The device key of the entry's plant as a whole."""
    return f"{entry.unique_id}_plant"


def plant_device_info(entry: ConfigEntry) -> DeviceInfo:
    """The entry's plant as a whole: the device of what belongs to no single device (plant totals, cloud
    sync). Named after the entry."""
    return DeviceInfo(
        identifiers={(DOMAIN, plant_device_key(entry))}, name=f"{entry.title} plant", model="Plant"
    )


class SemsCoordinatorEntity(CoordinatorEntity[SemsCoordinator]):
    """An entity fed by the endpoint's coordinator that writes its state only when what it shows (value,
    availability, attributes) changed: most of a plant's values stay the same from one poll to the next.
    """

    _attr_has_entity_name = True
    _shown: Hashable = None

    def rendered(self) -> Hashable:
        """What the entity shows besides its availability; subclasses add their state and attributes."""
        return None

    async def async_added_to_hass(self) -> None:
        """Remember what the first state write (right after this) shows."""
        await super().async_added_to_hass()
        self._shown = (self.available, self.rendered())

    @callback
    def _handle_coordinator_update(self) -> None:
        shown = (self.available, self.rendered())
        if shown == self._shown:
            return
        self._shown = shown
        self.async_write_ha_state()


class SemsEntity(SemsCoordinatorEntity):
    """An entity of one plant device. It renders the device's snapshot and decides nothing itself."""

    def __init__(self, coordinator: SemsCoordinator, identity: DeviceIdentity) -> None:
        super().__init__(coordinator)
        self.identity = identity
        self._attr_device_info = device_info(identity, coordinator.devices)

    @property
    def snapshot(self) -> DeviceSnapshot | None:
        """This device's latest snapshot (None if it dropped out of the plant's)."""
        return self.coordinator.data.devices.get(self.identity.key)

    @property
    def available(self) -> bool:
        """Unavailable while the endpoint cannot be read, or if this device dropped out of the snapshot."""
        return super().available and self.snapshot is not None
