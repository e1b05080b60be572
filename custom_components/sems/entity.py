"""Base entity: one Home Assistant device per plant device, rendering the monitor's snapshot of it."""

from __future__ import annotations

from collections.abc import Callable, Hashable

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import SemsConfigEntry, SemsCoordinator
from .plantkit.model import DeviceIdentity
from .plantkit.naming import NAME_TEMPLATES, inverter_of, name_of, own_model, own_serial
from .plantkit.snapshot import DeviceSnapshot

# Device names made from a translation key, and their placeholders (checked against translations/en.json
# by scripts/validate_integration.py).
TRANSLATED_DEVICES = dict.fromkeys(NAME_TEMPLATES, ("name",))


def device_info(identity: DeviceIdentity, devices: list[DeviceIdentity]) -> DeviceInfo:
    """Device registry data (the link to the inverter is set by ``async_register_devices``).

    The name comes from plantkit's naming (a translation key where it is not a proper name); the serial
    number and model are the device's own, or left out. No configuration_url: Modbus endpoints (and
    GoodWe dongles on port 8899) serve no web page.
    """
    name = name_of(identity, devices)
    info = DeviceInfo(
        identifiers={(DOMAIN, identity.key)},
        manufacturer=identity.manufacturer,
        model=own_model(identity, devices),
        serial_number=own_serial(identity, devices),
        sw_version=identity.firmware,
    )
    if name.key is None:
        info["name"] = name.text
    else:
        info["translation_key"] = name.key
        info["translation_placeholders"] = dict(name.placeholders)
    return info


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
        identifiers={(DOMAIN, plant_device_key(entry))},
        translation_key="plant",
        translation_placeholders={"name": entry.title},
        model="Plant",
    )


class SemsBaseEntity(Entity):
    """What every entity of this integration shares: a name from its translation key, and a quiet exit."""

    _attr_has_entity_name = True

    async def async_will_remove_from_hass(self) -> None:
        """Leave no "unavailable" state behind when the entity is removed (the entry unloads).

        Home Assistant writes "unavailable" for a removed entity that has a registry entry; on a reload
        the entity comes straight back, and both changes end up in the logbook as if something had
        happened ("became unavailable", then "cleared (no problem detected)", or "Faults detected an
        event" for the restored last event). Without its registry entry at this point the state is
        removed instead, and the logbook lists neither (the registry entry itself stays). Setup writes
        "unavailable" when the entry cannot come back (``async_mark_unavailable``).
        """
        await super().async_will_remove_from_hass()
        self.registry_entry = None


class SemsCoordinatorEntity(SemsBaseEntity, CoordinatorEntity[SemsCoordinator]):
    """An entity fed by the endpoint's coordinator that writes its state only when what it shows (value,
    availability, attributes) changed: most of a plant's values stay the same from one poll to the next.
    """

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
        data = self.coordinator.data
        return None if data is None else data.devices.get(self.identity.key)

    @property
    def available(self) -> bool:
        """Unavailable while the endpoint cannot be read, or if this device dropped out of the snapshot."""
        return super().available and self.snapshot is not None


@callback
def async_mark_unavailable(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Show the entry's entities unavailable while it cannot be set up (after a reload whose setup
    failed they have no state at all; at Home Assistant's start this is done for them)."""
    for entity in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id):
        if not entity.disabled and hass.states.get(entity.entity_id) is None:
            entity.write_unavailable_state(hass)


@callback
def async_add_device_entities(
    entry: SemsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    make: Callable[[DeviceIdentity], list[Entity] | None],
    *,
    again: bool = False,
) -> None:
    """Add each device's entities (``make``; None: not yet, e.g. no reading of it so far), at setup and
    whenever the coordinator knows a device it had not (one found behind a gateway after setup, or one
    that came back after it was deleted). A device found after setup is registered first, so it hangs
    off its inverter like the others. With ``again`` every device is asked at every update, and ``make``
    returns only the entities it has not made yet (a control that becomes settable later)."""
    coordinator = entry.runtime_data
    added: set[str] = set()

    @callback
    def add_new() -> None:
        added.intersection_update(device.key for device in coordinator.devices)
        entities: list[Entity] = []
        for identity in coordinator.devices:
            if identity.key in added or (made := make(identity)) is None:
                continue
            if not again:
                added.add(identity.key)
            entities.extend(made)
        if entities:
            async_register_devices(coordinator.hass, entry, coordinator.devices)
            async_add_entities(entities)

    add_new()
    entry.async_on_unload(coordinator.async_add_listener(add_new))
