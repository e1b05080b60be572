"""Safe writing of controls: the one place the library writes to a device.

A ``PlantController`` wraps a ``PlantClient`` and writes only what a caller asks, only once the owner
set ``writes_allowed`` (so setup, probing and discovery never write), and each write:

1. is checked against the device's limits before anything is sent (``ControlValueError``), first
   against the fixed limits, then against those the device reports in its registers;
2. skips registers that already hold the value (no needless write to flash);
3. respects a budget per register: at most ``WriteBudget.per_hour`` writes in an hour and none within
   ``min_interval`` seconds of the last (``WriteBudgetExceededError``, nothing sent); the end of a
   temporary mode (``expire``) and putting back the first part of a two-part write whose second part
   failed are the writes the budget never holds back (they still count), and
   self-use asked for is held back only within ``min_interval``, never for the hour, since a forced mode
   running on would cost money or drain the battery (a device in self-use already gets nothing written,
   so this cannot wear its memory);
4. is read back: a device that acknowledged but did not take the value raises ``WriteNotTakenError`` with
   the value it really has (a write to a register the device cannot read back, ``write_only``, is checked
   through the control's value as the other registers show it).

Reads and writes share the client's lock, so a write and its read-back never interleave with a poll.
Temporary battery modes are kept in a ``RevertBook`` (JSON-safe, for the caller to persist) and go back
to self-use through ``expire`` once due.
"""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .client import PlantClient
from .control import (
    FORCED_MODES,
    BatteryMode,
    Control,
    ControlBinding,
    ControlSpec,
    ControlValue,
    RegisterWrite,
)
from .exceptions import (
    ControlError,
    ControlNotAllowedError,
    ControlNotOfferedError,
    ModeTakesNoPowerError,
    PartlyWrittenError,
    PlantError,
    WriteBudgetExceededError,
    WriteNotTakenError,
)
from .model import DeviceIdentity
from .registers import Point, RawValue, decode

HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class WriteBudget:
    """How often one register may be written: registers of inverters are often kept in flash, which
    wears out. ``min_interval`` also swallows bursts (a slider dragged, an automation that loops)."""

    per_hour: int = 10
    min_interval: float = 5.0  # seconds


@dataclass(frozen=True, slots=True)
class ControlState:
    """A control's current value and limits. A battery mode that carries its forced power has its
    ``power_spec`` and the ``forced_power`` it runs at."""

    value: ControlValue | None
    spec: ControlSpec
    power_spec: ControlSpec | None = None
    forced_power: float | None = None


@dataclass(frozen=True, slots=True)
class ControlChange:
    """One control written: its value before and after (as read back), and the registers written."""

    device: str
    control: Control
    old: ControlValue | None
    new: ControlValue | None
    registers: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Revert:
    """A temporary battery mode of one device, back to self-use at ``until`` (aware datetime)."""

    device: str
    mode: BatteryMode
    until: datetime


@dataclass
class RevertBook:
    """The pending temporary modes, at most one per device; JSON-safe for the caller to persist."""

    items: dict[str, Revert] = field(default_factory=dict)

    def add(self, revert: Revert) -> None:
        """Remember a temporary mode (replacing the device's earlier one)."""
        self.items[revert.device] = revert

    def cancel(self, device: str) -> bool:
        """Forget the device's temporary mode (a mode set for good replaces it); True if there was one."""
        return self.items.pop(device, None) is not None

    def due(self, now: datetime) -> list[Revert]:
        """The temporary modes whose time is up."""
        return sorted((r for r in self.items.values() if r.until <= now), key=lambda r: r.until)

    def next_due(self) -> datetime | None:
        """When the next temporary mode ends."""
        return min((r.until for r in self.items.values()), default=None)

    def to_dict(self) -> dict[str, Any]:
        """``{"reverts": [{"device", "mode", "until" (ISO 8601)}]}``."""
        return {
            "reverts": [
                {"device": r.device, "mode": str(r.mode), "until": r.until.isoformat()}
                for r in self.items.values()
            ]
        }

    @classmethod
    def from_dict(cls, data: Any) -> RevertBook:
        """The inverse of ``to_dict``; entries that do not parse (or lack a time zone) are left out."""
        book = cls()
        items = data.get("reverts") if isinstance(data, Mapping) else None
        for item in items if isinstance(items, list) else ():
            try:
                until = datetime.fromisoformat(str(item["until"]))
                revert = Revert(str(item["device"]), BatteryMode(item["mode"]), until)
            except (KeyError, TypeError, ValueError):
                continue
            if until.tzinfo is not None:
                book.add(revert)
        return book


