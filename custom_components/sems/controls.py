"""Battery and export controls of one entry: Home Assistant's side of ``plantkit.controller``.

The library decides what is safe (limits, unchanged registers, the write budget, read-back); this module
adds what belongs to Home Assistant (README "Battery and export controls"):
- nothing is written unless the entry's options allow control, and never while the entry sets up (the
  controller's writes are allowed only once setup has finished);
- every refusal and failure becomes a translated ``ServiceValidationError`` (the request was wrong or is
  not allowed now) or ``HomeAssistantError`` (the device failed or did not take the value);
- temporary battery modes are stored, so one that ends while Home Assistant is down ends at the start;
  so are the writes the budget counts, so neither a reload nor a restart resets it;
- every write that changed a control fires ``sems_control_changed`` with the old and the new value,
  which the logbook shows (``logbook.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.storage import Store
from homeassistant.helpers.translation import async_get_cached_translations
from homeassistant.util import dt as dt_util

from .const import (
    CONF_ALLOW_CONTROL,
    CONTROL_READ_INTERVAL,
    CONTROL_RETRY,
    CONTROL_WRITE_INTERVAL,
    CONTROL_WRITES_PER_HOUR,
    DOMAIN,
    EVENT_CONTROL_CHANGED,
    LOGGER,
    MAX_TEMPORARY_MODE,
)
from .coordinator import SemsConfigEntry, failure
from .plantkit.control import CONTROL_KINDS, CONTROL_UNITS, BatteryMode, Control, ControlKind, ControlValue
from .plantkit.controller import ControlChange, ControlState, PlantController, RevertBook, WriteBudget
from .plantkit.exceptions import (
    ControlError,
    ControlNotAllowedError,
    ControlNotOfferedError,
    ControlValueError,
    ForcedModeRequiredError,
    ModbusExceptionError,
    ModeTakesNoPowerError,
    PartlyWrittenError,
    PlantError,
    WriteBudgetExceededError,
    WriteNotTakenError,
)
from .plantkit.model import DeviceIdentity

STORAGE_VERSION = 1

# Refusals: nothing was sent, so the device still has what the entities show.
REFUSALS = (ControlNotAllowedError, ControlNotOfferedError, ControlValueError, WriteBudgetExceededError)

# The entity platform of each control (its name and states are translated under entity.<platform>).
CONTROL_PLATFORMS: dict[ControlKind, str] = {
    ControlKind.CHOICE: "select",
    ControlKind.NUMBER: "number",
    ControlKind.SWITCH: "switch",
}

# Translated refusals and failures of a control write (checked against translations/en.json by
# scripts/validate_integration.py); device failures use the coordinator's reading errors.
TRANSLATED_EXCEPTIONS: dict[str, tuple[str, ...]] = {
    "control_not_allowed": ("name",),
    "control_not_offered": ("name", "control"),
    "control_out_of_range": ("control", "value", "minimum", "maximum"),
    "control_invalid_choice": ("control", "value", "options"),
    "control_invalid_value": ("control", "value"),
    "forced_power_needs_forced_mode": ("control",),
    "mode_takes_no_power": ("mode",),
    "write_budget_exceeded": ("control", "limit", "seconds"),
    "write_too_soon": ("control", "interval", "seconds"),
    "write_not_taken": ("name", "control", "requested", "actual"),
    "control_partly_written": ("control", "reason", "changed", "value"),
    "invalid_duration": ("hours",),
    "unknown_device": (),
}


def storage_key(entry_id: str) -> str:
    """The store of one entry's pending temporary modes (removed with the entry)."""
    return f"{DOMAIN}.{entry_id}.controls"


def control_platform(control: Control) -> str:
    """The entity platform that shows ``control``."""
    return CONTROL_PLATFORMS[CONTROL_KINDS[control]]


def _cached_text(hass: HomeAssistant, domain: str, key: str, default: str) -> str:
    """``component.<domain>.<key>`` in Home Assistant's language, or ``default``."""
    category = key.split(".", 1)[0]
    cached = async_get_cached_translations(hass, hass.config.language, category, domain)
    return cached.get(f"component.{domain}.{key}", default)


