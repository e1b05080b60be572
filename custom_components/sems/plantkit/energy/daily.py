"""A counter that restarts every day (PV energy today): ``DailyCounter``.

Devices reset their "today" counter on their own schedule: at their own midnight, at wake-up in the morning,
or both, and an inverter that sleeps through the night still shows yesterday's value for a while after it
wakes. ``DailyCounter`` publishes the energy since *local* midnight (the caller's timezone), whatever the
device does:

- It runs a ``CounterGuard`` on the device's counter: the same impossible-value, spike, drop and reset rules,
  and the device's daily reset is a counter reset like any other (its energy counted once, from 0).
- Its published value is the guard's total minus the total at the last local midnight. The first call of a
  new local day (any reading, even None, and the first after a restart) starts the day at 0, so midnight is
  kept when the inverter sleeps through it or Home Assistant restarts around it.
- Yesterday's value still shown after midnight is the accepted level, so it adds nothing: today reads 0 and
  grows only by what the counter adds. Growth of yesterday's counter that is first seen after midnight, before
  the device's reset (Home Assistant was down in the evening), is yesterday's energy and adds nothing either.
- The device's reset is expected once per local day: the first drop after midnight to a value the device can
  have produced both since midnight and since the accepted value was first seen (a counter restarted from 0
  in between) is taken at once (``Reason.DAILY``), and that value counts (it holds only today's energy). Any
  other drop (a boot-time 0, a stale value) waits as in the guard, and the reset's detection gap is always
  what the new counter shows when that is plausible, or more where power was measured from a reading of
  today on (a device whose clock is hours off resets while the sun shines: the power counts what its old
  counter added after that reading).
- Right after that reset, yesterday's value shown again (the sunrise strobe) is held even where it would
  fit the allowance (a dull day, or a reboot late in the afternoon, leaves a small value).
- The very first reading ever (no restored state) is trusted as today's value once a second one agrees.
- One case cannot be told apart: Home Assistant down across the inverter's wake-up until today's energy has
  passed yesterday's total. A reset followed by growth then looks like growth of yesterday's counter, and
  today's value misses the morning (lifetime counters are not affected).

State: ``to_state()`` / ``restore()`` as the guard's, plus the local day and the total at its start.
"""

from __future__ import annotations

from datetime import date, datetime, time, tzinfo
from typing import Final

from . import _state
from ._state import State, StateError
from .counter import (
    EPSILON_KWH,
    PUBLISHED_DIGITS,
    CounterGuard,
    Decision,
    GuardResult,
    Reason,
    _power_covers,
    _Reading,
    _Streak,
)
from .spec import CounterSpec

STATE_VERSION: Final = 1


class _DailyGuard(CounterGuard):
    """A guard whose counter restarts from 0: its reset is expected once a day, and counts from 0."""

    def __init__(self, spec: CounterSpec) -> None:
        super().__init__(spec)
        self.expect_since: datetime | None = None  # local midnight while the day's reset is still to come
        self._yesterday: float | None = None  # the level the day's reset replaced (a strobe shows it again)

    @property
    def total(self) -> float | None:
        """The unrounded total (the day's base is taken from it)."""
        return self._total

    @property
    def reference_time(self) -> datetime | None:
        """When the accepted level was last read."""
        return None if self._ref is None else self._ref.time

    def arm(self, midnight: datetime) -> None:
        """A new local day began: the device's reset is due, unless its counter is at 0 already."""
        ref = self._ref
        at_zero = ref is None or ref.raw <= 2 * self.spec.width.step_at(ref.raw)
        self.expect_since = None if at_zero else midnight
        self._yesterday = None

    def _restarted_since(self, ref: _Reading) -> datetime:
        """The earliest the counter can have restarted: when its accepted value was first seen (a device
        showing yesterday's value while it already counts repeats that value)."""
        return ref.time if self._since is None else self._since.time

    def _rebase_reason(self, ref: _Reading, streak: _Streak) -> Reason | None:
        since, first, last = self.expect_since, streak.first, streak.last
        if (
            since is not None
            and first.raw < ref.raw
            # restarted from 0 since the level was first seen, it holds at most what the device made since
            and first.raw <= self._allowance(first.raw, first.time - self._restarted_since(ref)) + EPSILON_KWH
            and last.raw <= self._allowance(last.raw, last.time - since) + EPSILON_KWH
        ):
            return Reason.DAILY
        return super()._rebase_reason(ref, streak)

    def _rebase(self, ref: _Reading, streak: _Streak, reason: Reason) -> GuardResult:
        result = super()._rebase(ref, streak, reason)  # its gap is judged while the day's reset is due
        self.expect_since = None
        self._yesterday = ref.raw if reason is Reason.DAILY else None
        return result

    def _judge(self, ref: _Reading, reading: _Reading) -> GuardResult:
        yesterday = self._yesterday
        if (
            yesterday is not None
            and abs(reading.raw - yesterday) <= EPSILON_KWH
            and ref.raw <= 2 * self.spec.width.step_at(ref.raw)
        ):
            # Right after the day's reset the sunrise strobe shows yesterday's value again. After a dull
            # day (or a reboot late in the afternoon) that value fits the allowance; taken as growth, the
            # real counter below it would then be a reset and yesterday's energy counted twice.
            return self._diverge(ref, reading, Reason.TOO_FAST)
        return super()._judge(ref, reading)

    def _gap_kwh(self, ref: _Reading, streak: _Streak) -> float:
        first = streak.first
        cap = self._allowance(first.raw, first.time - self._restarted_since(ref))
        if self.expect_since is not None and first.raw < ref.raw and first.raw <= cap:
            # The day's reset: the new counter holds exactly the energy since. At midnight or wake-up nothing
            # else flowed. A device whose clock is hours off resets while the sun shines, and what its old
            # counter added after the last reading is in no reading: where power was measured from that
            # reading (today's) on, its integral counts the whole gap (the new counter's part included).
            # A reset during the day (a reboot) is judged by the guard's rules (measured power first).
            due = self.expect_since
            if ref.time < due or not _power_covers(ref.mark, first.mark):
                return first.raw  # what flowed before midnight was yesterday's
            measured = min(first.mark.kwh - ref.mark.kwh, self._rate_kwh(first.time - ref.time))
            return max(first.raw, measured)
        return super()._gap_kwh(ref, streak)

    def to_state(self) -> State:
        return {**super().to_state(), "expect_since": _iso(self.expect_since), "yesterday": self._yesterday}

    def restore(self, state: object) -> bool:
        try:
            data = _state.mapping(state)
            expect_since = _state.optional_timestamp(data["expect_since"])
            yesterday = _state.optional_number(data.get("yesterday"))  # absent in states before it was kept
        except (KeyError, StateError):
            return False
        if not super().restore(state):
            return False
        self.expect_since, self._yesterday = expect_since, yesterday
        return True


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