class _Ledger:
    """When each register was written, to enforce a ``WriteBudget`` (times on the controller's clock)."""

    def __init__(self, budget: WriteBudget, clock: Callable[[], float]) -> None:
        self.budget = budget
        self.clock = clock
        self._times: dict[tuple[int, int], deque[float]] = defaultdict(deque)

    def check(self, unit_id: int, addresses: Sequence[int], control: Control, *, hourly: bool = True) -> None:
        now = self.clock()
        for address in addresses:
            times = self._times[(unit_id, address)]
            while times and not 0 <= now - times[0] < HOUR:  # also a time ahead: the clock went back
                times.popleft()
            soon = self.budget.min_interval - (now - times[-1]) if times else 0.0
            full = HOUR - (now - times[0]) if hourly and len(times) >= self.budget.per_hour else 0.0
            wait = max(soon, full)
            if wait > 0:
                raise WriteBudgetExceededError(
                    f"{control}: register {address} was written too often; try again in {wait:.0f} s",
                    str(control),
                    address=address,
                    limit=self.budget.per_hour,
                    retry_after=wait,
                    interval=self.budget.min_interval if full <= soon else None,
                )

    def record(self, unit_id: int, addresses: Sequence[int]) -> None:
        now = self.clock()
        for address in addresses:
            self._times[(unit_id, address)].append(now)

    def to_dict(self) -> dict[str, list[float]]:
        """``{"<unit>:<address>": [times of its writes within the last hour]}``."""
        now = self.clock()
        recent = {key: [t for t in times if 0 <= now - t < HOUR] for key, times in self._times.items()}
        return {f"{unit}:{address}": times for (unit, address), times in recent.items() if times}

    def load(self, data: Any) -> None:
        """Take the times of ``to_dict``; entries that do not parse are left out."""
        for key, times in data.items() if isinstance(data, Mapping) else ():
            try:
                unit, address = (int(part) for part in str(key).split(":"))
                self._times[(unit, address)] = deque(sorted(float(t) for t in times))
            except (TypeError, ValueError):
                continue