def control_label(hass: HomeAssistant, control: Control) -> str:
    """The control's name in Home Assistant's language (its entity's name)."""
    return _cached_text(hass, DOMAIN, f"entity.{control_platform(control)}.{control}.name", str(control))


def control_value_label(hass: HomeAssistant, control: Control, value: object) -> str:
    """A value as the user sees it, in Home Assistant's language: a battery mode's name, on/off (as the
    switch shows them), a number with its unit, "-" for unknown."""
    if isinstance(value, BatteryMode) or (control is Control.BATTERY_MODE and isinstance(value, str)):
        return _cached_text(hass, DOMAIN, f"entity.select.battery_mode.state.{value}", str(value))
    if value is None:
        return "-"
    if isinstance(value, bool):
        state = "on" if value else "off"
        return _cached_text(hass, "switch", f"entity_component._.state.{state}", state)
    if isinstance(value, int | float):
        try:
            number = f"{value:g}"
        except OverflowError:  # an integer beyond any float: only a hand-made event carries one
            return "-"
        unit = CONTROL_UNITS.get(control)
        return f"{number} {unit}" if unit else number
    return str(value)


class SemsControls:
    """The controls of one entry's devices: their last known state, writes, and temporary modes.

    ``states`` holds every offered control's value and limits by device key; it is read at setup, every
    ``CONTROL_READ_INTERVAL`` with the poll, and updated from each write's read-back. ``async_add_listener``
    callbacks run when it changed.
    """

    def __init__(self, hass: HomeAssistant, entry: SemsConfigEntry) -> None:
        coordinator = entry.runtime_data
        self.hass = hass
        self.entry = entry
        self.allowed = bool(entry.options.get(CONF_ALLOW_CONTROL, False))
        self.controller = PlantController(
            coordinator.client,
            budget=WriteBudget(per_hour=CONTROL_WRITES_PER_HOUR, min_interval=CONTROL_WRITE_INTERVAL),
            # Wall-clock seconds, so the budget's stored writes count across a restart (looked up at each
            # call: a frozen test clock moves it).
            clock=lambda: dt_util.utcnow().timestamp(),
        )
        self.states: dict[str, dict[Control, ControlState]] | None = None  # None: not read yet
        self._read_at: datetime | None = None
        self._store: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, storage_key(entry.entry_id))
        self._unsub_expiry: CALLBACK_TYPE | None = None

    @property
    def title(self) -> str:
        """The entry's title (names the plant in messages)."""
        return self.entry.title

    # -- life cycle -------------------------------------------------------------------------------------

    async def async_setup(self) -> None:
        """Load the pending temporary modes and, with control allowed, read the controls once (a failed
        read is tried again with the next polls). Writes nothing."""
        stored = await self._store.async_load() or {}
        self.controller.reverts = RevertBook.from_dict(stored)
        self.controller.restore_write_log(stored.get("writes"))  # a reload or restart keeps the budget
        if self.allowed:
            await self.async_read_if_due()

    @callback
    def async_start(self) -> None:
        """Setup is done: allow writes (if the options do) and end temporary modes when they are due."""
        self.controller.writes_allowed = self.allowed
        if not self.allowed and self.controller.reverts.items:
            LOGGER.warning(
                "%s: control is off, so %d temporary battery mode(s) will not be ended by Home Assistant",
                self.title,
                len(self.controller.reverts.items),
            )
        self._schedule_expiry()

    @callback
    def async_stop(self) -> None:
        """The entry unloads: nothing more is written."""
        self.controller.writes_allowed = False
        if self._unsub_expiry is not None:
            self._unsub_expiry()
            self._unsub_expiry = None

    # -- reading ----------------------------------------------------------------------------------------

    def offers_controls(self) -> bool:
        """True when any device of the plant has a control (needs the profiles prepared)."""
        return any(self.controller.bindings(device) for device in self.controller.client.devices)

    async def async_read_if_due(self) -> None:
        """Read the controls if control is allowed and the last read is ``CONTROL_READ_INTERVAL`` old;
        a failure keeps the last states (the poll reports the plant's availability)."""
        now = dt_util.utcnow()
        if not self.allowed or (self._read_at is not None and now - self._read_at < CONTROL_READ_INTERVAL):
            return
        try:
            self.states = await self.controller.read()
        except PlantError as err:
            LOGGER.debug("%s: reading the controls failed: %s", self.title, _reason(err))
            return
        self._read_at = now

    def state(self, device_key: str, control: Control) -> ControlState | None:
        """A control's last known state."""
        return (self.states or {}).get(device_key, {}).get(control)

    # -- writing ----------------------------------------------------------------------------------------

    async def async_set(self, device_key: str, control: Control, value: object) -> None:
        """Set one control (entities)."""
        await self._async_write(device_key, control, lambda: self._set_one(device_key, control, value))

    async def _set_one(self, device_key: str, control: Control, value: object) -> list[ControlChange]:
        return [await self.controller.set(device_key, control, value)]

    async def async_set_battery_mode(
        self, device_key: str, mode: object, power: object = None, duration: timedelta | None = None
    ) -> None:
        """Set the battery mode (with its forced power); with ``duration`` it goes back to self-use after.

        The temporary mode is stored before the entry returns, so a restart in between still ends it.
        """
        if duration is not None and (duration <= timedelta(0) or duration > MAX_TEMPORARY_MODE):
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_duration",
                translation_placeholders={"hours": str(int(MAX_TEMPORARY_MODE.total_seconds() // 3600))},
            )
        until = None if duration is None else dt_util.utcnow() + duration
        await self._async_write(
            device_key,
            Control.BATTERY_MODE,
            lambda: self.controller.set_battery_mode(device_key, mode, power, until),
        )

    async def async_set_export_limit(self, device_key: str, enabled: bool, power: object = None) -> None:
        """Set the export limit's power (if given) first, then switch the limit on or off."""
        await self._async_write(
            device_key,
            Control.EXPORT_LIMIT,
            lambda: self.controller.set_export_limit(device_key, enabled, power),
        )

    async def _async_write(
        self, device_key: str, control: Control, write: Callable[[], Awaitable[list[ControlChange]]]
    ) -> None:
        """Run a write; translate what went wrong; show what the device really has; log what changed."""
        try:
            changes = await write()
        except PlantError as err:
            if isinstance(err, PartlyWrittenError):
                self._log(err.change)  # the first of two writes stays: the logbook has it
            if not isinstance(err, REFUSALS):
                await self._async_reread(err)  # something may have been written: show the truth
            raise self._translated(device_key, control, err) from err
        finally:
            await self._async_save()
            self._schedule_expiry()
        await self._async_apply(changes)

    def _sharing(self, changes: list[ControlChange]) -> set[tuple[str, Control]]:
        """The other controls (device key, control) that read a register these writes changed."""
        sharing: set[tuple[str, Control]] = set()
        for change in changes:
            written = set(change.registers)
            if not written:
                continue
            bindings = self.controller.bindings(self.controller.device(change.device))
            for control, binding in bindings.items():
                read = {a for point in binding.points for a in range(point.address, point.end)}
                if control is not change.control and read & written:
                    sharing.add((change.device, control))
        return sharing

    async def _async_apply(self, changes: list[ControlChange]) -> None:
        """Take the read-back values into ``states``, tell the entities, then log each change (an
        automation the logbook event triggers finds the entities showing it)."""
        for change in changes:
            current = self.state(change.device, change.control)
            if current is not None and self.states is not None:
                self.states[change.device][change.control] = dataclasses.replace(current, value=change.new)
        sharing = self._sharing(changes)
        if sharing:
            # Another control keeps its value in the registers just written (a forced power carried by
            # the battery mode): read them all again before the entities show anything, so the written
            # control never shows beside the other's old value (an automation it triggers reads both).
            # If that read fails, they are unknown until the next one: their old values are no more.
            await self._async_reread(None, stale=sharing)
        else:
            self.entry.runtime_data.async_update_listeners()
        for change in changes:
            if change.registers:
                self._log(change)

    async def _async_reread(
        self, err: PlantError | None, *, stale: set[tuple[str, Control]] | None = None
    ) -> None:
        """After a failed or refused write (``err``), or one that changed other controls too (``stale``):
        read the controls again, so the entities show what the device has (a write the device did not take
        also says its value). When that read fails, the ``stale`` controls show unknown."""
        try:
            self.states = await self.controller.read()
            self._read_at = dt_util.utcnow()
        except PlantError:
            if isinstance(err, WriteNotTakenError):
                LOGGER.debug("%s: reading the controls after a refused write failed", self.title)
            for device, control in stale or ():
                current = self.state(device, control)
                if current is not None and self.states is not None:
                    self.states[device][control] = dataclasses.replace(current, value=None, forced_power=None)
        self.entry.runtime_data.async_update_listeners()

    def _log(self, change: ControlChange) -> None:
        """One logbook entry per changed control (``logbook.py`` describes it)."""
        device = self._device_entry(change.device)
        self.hass.bus.async_fire(
            EVENT_CONTROL_CHANGED,
            {
                "entry_id": self.entry.entry_id,
                "device_id": device.id if device is not None else None,
                "device": change.device,
                "control": str(change.control),
                "old": _event_value(change.old),
                "new": _event_value(change.new),
            },
        )
        LOGGER.info("%s: %s changed from %s to %s", self.title, change.control, change.old, change.new)

    # -- temporary modes --------------------------------------------------------------------------------

    @callback
    def _schedule_expiry(self) -> None:
        if self._unsub_expiry is not None:
            self._unsub_expiry()
            self._unsub_expiry = None
        due = self.controller.reverts.next_due()
        if due is not None and self.controller.writes_allowed:
            self._unsub_expiry = async_track_point_in_utc_time(self.hass, self._async_expire, due)

    async def _async_expire(self, now: datetime) -> None:
        """End the due temporary modes; a device that cannot be written now is tried again later."""
        self._unsub_expiry = None
        try:
            changes = await self.controller.expire(dt_util.utcnow())
        except PlantError as err:  # the device failed (the write budget never holds an end back)
            LOGGER.warning(
                "%s: ending a temporary battery mode failed (%s); trying again in %s",
                self.title,
                _reason(err),
                CONTROL_RETRY,
            )
            await self._async_save()
            self._unsub_expiry = async_track_point_in_utc_time(
                self.hass, self._async_expire, dt_util.utcnow() + CONTROL_RETRY
            )
            return
        await self._async_save()
        await self._async_apply(changes)
        self._schedule_expiry()

    async def _async_save(self) -> None:
        stored = {**self.controller.reverts.to_dict(), "writes": self.controller.write_log}
        await self._store.async_save(stored)

    # -- messages ---------------------------------------------------------------------------------------

    def label(self, control: Control) -> str:
        """The control's name in Home Assistant's language (its entity's name)."""
        return control_label(self.hass, control)

    def value_label(self, control: Control, value: object) -> str:
        """A value as the user sees it (``control_value_label``)."""
        return control_value_label(self.hass, control, value)

    def _translated(self, device_key: str, control: Control, err: PlantError) -> HomeAssistantError:
        """The translated exception a failed write raises in Home Assistant."""
        label = self.label(control)
        named = control
        if isinstance(err, ControlError) and err.control in set(Control):
            named = Control(err.control)  # e.g. the forced power of a battery mode
        if isinstance(err, ControlNotAllowedError):
            return _refusal("control_not_allowed", name=self.title)
        if isinstance(err, ControlNotOfferedError):
            return _refusal("control_not_offered", name=self._device_name(device_key), control=label)
        if isinstance(err, ForcedModeRequiredError):
            return _refusal("forced_power_needs_forced_mode", control=self.label(named))
        if isinstance(err, ModeTakesNoPowerError):
            return _refusal("mode_takes_no_power", mode=self.value_label(Control.BATTERY_MODE, err.mode))
        if isinstance(err, ControlValueError):
            label, value = self.label(named), str(err.value)
            if err.minimum is not None and err.maximum is not None:
                return _refusal(
                    "control_out_of_range",
                    control=label,
                    value=value,
                    minimum=f"{err.minimum:g}",
                    maximum=f"{err.maximum:g}",
                )
            if err.options:
                # The keys an action takes (a YAML author types them; the select lists only valid ones).
                options = ", ".join(err.options)
                return _refusal("control_invalid_choice", control=label, value=value, options=options)
            return _refusal("control_invalid_value", control=label, value=value)
        if isinstance(err, WriteBudgetExceededError) and err.interval is not None:
            return _refusal(
                "write_too_soon",
                control=self.label(named),
                interval=f"{err.interval:g}",
                seconds=str(max(1, round(err.retry_after))),
            )
        if isinstance(err, WriteBudgetExceededError):
            return _refusal(
                "write_budget_exceeded",
                control=self.label(named),
                limit=str(err.limit),
                seconds=str(max(1, round(err.retry_after))),
            )
        if isinstance(err, PartlyWrittenError) and isinstance(err.__cause__, PlantError):
            why = self._translated(device_key, control, err.__cause__)
            reason = _cached_text(self.hass, DOMAIN, f"exceptions.{why.translation_key}.message", "")
            try:
                reason = reason.format(**(why.translation_placeholders or {}))
            except (KeyError, IndexError, ValueError):
                reason = str(why)  # Home Assistant's English text
            return HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="control_partly_written",
                translation_placeholders={
                    "control": self.label(named),
                    "reason": reason,
                    "changed": self.label(err.change.control),
                    "value": self.value_label(err.change.control, err.change.new),
                },
            )
        if isinstance(err, WriteNotTakenError):
            return HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="write_not_taken",
                translation_placeholders={
                    "name": self._device_name(device_key),
                    "control": self.label(named),
                    "requested": self.value_label(named, err.requested),
                    "actual": self.value_label(named, err.actual),
                },
            )
        key, placeholders = failure(err, self.title)
        return HomeAssistantError(
            translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
        )

    def _device_entry(self, device_key: str) -> dr.DeviceEntry | None:
        """The entry's registry device of a plant device (looked up among the entry's own devices: 2026.x
        deprecates ``async_get_device``)."""
        for device in dr.async_entries_for_config_entry(dr.async_get(self.hass), self.entry.entry_id):
            if (DOMAIN, device_key) in device.identifiers:
                return device
        return None

    def _device_name(self, device_key: str) -> str:
        device = self._device_entry(device_key)
        if device is not None:
            return device.name_by_user or device.name or self.title
        return self.title

    def device_for(self, device_key: str, control: Control) -> DeviceIdentity:
        """The device of the plant that offers ``control``: ``device_key``'s own, else the only one that
        offers it (a battery mode asked of the inverter or of the plant is its battery's)."""
        devices = self.controller.client.devices
        own = next((d for d in devices if d.key == device_key), None)
        if own is not None and control in self.controller.bindings(own):
            return own
        offering = [d for d in devices if control in self.controller.bindings(d)]
        if len(offering) == 1:
            return offering[0]
        raise _refusal("control_not_offered", name=self._device_name(device_key), control=self.label(control))


def _refusal(key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def _reason(err: PlantError) -> str:
    """Why a read or write failed, for the log: the library's own messages name the endpoint and the device
    key (host and serial), which log lines never carry."""
    if isinstance(err, ModbusExceptionError):
        return f"{type(err).__name__} {err.code}"
    return type(err).__name__


def _event_value(value: ControlValue | None) -> str | float | bool | None:
    """A control value as JSON (a battery mode by its name)."""
    return str(value) if isinstance(value, BatteryMode) else value