class DailyCounter:
    """Energy since local midnight (kWh) from a device's daily counter. Pure logic: no I/O, no clock."""

    def __init__(self, spec: CounterSpec, timezone: tzinfo) -> None:
        """``timezone``: the plant's local time zone (midnight is local midnight there)."""
        self.spec = spec
        self.timezone = timezone
        self._guard = _DailyGuard(spec)
        self._day: date | None = None
        self._base = 0.0  # the guard's total at the start of the day

    @property
    def value(self) -> float | None:
        """Energy today, kWh (None before the first reading is confirmed)."""
        total = self._guard.total
        if total is None:
            return None
        return round(max(total - self._base, 0.0), PUBLISHED_DIGITS)

    @property
    def day(self) -> date | None:
        """The local day the value belongs to."""
        return self._day

    @property
    def rejected(self) -> int:
        """Readings rejected so far (see ``CounterGuard.rejected``)."""
        return self._guard.rejected

    def update(self, raw: float | None, when: datetime, power_w: float | None = None) -> GuardResult:
        """Judge one reading (kWh) at ``when`` (timezone-aware), as ``CounterGuard.update`` does.

        The result's ``value`` is today's energy. Call it with ``raw=None`` to roll the day over without a
        reading (e.g. right after a restore, before the first poll).
        """
        _state.require_aware(when)
        today = when.astimezone(self.timezone).date()
        if self._day is None:
            self._day = today
        elif today > self._day:
            self._day = today
            self._base = self._guard.total or 0.0
            self._guard.arm(datetime.combine(today, time(), tzinfo=self.timezone))
        guard = self._guard
        total_before, read_before = guard.total, guard.reference_time
        result = guard.update(raw, when, power_w)
        due = guard.expect_since
        if (
            result.decision in (Decision.ACCEPTED, Decision.WRAPPED)
            and due is not None
            and read_before is not None
            and read_before < due
            and total_before is not None
            and guard.total is not None
        ):  # yesterday's counter grew since we last read it, before midnight: yesterday's energy
            self._base += guard.total - total_before
        # The guard's result with today's value (built directly: dataclasses.replace is slow).
        return GuardResult(
            self.value,
            result.decision,
            result.reason,
            result.episode_started,
            result.gap_kwh,
            result.rejected,
        )

    def to_state(self) -> State:
        """A small JSON-safe dict for ``restore``."""
        return {
            "version": STATE_VERSION,
            "day": None if self._day is None else self._day.isoformat(),
            "base": self._base,
            "guard": self._guard.to_state(),
        }

    def restore(self, state: object) -> bool:
        """Continue from a ``to_state`` dict. False (and nothing changed) when it is not a valid state."""
        try:
            data = _state.mapping(state)
            _state.version(data, STATE_VERSION)
            day_text = data["day"]
            day = None if day_text is None else date.fromisoformat(str(day_text))
            base = _state.number(data["base"])
            guard_state = data["guard"]
        except (KeyError, ValueError):  # StateError is a ValueError, as is a bad date
            return False
        guard = _DailyGuard(self.spec)
        if not guard.restore(guard_state):
            return False
        self._guard, self._day, self._base = guard, day, base
        return True
