"""What the control entities (select, number, switch) share: one plant device's control, rendered from the
entry's ``controls.SemsControls``, written through it (README "Battery and export controls")."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

from homeassistant.const import EntityCategory
from homeassistant.core import callback
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .controls import SemsControls
from .coordinator import SemsConfigEntry, SemsCoordinator
from .entity import SemsEntity, async_add_device_entities
from .plantkit.control import Control
from .plantkit.controller import ControlState
from .plantkit.model import DeviceIdentity


class SemsControlEntity(SemsEntity):
    """One control of one device. Its value is the device's as last read (after a write: as read back),
    so an entity whose write the device did not take shows the real value again."""

    _attr_entity_category = EntityCategory.CONFIG

    def __init__(
        self,
        coordinator: SemsCoordinator,
        identity: DeviceIdentity,
        description: EntityDescription,
        control: Control,
    ) -> None:
        super().__init__(coordinator, identity)
        self.control = control
        self.entity_description = description
        self._attr_unique_id = f"{identity.key}_{control}"

    @property
    def controls(self) -> SemsControls:
        """The entry's controls (set before the platforms are)."""
        controls = self.coordinator.controls
        assert controls is not None
        return controls

    @property
    def control_state(self) -> ControlState | None:
        """The control's last known value and limits."""
        return self.controls.state(self.identity.key, self.control)

    @property
    def available(self) -> bool:
        """Available while the plant is, the control has been read and it has values to choose from (a
        forced power whose device stopped stating a limit has none)."""
        state = self.control_state
        return super().available and state is not None and state.spec.settable

    def rendered(self) -> Hashable:
        """The value and the limits."""
        return self.control_state


@callback
def async_add_control_entities(
    entry: SemsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    descriptions: Sequence[EntityDescription],
    make: Callable[[SemsCoordinator, DeviceIdentity, EntityDescription, Control], Entity],
) -> None:
    """Add each device's controls of this platform, once they have been read, and only where control of
    the plant is allowed (with control off, no entity offers a write that would be refused). A control
    with nothing to choose (a forced power whose device states no limit: 0..0 W) gets no entity until it
    has (a limit set in the vendor's app, or a battery that was not up when Home Assistant started)."""
    coordinator = entry.runtime_data
    made: set[tuple[str, Control]] = set()  # (device key, control) with an entity

    def entities(identity: DeviceIdentity) -> list[Entity] | None:
        controls = coordinator.controls
        if controls is None or not controls.allowed:
            return []
        if controls.states is None:
            return None  # not read yet: the next poll tries again
        present = {device.key for device in coordinator.devices}
        made.difference_update({pair for pair in made if pair[0] not in present})  # deleted: made again
        offered = controls.states.get(identity.key, {})
        new: list[Entity] = []
        for description in descriptions:
            pair = (identity.key, control := _control_of(description))
            if pair in made or control not in offered or not offered[control].spec.settable:
                continue
            made.add(pair)
            new.append(make(coordinator, identity, description, control))
        return new

    async_add_device_entities(entry, async_add_entities, entities, again=True)


def _control_of(description: EntityDescription) -> Control:
    control = getattr(description, "control", None)
    assert isinstance(control, Control), description
    return control
