"""A fault event entity per device: ``fault_raised`` and ``fault_cleared``, once per transition.

Automations trigger on these instead of diffing attribute lists. Each fault (``plantkit.faults.merge``) is
announced once when it appears and once when it goes away. The faults announced as active are stored
with the entity's restore data, so after a restart or reload a fault that is still active is not
announced again, and one that cleared while Home Assistant was down is announced as cleared, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from homeassistant.components.event import EventEntity, EventExtraStoredData
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .const import EVENT_FAULT_CLEARED, EVENT_FAULT_RAISED, LOGGER
from .coordinator import SemsConfigEntry, SemsCoordinator
from .entity import SemsEntity, async_add_device_entities
from .plantkit.faults import FAULT_CODES, FaultGroup, Severity
from .plantkit.model import DeviceIdentity

# Read-only entities fed by a coordinator: no limit on parallel updates.
PARALLEL_UPDATES = 0

type Announced = dict[str, dict[str, str]]  # announcement key -> code, name, severity, group, raw
_FAULT_FIELDS = ("code", "name", "severity", "group", "raw")
# Translated event attributes (checked against translations/en.json by scripts/validate_integration.py).
TRANSLATED_ATTRIBUTES = {
    "faults": {
        "event_type": (EVENT_FAULT_RAISED, EVENT_FAULT_CLEARED),
        "code": FAULT_CODES,
        "name": (),
        "severity": tuple(Severity),
        "group": tuple(FaultGroup),
        "raw": (),
        "time": (),
    }
}


@dataclass
class FaultEventStoredData(EventExtraStoredData):
    """The event entity's restore data plus the faults announced as active."""

    announced_faults: Announced = field(default_factory=dict)


def announced_from(restored: Mapping[str, Any]) -> Announced | None:
    """The announced faults in restore data; None when there are none (the entity's first start)."""
    stored = restored.get("announced_faults")
    if not isinstance(stored, dict):
        return None
    return {
        str(key): {name: str(fault[name]) for name in _FAULT_FIELDS}
        for key, fault in stored.items()
        if isinstance(fault, dict) and all(name in fault for name in _FAULT_FIELDS)
    }


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SemsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One fault event entity per device of the endpoint."""
    coordinator = entry.runtime_data
    async_add_device_entities(
        entry, async_add_entities, lambda identity: [SemsFaultEvent(coordinator, identity)]
    )


class SemsFaultEvent(SemsEntity, EventEntity):
    """Fires when a fault of the device appears or goes away."""

    _attr_translation_key = "faults"

    def __init__(self, coordinator: SemsCoordinator, identity: DeviceIdentity) -> None:
        super().__init__(coordinator, identity)
        self._attr_unique_id = f"{identity.key}_faults"
        self._attr_event_types = [EVENT_FAULT_RAISED, EVENT_FAULT_CLEARED]
        self._announced: Announced = {}

    @property
    def available(self) -> bool:
        """Like the problem sensors: only once the device really answered."""
        snapshot = self.snapshot
        return super().available and snapshot is not None and snapshot.faults is not None

    @property
    def extra_restore_state_data(self) -> FaultEventStoredData:
        """The last event (as every event entity stores it) and the faults announced as active."""
        last = super().extra_restore_state_data
        return FaultEventStoredData(last.last_event_type, last.last_event_attributes, dict(self._announced))

    async def async_added_to_hass(self) -> None:
        """Pick up what was announced before the restart or reload, then announce what changed since.

        The announcement waits for the next turn of the event loop: an event is a state write, and Home
        Assistant 2026.x drops state writes of an entity that is not fully added yet (2025.4 wrote
        them), which would leave only the last of several events.
        """
        await super().async_added_to_hass()
        if (restored := await self.async_get_last_extra_data()) is not None:
            self._announced = announced_from(restored.as_dict()) or {}
        self.async_on_remove(self.hass.loop.call_soon(self._announce_changes).cancel)

    @callback
    def _handle_coordinator_update(self) -> None:
        self._announce_changes()
        super()._handle_coordinator_update()

    def _announce_changes(self) -> None:
        """Fire one event per fault that went away or appeared since the last fresh snapshot.

        Only fresh snapshots count: a held or night one (the device did not answer) changes nothing.
        """
        snapshot = self.snapshot
        if snapshot is None or not snapshot.fresh or snapshot.faults is None:
            return
        active = {fault.key: fault.as_dict() for fault in snapshot.faults}
        for key in [key for key in self._announced if key not in active]:
            self._fire(EVENT_FAULT_CLEARED, self._announced.pop(key))
        for key, fault in active.items():
            if key not in self._announced:
                self._announced[key] = fault
                self._fire(EVENT_FAULT_RAISED, fault)

    def _fire(self, event_type: str, fault: dict[str, str]) -> None:
        LOGGER.debug("%s: %s %s (%s)", self.identity.key, event_type, fault["code"], fault["raw"])
        self._trigger_event(event_type, {**fault, "time": dt_util.utcnow().isoformat()})
        self.async_write_ha_state()