class PlantController:
    """Reads and writes the controls of one endpoint's devices (see the module docstring)."""

    def __init__(
        self,
        client: PlantClient,
        *,
        budget: WriteBudget | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.writes_allowed = False  # the owner allows writes once it is set up
        self.reverts = RevertBook()
        self._ledger = _Ledger(budget or WriteBudget(), clock)

    @property
    def write_log(self) -> dict[str, list[float]]:
        """The recent writes the budget counts, JSON-safe for the caller to persist (so a restart does not
        reset the budget; meaningful only with a clock that survives it, such as wall-clock seconds)."""
        return self._ledger.to_dict()

    def restore_write_log(self, data: Any) -> None:
        """Count the writes of a stored ``write_log`` against the budget."""
        self._ledger.load(data)

    # -- what is offered --------------------------------------------------------------------------------

    def bindings(self, device: DeviceIdentity) -> dict[Control, ControlBinding]:
        """The controls a device offers, bound to its registers (needs its profile prepared)."""
        profile = self.client.profile(device.profile)
        return {binding.control: binding for binding in profile.controls(device, self.client.devices)}

    def device(self, key: str) -> DeviceIdentity:
        """The plant's device with this key (``ControlNotOfferedError`` if there is none)."""
        found = next((d for d in self.client.devices if d.key == key), None)
        if found is None:
            raise ControlNotOfferedError(f"no device {key} in the plant")
        return found

    # -- reading ----------------------------------------------------------------------------------------

    async def read(self) -> dict[str, dict[Control, ControlState]]:
        """The current value and limits of every control of every device (device key -> control)."""
        await self.client.prepare()
        offered = {d.key: (d, self.bindings(d)) for d in self.client.devices}
        by_unit: dict[int, list[Point]] = defaultdict(list)
        for device, bindings in offered.values():
            for binding in bindings.values():
                by_unit[device.unit_id].extend(binding.points)
        raw_by_unit: dict[int, dict[str, RawValue]] = {}
        async with self.client.lock:
            for unit_id, points in by_unit.items():
                raw_by_unit[unit_id] = _raw(points, await self.client.read_points(unit_id, points))
        return {
            key: {
                control: _state(binding, raw_by_unit[device.unit_id]) for control, binding in bindings.items()
            }
            for key, (device, bindings) in offered.items()
            if bindings
        }

    # -- writing ----------------------------------------------------------------------------------------

    async def set(self, device_key: str, control: Control, value: object) -> ControlChange:
        """Write one control (see the module docstring for what is checked first)."""
        device, binding = self._binding(device_key, control)
        checked = binding.spec.validate(value)
        async with self.client.lock:
            change = await self._write(device, binding, checked, None, hourly=_hourly(checked))
            if control is Control.BATTERY_MODE:
                # A mode set for good ends a temporary one, once the device has it (a failed write leaves
                # the temporary mode running, so its end must stay); under the lock, so a temporary mode
                # written before this one cannot outlive it.
                self.reverts.cancel(device_key)
        return change

    async def set_export_limit(
        self, device_key: str, enabled: object, power: object = None
    ) -> list[ControlChange]:
        """Switch the export limit on or off, with its power (W) first where given. Nothing is written
        unless both values are within the device's limits and the write budget allows both; a device that
        fails the second write gets the power put back (``_write_all``)."""
        device, switch = self._binding(device_key, Control.EXPORT_LIMIT)
        parts: list[tuple[ControlBinding, ControlValue]] = [(switch, switch.spec.validate(enabled))]
        if power is not None:
            limit = self._binding(device_key, Control.EXPORT_LIMIT_POWER)[1]
            parts.insert(0, (limit, limit.spec.validate(power)))
        async with self.client.lock:
            return await self._write_all(device, [(binding, value, None) for binding, value in parts])

    async def set_battery_mode(
        self,
        device_key: str,
        mode: object,
        power: object = None,
        until: datetime | None = None,
    ) -> list[ControlChange]:
        """Set the battery mode, with the forced power first where given; with ``until`` the mode is
        temporary and ``expire`` sets self-use once it is due. Nothing is written unless mode and power
        are both within the device's limits and the write budget allows both; a power with a mode that
        uses none (any but a forced charge or discharge) is refused (``ModeTakesNoPowerError``)."""
        device, binding = self._binding(device_key, Control.BATTERY_MODE)
        checked = binding.spec.validate(mode)
        if power is not None and checked not in FORCED_MODES:
            raise ModeTakesNoPowerError(
                f"{device_key}: {checked} uses no power",
                str(Control.FORCE_POWER),
                value=power,
                mode=str(checked),
            )
        # A mode that carries its power writes it itself (its FORCE_POWER binding only re-sends it).
        power_binding = None if _carries_power(binding) else self.bindings(device).get(Control.FORCE_POWER)
        parts: list[tuple[ControlBinding, ControlValue, object]] = []
        if power is not None and power_binding is not None:
            parts.append((power_binding, power_binding.spec.validate(power), None))
        elif power is not None and not _carries_power(binding):
            raise ControlNotOfferedError(f"{device_key} has no forced power", str(Control.FORCE_POWER))
        parts.append((binding, checked, power if power_binding is None else None))
        async with self.client.lock:
            changes = await self._write_all(device, parts, hourly=_hourly(checked))
        if until is not None and isinstance(checked, BatteryMode) and checked is not BatteryMode.SELF_USE:
            self.reverts.add(Revert(device_key, checked, until))
        else:
            self.reverts.cancel(device_key)
        return changes

    async def expire(self, now: datetime) -> list[ControlChange]:
        """Set self-use on every device whose temporary mode is due. A device that cannot be written
        keeps its entry (the caller tries again later); the first error is raised after the others."""
        changes: list[ControlChange] = []
        failure: PlantError | None = None
        for revert in self.reverts.due(now):
            try:
                device, binding = self._binding(revert.device, Control.BATTERY_MODE)
            except ControlNotOfferedError:
                self.reverts.cancel(revert.device)  # the device is gone: nothing to revert
                continue
            try:
                async with self.client.lock:
                    if self.reverts.items.get(revert.device) is not revert:
                        continue  # a mode written while this end waited replaced it
                    changes.append(
                        await self._write(device, binding, BatteryMode.SELF_USE, None, budgeted=False)
                    )
                    self.reverts.cancel(revert.device)
            except PlantError as err:
                failure = failure or err
        if failure is not None:
            raise failure
        return changes

    def _binding(self, device_key: str, control: Control) -> tuple[DeviceIdentity, ControlBinding]:
        if not self.writes_allowed:
            raise ControlNotAllowedError("writing to this plant is not allowed", str(control))
        device = self.device(device_key)
        binding = self.bindings(device).get(control)
        if binding is None:
            raise ControlNotOfferedError(f"{device_key} has no {control}", str(control))
        return device, binding

    async def _write(
        self,
        device: DeviceIdentity,
        binding: ControlBinding,
        value: ControlValue,
        power: object,
        *,
        budgeted: bool = True,
        hourly: bool = True,
    ) -> ControlChange:
        """One control: check it against the device's current limits (and the budget, if ``budgeted``;
        its hourly count only if ``hourly``), write what changes, read back (lock held)."""
        planned = await self._plan(device, binding, value, power)
        if budgeted:
            self._ledger.check(device.unit_id, planned.addresses, binding.control, hourly=hourly)
        return await self._send(device, planned)

    async def _write_all(
        self,
        device: DeviceIdentity,
        parts: Sequence[tuple[ControlBinding, ControlValue, object]],
        *,
        hourly: bool = True,
    ) -> list[ControlChange]:
        """Controls written together (a value with its power; they share no register): every part is
        checked against the device's limits and the budget before the first is written, so a refusal
        known in advance never leaves one half applied (lock held). ``hourly`` applies to the last part.

        A device that fails a later part (refuses it, times out, does not take it) gets the earlier parts
        put back as they were read, so the failed request changes nothing, and the failure is raised; if
        putting back fails too, ``PartlyWrittenError`` says which change stays."""
        plans = [await self._plan(device, binding, value, power) for binding, value, power in parts]
        for index, planned in enumerate(plans):
            last = index == len(plans) - 1
            self._ledger.check(
                device.unit_id, planned.addresses, planned.binding.control, hourly=hourly or not last
            )
        changes: list[ControlChange] = []
        for planned in plans:
            try:
                changes.append(await self._send(device, planned))
            except PlantError as err:
                await self._put_back(device, plans[: len(changes)], changes, planned.binding.control, err)
                raise
        return changes

    async def _put_back(
        self,
        device: DeviceIdentity,
        plans: Sequence[_Planned],
        changes: Sequence[ControlChange],
        failed: Control,
        err: PlantError,
    ) -> None:
        """Write back what ``plans`` (sent, as ``changes``) found in their registers: one write each,
        read back, not held back by the budget (it counts). ``PartlyWrittenError`` (from ``err``, the
        failure of ``failed``, the part after them) if one cannot be put back (lock held)."""
        for planned, change in zip(plans, changes, strict=True):
            if not planned.writes:
                continue
            try:
                if any(a not in planned.words for a in planned.addresses):  # a register it cannot read
                    raise ControlError("the registers as read are not known", str(change.control))
                await self._send(
                    device, dataclasses.replace(planned, value=planned.old, writes=_undo(planned))
                )
            except PlantError as undo_err:
                raise PartlyWrittenError(
                    f"{device.key}: {failed} failed and {change.control} stays {change.new!r} ({undo_err})",
                    str(failed),
                    change=change,
                ) from err

    async def _plan(
        self, device: DeviceIdentity, binding: ControlBinding, value: ControlValue, power: object
    ) -> _Planned:
        """Read the control's registers, check ``value`` (and a carried ``power``) against the limits the
        device states now, and work out the writes that change something (lock held; nothing is sent)."""
        await self.client.prepare()
        words = await self.client.read_points(device.unit_id, binding.points)
        raw = _raw(binding.points, words)
        value = binding.spec_for(raw).validate(value)
        checked_power: float | None = None
        if power is not None:
            power_spec = binding.power_spec_for(raw, value if isinstance(value, BatteryMode) else None)
            if power_spec is None:
                raise ControlNotOfferedError(
                    f"{device.key} reports no forced power limit", str(Control.FORCE_POWER)
                )
            checked_power = float(power_spec.validate(power))
        writes = tuple(w for w in binding.encode(value, raw, checked_power) if _changes(w, words))
        return _Planned(binding, value, words, binding.decode(raw), writes)

    async def _send(self, device: DeviceIdentity, planned: _Planned) -> ControlChange:
        """Send a planned write, count it against the budget, read it back (lock held)."""
        unit_id, binding, value, writes = device.unit_id, planned.binding, planned.value, planned.writes
        points = binding.points
        for write in writes:
            if len(write.words) == 1:
                await self.client.transport.write_register(unit_id, write.address, write.words[0])
            else:
                await self.client.transport.write_registers(unit_id, write.address, write.words)
            self._ledger.record(unit_id, list(write.addresses))
        after = await self.client.read_points(unit_id, points) if writes else planned.words
        new = binding.decode(_raw(points, after))
        unreadable = {a for point in binding.write_only for a in range(point.address, point.end)}
        blind = [w for w in writes if unreadable.intersection(w.addresses)]
        for write in writes:
            taken = tuple(after.get(a) for a in write.addresses) == write.words
            if not (taken or write in blind) or (write in blind and new != value):
                raise WriteNotTakenError(
                    f"{device.key}: {binding.control} is {new!r} after writing {value!r}",
                    str(binding.control),
                    requested=value,
                    actual=new,
                )
        return ControlChange(device.key, binding.control, planned.old, new, tuple(planned.addresses))


@dataclass(frozen=True, slots=True)
class _Planned:
    """A control's write worked out from the registers as read: nothing sent yet."""

    binding: ControlBinding
    value: ControlValue | None  # what the writes set (None: registers put back to a value it cannot show)
    words: Mapping[int, int]  # the registers as read
    old: ControlValue | None
    writes: tuple[RegisterWrite, ...]  # only those that change something

    @property
    def addresses(self) -> list[int]:
        return [address for write in self.writes for address in write.addresses]


def _undo(planned: _Planned) -> tuple[RegisterWrite, ...]:
    """The writes that put back what ``planned`` found in the registers it writes."""
    return tuple(
        RegisterWrite(write.address, tuple(planned.words[a] for a in write.addresses))
        for write in planned.writes
    )


def _hourly(value: ControlValue) -> bool:
    """Whether the hour's budget may hold back writing ``value``: every value but self-use (which ends a
    forced mode: Huawei rewrites its forcible command with every forced power, so ten changes of the power
    in an hour kept a forced discharge running until the hour was over)."""
    return value is not BatteryMode.SELF_USE


def _carries_power(binding: ControlBinding) -> bool:
    """True for battery modes that carry their forced power (their limit needs a read to be known)."""
    return type(binding).power_spec_for is not ControlBinding.power_spec_for


def _changes(write: RegisterWrite, words: Mapping[int, int]) -> bool:
    return tuple(words.get(address) for address in write.addresses) != write.words


def _raw(points: Sequence[Point], words: Mapping[int, int]) -> dict[str, RawValue]:
    raw: dict[str, RawValue] = {}
    for point in points:
        block = [words[a] for a in range(point.address, point.end) if a in words]
        raw[point.key] = decode(point, block) if len(block) == point.count else None
    return raw


def _state(binding: ControlBinding, raw: Mapping[str, RawValue]) -> ControlState:
    return ControlState(
        binding.decode(raw), binding.spec_for(raw), binding.power_spec_for(raw), binding.forced_power(raw)
    )
