"""Problem sensors per device: one per fault group the device can report, and one for any problem.

Fault codes come from plantkit's catalogue (``plantkit.faults``), so a GoodWe ground fault and a SunSpec
GROUND_FAULT turn on the same "Insulation problem" sensor, and automations are written once.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, replace
from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import SemsConfigEntry, SemsCoordinator
from .entity import SemsEntity, async_add_device_entities
from .plantkit.faults import FaultGroup
from .plantkit.model import DeviceIdentity, DeviceStatus, Role
from .plantkit.naming import CONTEXT_KEYS, entity_key

# Read-only entities fed by a coordinator: no limit on parallel updates.
PARALLEL_UPDATES = 0

ATTR_ACTIVE_FAULTS = "active_faults"
# Translated attribute names (checked against translations/en.json by scripts/validate_integration.py).
TRANSLATED_ATTRIBUTES = {
    key: {ATTR_ACTIVE_FAULTS: ()}
    for key in (
        "problem",
        *(f"{group}_problem" for group in FaultGroup),
        *(
            renamed
            for keys in CONTEXT_KEYS.values()
            for key, renamed in keys.items()
            if key.endswith("_problem")
        ),
    )
}

# The groups each role's fault sources can report (SunSpec 1xx/701/160 and GoodWe error/warning words
# for inverters; SunSpec 802 and GoodWe BMS words for batteries; SunSpec 20x and GoodWe meter test for
# meters). Battery faults are the battery device's: a hybrid inverter's own words carry none.
# Unknown bits are "other", so every role has it. A fault outside these groups still turns on "Problem".
ROLE_FAULT_GROUPS: dict[Role, tuple[FaultGroup, ...]] = {
    Role.INVERTER: (
        FaultGroup.GRID,
        FaultGroup.INSULATION,
        FaultGroup.TEMPERATURE,
        FaultGroup.PV,
        FaultGroup.COMMUNICATION,
        FaultGroup.OTHER,
    ),
    Role.BATTERY: (
        FaultGroup.BATTERY,
        FaultGroup.TEMPERATURE,
        FaultGroup.INSULATION,
        FaultGroup.COMMUNICATION,
        FaultGroup.OTHER,
    ),
    Role.METER: (FaultGroup.GRID, FaultGroup.COMMUNICATION, FaultGroup.OTHER),
}


@dataclass(frozen=True, kw_only=True)
class SemsProblemDescription(BinarySensorEntityDescription):
    """A problem sensor: the faults of one group, or (group None) every fault and a fault status."""

    group: FaultGroup | None = None


PROBLEM_DESCRIPTION = SemsProblemDescription(
    key="problem", translation_key="problem", device_class=BinarySensorDeviceClass.PROBLEM
)
GROUP_DESCRIPTIONS: dict[FaultGroup, SemsProblemDescription] = {
    group: SemsProblemDescription(
        key=f"{group}_problem",
        translation_key=f"{group}_problem",
        device_class=BinarySensorDeviceClass.PROBLEM,
        entity_category=EntityCategory.DIAGNOSTIC,
        group=group,
    )
    for group in FaultGroup
}


# A group sensor on a device whose name already says the group (a battery's "BMS problem", a grid
# meter's "Supply problem"): plantkit's naming decides the key; the unique id stays.
CONTEXT_DESCRIPTIONS: dict[str, SemsProblemDescription] = {
    renamed: replace(GROUP_DESCRIPTIONS[FaultGroup(key.removesuffix("_problem"))], translation_key=renamed)
    for keys in CONTEXT_KEYS.values()
    for key, renamed in keys.items()
    if key.endswith("_problem")
}


def descriptions_for(identity: DeviceIdentity) -> list[SemsProblemDescription]:
    """The aggregate problem sensor and one per fault group the device's role can report."""
    found = [PROBLEM_DESCRIPTION]
    for group in ROLE_FAULT_GROUPS[identity.role]:
        key = entity_key(f"{group}_problem", identity)
        found.append(GROUP_DESCRIPTIONS[group] if key == f"{group}_problem" else CONTEXT_DESCRIPTIONS[key])
    return found


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SemsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Problem sensors for every device of the endpoint."""
    coordinator = entry.runtime_data
    async_add_device_entities(
        entry,
        async_add_entities,
        lambda identity: [SemsProblemSensor(coordinator, identity, d) for d in descriptions_for(identity)],
    )


class SemsProblemSensor(SemsEntity, BinarySensorEntity):
    """On while the device reports a fault (of this sensor's group); the faults are an attribute."""

    entity_description: SemsProblemDescription

    def __init__(
        self, coordinator: SemsCoordinator, identity: DeviceIdentity, description: SemsProblemDescription
    ) -> None:
        super().__init__(coordinator, identity)
        self.entity_description = description
        # "<device>_problem" and "<device>_problem_<group>": a group never ends where another device's
        # key does ("<serial>_battery_problem" is the battery's aggregate sensor, not a group).
        group = description.group
        self._attr_unique_id = f"{identity.key}_problem" + (f"_{group}" if group else "")

    @property
    def available(self) -> bool:
        """Faults are only known once the device answered (not after a start at night, before sunrise)."""
        snapshot = self.snapshot
        return super().available and snapshot is not None and snapshot.faults is not None

    def _faults(self) -> list[dict[str, str]]:
        """Active faults of this sensor's group (all for the aggregate sensor): code, name, severity..."""
        snapshot = self.snapshot
        if snapshot is None or snapshot.faults is None:
            return []
        group = self.entity_description.group
        return [fault.as_dict() for fault in snapshot.faults if group is None or fault.group is group]

    @property
    def is_on(self) -> bool:
        """A fault of the group is active; the aggregate sensor also for a fault status without code."""
        if self._faults():
            return True
        snapshot = self.snapshot
        aggregate = self.entity_description.group is None
        return aggregate and snapshot is not None and snapshot.status is DeviceStatus.FAULT

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The active faults, worst first: code, English name, severity, group and raw vendor code(s)."""
        return {ATTR_ACTIVE_FAULTS: self._faults()}

    def rendered(self) -> Hashable:
        return (self.is_on, tuple(tuple(fault.items()) for fault in self._faults()))
