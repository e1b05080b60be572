"""A lifetime energy counter you can trust: ``CounterGuard``.

Feed it every reading of one counter (kWh, or None when unreadable) with its timezone-aware time and, where
the device measures it, the power of the same flow (W: PV power for PV energy, import power for import
energy); it returns a ``GuardResult``: the total to publish and a typed ``Decision`` (with a ``Reason`` when a
reading is not taken). The published total never decreases, counts each kWh once, and is ``raw + offset``: the
device's own counter, shifted only after a wrap or a reset.

How a reading is judged (``spec.CounterSpec`` holds the parameters):
- **Impossible** values are rejected at once: NaN or infinite, negative, the counter's all-ones sentinel, more
  than the counter can hold (``CounterWidth.max_kwh``, at most 1 TWh).
- **On the accepted level**: the growth since the last accepted reading lies between 0 and the allowance,
  rated power x elapsed time x margin + 2 counter steps. Taken (``ACCEPTED``). Because the allowance grows
  with the time since the last *accepted* reading, every return after drops to 0, stale backward values,
  spikes, outages and restarts is exact: the energy of the bad stretch arrives with the next good reading.
  A device serving cached values repeats its counter and then catches up in one step; when power is
  measured, the allowance also grows by margin x the energy measured while the value stood still.
- **Wrap**: lower than the accepted level, but raw + modulus is within the allowance: the counter passed its
  width (``WRAPPED``). The offset grows by the modulus; nothing is lost. A reading that continues held
  readings (a lower level that persists) is never a wrap: it is a reset candidate.
- **Off the level** (lower, or a jump larger than the device can produce): held, the published total stays
  (``HELD`` with ``BACKWARD``, ``DROP_TO_ZERO`` or ``TOO_FAST``). Held readings form a *streak* as long as
  they never go down. A reading below the streak waits, as long as it repeats (a boot-time 0 lasts as long
  as the boot), for one that differs: if that one continues the streak, the lower ones were glitches (a
  boot-time 0 while a reset is confirmed); if not, the streak is dropped and a new one starts at the lower
  reading (it is taken without waiting once it has lasted ``max_hold_samples`` readings). A streak becomes
  the new level (a rebase) when
  - ``CONFIRMED``: it has ``confirm_samples`` readings, every step within the allowance, and it grew by at
    least one counter step, by between half and twice the energy integrated from the measured power over the
    same readings (without power: any such growth); a stale value, a boot-time 0 or a torn read never grows,
    so it is never confirmed;
  - ``SUSTAINED``: it has ``max_hold_samples`` readings, growing or not. Nothing is held for ever, and since a
    rebase never counts the jump itself, taking a flat level is harmless. When such a streak grew faster than
    the allowance, the guard learns that rate (``learned_power_w``): the rated power it was given was too low.
  A rebase onto a lower level is a ``RESET`` (reset or replaced counter), onto a higher one ``RELEVELED``.
- **What a rebase counts**: the new level continues from the held total, ``offset = held + gap - first``,
  where ``first`` is the streak's first reading. So the streak's own growth counts, the jump does not (a
  replacement device's factory reading or a firmware's new counter base is no energy of this plant), and the
  *detection gap* between the last accepted reading and ``first`` is estimated (``gap_kwh``), never above the
  allowance:
  1. from the measured power, integrated (trapezoid) when every reading of the gap carried power, from where
     the accepted value was first seen if power covers that far (energy that flowed while a value repeated
     is not in the total yet);
  2. without power, after a drop: ``first`` itself when it is within the allowance (a counter that restarted
     from 0 has counted exactly the energy since its restart; the part the old counter counted after the last
     accepted reading is lost: a lower bound, never a double count);
  3. without power, after a rise: the jump itself when the device can have produced it since its accepted
     value was *first seen* (a value that repeated, e.g. a glitch or a cached read equal to the level after an
     outage, is not evidence that the counter stood still); only a confirmed streak gets here, never a single
     torn read;
  4. otherwise the streak's own rate times the gap's duration.
- **First reading**: with no accepted level (a new guard, no restored state), a reading waits for a second one
  that agrees with it (``UNCONFIRMED``), so a torn or boot-time first reading never becomes the level. A run
  that never goes down but never agrees (the rated power is too low) is taken after ``max_hold_samples``
  readings (``ACCEPTED``, ``SUSTAINED``), and its rate learned.
- **None** (sentinel decoded, device asleep) changes nothing (``NO_VALUE``); a reading not later than the
  previous one is ignored (``OUT_OF_ORDER``).

Counting and logging: ``rejected`` counts impossible readings and held readings that were dropped (a streak
that ends without becoming the level), not those a rebase took. ``episode_started`` is True on the first
reading that is held or rejected after one was taken, so the caller logs once per episode; rebases and wraps
are decisions of their own.

State: ``to_state()`` is a small JSON-safe dict (schema version 1), ``restore()`` takes it back after a
restart and returns False, changing nothing, for anything else. ``seed()`` starts a fresh guard from a value
published earlier (by a guard without state), so the published series never steps back.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final, NamedTuple

from . import _state
from ._state import State, StateError
from .integrator import IntegrationDecision, PowerIntegrator
from .spec import CounterSpec

STATE_VERSION: Final = 1
# Published totals are rounded to 1 Wh / 1000: below any counter's resolution, above float noise.
PUBLISHED_DIGITS: Final = 6
# Counters are compared with this tolerance so float noise (a sum of rounded terms) is not a step back.
EPSILON_KWH: Final = 1e-9
_SECONDS_PER_HOUR: Final = 3600.0
_WATTS_PER_KW: Final = 1000.0


class Decision(StrEnum):
    """What the guard did with one reading."""

    ACCEPTED = "accepted"  # on the accepted level: the total follows the counter
    WRAPPED = "wrapped"  # the counter passed its width and started again: the total continues across
    RESET = "reset"  # a lower level was taken: the counter was reset or replaced
    RELEVELED = "releveled"  # a higher level was taken; its jump was not counted
    HELD = "held"  # not (yet) taken: the total holds; the reason says why
    REJECTED = "rejected"  # an impossible value: the total holds
    NO_VALUE = "no_value"  # the reading was None: nothing to judge
    OUT_OF_ORDER = "out_of_order"  # not later than the previous reading: ignored


class Reason(StrEnum):
    """Why a reading was held or rejected, or why a new level was taken."""

    UNCONFIRMED = "unconfirmed"  # HELD: no accepted level yet; waiting for a reading that agrees
    BACKWARD = "backward"  # HELD: lower than the accepted level
    DROP_TO_ZERO = "drop_to_zero"  # HELD: 0 where the accepted level is not
    TOO_FAST = "too_fast"  # HELD: more growth than the device can produce in the elapsed time
    NOT_FINITE = "not_finite"  # REJECTED: NaN or infinite
    NEGATIVE = "negative"  # REJECTED
    SENTINEL = "sentinel"  # REJECTED: the counter's all-ones "not available" value
    BEYOND_WIDTH = "beyond_width"  # REJECTED: more than the counter can hold
    CONFIRMED = "confirmed"  # RESET/RELEVELED: the new level grew consistently for confirm_samples readings
    SUSTAINED = "sustained"  # RESET/RELEVELED: the new level persisted for max_hold_samples readings
    DAILY = "daily"  # RESET: a daily counter's expected reset after local midnight (DailyCounter)


class GuardResult(NamedTuple):  # a named tuple: one is made per reading of every counter (cheap, immutable)
    """The outcome of one reading.

    ``value``: what to publish, kWh (None only before the first level is confirmed).
    ``gap_kwh``: at a rebase, the estimated energy counted for the detection gap (0 otherwise).
    ``rejected``: readings rejected so far.
    """

    value: float | None
    decision: Decision
    reason: Reason | None = None
    episode_started: bool = False
    gap_kwh: float = 0.0
    rejected: int = 0


# The guard's own records are named tuples: immutable like frozen dataclasses, and several times cheaper to
# make (a few of them are made on every reading of every counter).
class _Mark(NamedTuple):
    """The power integral at one reading: cumulative kWh, its segment, whether this reading carried power."""

    kwh: float
    segment: int
    valid: bool


class _Reading(NamedTuple):
    raw: float
    time: datetime
    mark: _Mark


class _Streak(NamedTuple):
    """Held readings that never went down: a candidate for the new level."""

    first: _Reading
    last: _Reading
    held: int  # readings in the streak
    within: bool  # every step stayed within the allowance
    dip: _Reading | None = None  # a reading below the streak: a glitch, or the start of a new one
    dips: int = 0  # readings since the dip that repeated it (a boot-time 0 lasts as long as the boot)


def _power_covers(first: _Mark, last: _Mark) -> bool:
    """Power was measured at both readings and integrated without a gap between them."""
    return first.valid and last.valid and first.segment == last.segment


def _hours(elapsed: timedelta) -> float:
    return max(elapsed.total_seconds(), 0.0) / _SECONDS_PER_HOUR


class CounterGuard:
    """The glitch guard of one lifetime energy counter (kWh). Pure logic: no I/O, no clock, no asyncio."""

    def __init__(self, spec: CounterSpec) -> None:
        self.spec = spec
        self._power = PowerIntegrator(max_gap=spec.max_power_gap)
        self._total: float | None = None
        self._offset = 0.0
        self._ref: _Reading | None = None
        self._since: _Reading | None = None  # where the accepted value was first seen (it may repeat)
        self._probe: _Reading | None = None
        self._streak: _Streak | None = None
        self._last_time: datetime | None = None
        self._rejected = 0
        self._episode = False
        self._learned_w = 0.0

    @property
    def value(self) -> float | None:
        """The published total, kWh (None before the first level is confirmed)."""
        return None if self._total is None else round(self._total, PUBLISHED_DIGITS)

    @property
    def rejected(self) -> int:
        """Readings rejected so far: impossible ones, and held ones that never became the level."""
        return self._rejected

    @property
    def held(self) -> int:
        """Readings currently held off the accepted level (the pending streak)."""
        return 0 if self._streak is None else self._streak.held

    @property
    def learned_power_w(self) -> float:
        """The growth rate (W) of a sustained level that outgrew the allowance; 0 while the rating holds."""
        return self._learned_w

    @property
    def power_w(self) -> float:
        """The rated power in use: the spec's, or the learned one when larger."""
        return max(self.spec.rated_power_w, self._learned_w)

    def seed(self, published: float) -> bool:
        """Never publish less than ``published``: a value shown before this guard had any state.

        Only a guard without an accepted level takes a seed (False otherwise, or for an impossible value).
        When its first level is lower, the total continues from the seed and counts only the growth.
        """
        if self._ref is not None or not math.isfinite(published) or published < 0:
            return False
        self._total = published if self._total is None else max(self._total, published)
        return True

    def update(self, raw: float | None, when: datetime, power_w: float | None = None) -> GuardResult:
        """Judge one reading of the counter (kWh) taken at ``when`` (timezone-aware).

        ``power_w``: the measured power of the same flow at ``when`` (W, >= 0; negative counts as 0), if any.
        """
        _state.require_aware(when)
        if self._last_time is not None and when <= self._last_time:
            return self._result(Decision.OUT_OF_ORDER)
        self._last_time = when
        mark = self._mark(power_w, when)
        ref = self._ref
        if ref is not None and raw == ref.raw and self._streak is None and self._since is not None:
            # The usual case between two polls: the counter shows the accepted level again. This is what
            # judging it would do (no growth always follows the level; the total and `since` stay).
            self._ref = _Reading(ref.raw, when, mark)
            self._episode = False
            return self._result(Decision.ACCEPTED)
        if raw is None:
            return self._result(Decision.NO_VALUE)
        impossible = self._impossible(raw)
        if impossible is not None:
            self._rejected += 1
            return self._hold(Decision.REJECTED, impossible)
        reading = _Reading(float(raw), when, mark)
        if self._ref is None:
            return self._probation(reading)
        return self._judge(self._ref, reading)

    # --- judging --------------------------------------------------------------------------------------------

    def _mark(self, power_w: float | None, when: datetime) -> _Mark:
        usable = power_w is not None and math.isfinite(power_w) and power_w <= self.power_w * self.spec.margin
        power = self._power
        decision = power.add(max(power_w, 0.0) if usable and power_w is not None else None, when, aware=True)
        valid = decision is IntegrationDecision.INTEGRATED or decision is IntegrationDecision.STARTED
        return _Mark(power.positive_kwh, power.segment, valid)

    def _impossible(self, raw: float) -> Reason | None:
        width = self.spec.width
        if not math.isfinite(raw):
            return Reason.NOT_FINITE
        if raw < 0:
            return Reason.NEGATIVE
        if width.sentinel_kwh is not None and abs(raw - width.sentinel_kwh) <= width.resolution_kwh / 2:
            return Reason.SENTINEL
        if raw > width.max_kwh:
            return Reason.BEYOND_WIDTH
        return None

    def _rate_kwh(self, elapsed: timedelta) -> float:
        """The most the device can deliver in ``elapsed``, kWh."""
        return self.power_w / _WATTS_PER_KW * self.spec.margin * _hours(elapsed)

    def _allowance(self, at: float, elapsed: timedelta) -> float:
        """The largest believable growth in ``elapsed``, kWh: the device's rate plus two counter steps."""
        return self._rate_kwh(elapsed) + 2 * self.spec.width.step_at(at)

    def _follows(self, before: _Reading, after: _Reading, credit: float = 0.0) -> bool:
        growth = after.raw - before.raw
        return -EPSILON_KWH <= growth <= self._allowance(after.raw, after.time - before.time) + credit

    def _credit(self, ref: _Reading) -> float:
        """Extra allowance for a value the device repeated: the energy measured meanwhile, times the margin.

        A device serving cached values repeats its counter for a few polls, then catches up in one step.
        """
        since = None if self._since is None else self._since.mark
        if since is None or not _power_covers(since, ref.mark):
            return 0.0
        return self.spec.margin * max(ref.mark.kwh - since.kwh, 0.0)

    def _probation(self, reading: _Reading) -> GuardResult:
        """No accepted level yet: take a reading the previous one agrees with, or a run of readings that never
        went down for max_hold_samples (then the rated power was too low: learn the run's rate)."""
        probe = self._probe
        run = self._streak  # without a level, the streak is the run of readings that never went down
        if run is not None and reading.raw >= run.last.raw - EPSILON_KWH:
            run = _Streak(run.first, reading, run.held + 1, within=False)
        else:
            run = _Streak(reading, reading, 1, within=True)
        agrees = probe is not None and self._follows(probe, reading)
        if agrees or run.held >= self.spec.max_hold_samples:
            base = probe if probe is not None and agrees else run.first
            if not agrees:
                self._learn(run)
            self._probe = self._streak = None
            floor = self._total  # a seed
            self._offset = 0.0 if floor is None else max(0.0, floor - base.raw)
            return self._accept(reading, Decision.ACCEPTED, None if agrees else Reason.SUSTAINED)
        self._probe, self._streak = reading, run
        if probe is None:  # the very first reading: waiting is no episode
            return self._result(Decision.HELD, Reason.UNCONFIRMED)
        self._rejected += 1  # the reading before, which this one does not agree with
        return self._hold(Decision.HELD, Reason.UNCONFIRMED)

    def _judge(self, ref: _Reading, reading: _Reading) -> GuardResult:
        if reading.raw == ref.raw:  # the usual case between two polls: no growth always follows the level
            return self._accept(reading, Decision.ACCEPTED)
        credit = self._credit(ref)
        if self._follows(ref, reading, credit):
            return self._accept(reading, Decision.ACCEPTED)
        modulus = self.spec.width.modulus_kwh
        # A reading that continues held ones (or the held reading below them) is no wrap: held long enough,
        # a reset just below the modulus would fit the wrap's allowance too.
        streak = self._streak
        continues = streak is not None and any(
            held is not None and reading.raw >= held.raw - EPSILON_KWH for held in (streak.last, streak.dip)
        )
        if reading.raw < ref.raw and modulus is not None and not continues:
            wrapped = reading.raw + modulus - ref.raw
            if 0 <= wrapped <= self._allowance(ref.raw, reading.time - ref.time) + credit:
                self._offset += modulus
                return self._accept(reading, Decision.WRAPPED)
        if reading.raw > ref.raw:
            reason = Reason.TOO_FAST
        elif reading.raw < self.spec.width.step_at(ref.raw):
            reason = Reason.DROP_TO_ZERO
        else:
            reason = Reason.BACKWARD
        return self._diverge(ref, reading, reason)

    def _diverge(self, ref: _Reading, reading: _Reading, reason: Reason) -> GuardResult:
        streak = self._streak
        if streak is not None and reading.raw >= streak.last.raw - EPSILON_KWH:
            # the readings below the streak were glitches (e.g. a boot-time 0)
            self._rejected += streak.dips + (streak.dip is not None)
            within = streak.within and self._follows(streak.last, reading)
            streak = _Streak(streak.first, reading, streak.held + 1, within)
        elif streak is not None and streak.dip is None:
            # One reading below the streak may be a glitch (a boot-time 0 while a reset is confirmed): it
            # starts a new streak only if the next reading does not continue this one. Restarting at once
            # would count the new counter's energy before the glitch twice (in the gap and in the counter).
            self._streak = streak._replace(dip=reading)
            return self._hold(Decision.HELD, reason)
        elif (
            streak is not None
            and streak.dip is not None
            and abs(reading.raw - streak.dip.raw) <= EPSILON_KWH
            and streak.dips + 2 < self.spec.max_hold_samples
        ):
            # The dip repeated: a stale value or a boot-time 0 that lasts never grows, so it still waits
            # (until it has lasted long enough to be taken as a level of its own).
            self._streak = streak._replace(dips=streak.dips + 1)
            return self._hold(Decision.HELD, reason)
        else:
            dip = None if streak is None else streak.dip
            dips = 0 if streak is None else streak.dips
            if streak is not None:
                self._rejected += streak.held
            if dip is not None and reading.raw >= dip.raw - EPSILON_KWH:
                # the dip (and its repeats) began a new level
                streak = _Streak(dip, reading, dips + 2, self._follows(dip, reading))
            else:
                self._rejected += dips + (dip is not None)
                streak = _Streak(reading, reading, 1, True)
        self._streak = streak
        rebase = self._rebase_reason(ref, streak)
        if rebase is not None:
            return self._rebase(ref, streak, rebase)
        return self._hold(Decision.HELD, reason)

    def _rebase_reason(self, ref: _Reading, streak: _Streak) -> Reason | None:
        if streak.held >= self.spec.confirm_samples and streak.within and self._grows_consistently(streak):
            return Reason.CONFIRMED
        if streak.held >= self.spec.max_hold_samples:
            return Reason.SUSTAINED
        return None

    def _grows_consistently(self, streak: _Streak) -> bool:
        growth = streak.last.raw - streak.first.raw
        step = self.spec.width.step_at(streak.last.raw)
        if growth < step - EPSILON_KWH:
            return False
        first, last = streak.first.mark, streak.last.mark
        if _power_covers(first, last):
            expected = last.kwh - first.kwh
            return expected / 2 - 2 * step <= growth <= expected * 2 + 2 * step
        return True

    def _rebase(self, ref: _Reading, streak: _Streak, reason: Reason) -> GuardResult:
        if reason is Reason.SUSTAINED and not streak.within:
            self._learn(streak)
        gap = self._gap_kwh(ref, streak)
        held = self._total if self._total is not None else 0.0
        self._offset = held + gap - streak.first.raw
        self._streak = None
        decision = Decision.RESET if streak.first.raw < ref.raw else Decision.RELEVELED
        return self._accept(streak.last, decision, reason, gap)

    def _learn(self, streak: _Streak) -> None:
        hours = _hours(streak.last.time - streak.first.time)
        if hours > 0:
            rate_w = (streak.last.raw - streak.first.raw) / hours * _WATTS_PER_KW
            self._learned_w = max(self._learned_w, rate_w)

    def _gap_kwh(self, ref: _Reading, streak: _Streak) -> float:
        """The energy of the detection gap, from the last accepted reading to the streak's first."""
        first = streak.first
        # Measured power counts from where the accepted value was first seen if it can: what flowed while it
        # repeated (a cached value, or the fraction of a step) is not in the total yet.
        for start in (self._since, ref):
            if start is not None and _power_covers(start.mark, first.mark):
                energy = first.mark.kwh - start.mark.kwh
                return min(max(energy, 0.0), self._rate_kwh(first.time - start.time))
        elapsed = first.time - ref.time
        cap = self._rate_kwh(elapsed)
        if first.raw < ref.raw and first.raw <= cap + 2 * self.spec.width.step_at(first.raw):
            return first.raw  # a counter that restarted from 0 within the gap
        seen = ref if self._since is None else self._since
        if first.raw > ref.raw and first.raw - ref.raw <= self._allowance(first.raw, first.time - seen.time):
            return first.raw - ref.raw  # it grew while a repeated value stood for it: that growth is energy
        span = _hours(streak.last.time - first.time)
        rate = (streak.last.raw - first.raw) / span if span > 0 else 0.0
        return min(max(rate * _hours(elapsed), 0.0), cap)

    def _accept(
        self, reading: _Reading, decision: Decision, reason: Reason | None = None, gap: float = 0.0
    ) -> GuardResult:
        if self._streak is not None:  # it never became the level: those readings were glitches
            self._rejected += self._streak.held + self._streak.dips + (self._streak.dip is not None)
            self._streak = None
        ref = self._ref
        repeated = ref is not None and abs(reading.raw - ref.raw) <= EPSILON_KWH
        if decision is not Decision.ACCEPTED or not repeated or self._since is None:
            self._since = reading
        self._ref = reading
        total = reading.raw + self._offset
        self._total = total if self._total is None else max(self._total, total)
        self._episode = False
        return self._result(decision, reason, gap_kwh=gap)

    def _hold(self, decision: Decision, reason: Reason) -> GuardResult:
        started = not self._episode
        self._episode = True
        return self._result(decision, reason, episode_started=started)

    def _result(
        self,
        decision: Decision,
        reason: Reason | None = None,
        *,
        episode_started: bool = False,
        gap_kwh: float = 0.0,
    ) -> GuardResult:
        total = self._total
        return GuardResult(
            None if total is None else round(total, PUBLISHED_DIGITS),  # self.value
            decision,
            reason,
            episode_started,
            gap_kwh if gap_kwh.is_integer() else round(gap_kwh, PUBLISHED_DIGITS),  # mostly 0.0
            self._rejected,
        )

    # --- state ----------------------------------------------------------------------------------------------

    def to_state(self) -> State:
        """A small JSON-safe dict for ``restore`` (floats, ints, bools, ISO timestamps)."""
        return {
            "version": STATE_VERSION,
            "total": self._total,
            "offset": self._offset,
            "ref": _reading_state(self._ref),
            "since": _reading_state(self._since),
            "probe": _reading_state(self._probe),
            "streak": None
            if self._streak is None
            else {
                "first": _reading_state(self._streak.first),
                "last": _reading_state(self._streak.last),
                "count": self._streak.held,
                "within": self._streak.within,
                "dip": _reading_state(self._streak.dip),
                "dips": self._streak.dips,
            },
            "last_time": None if self._last_time is None else self._last_time.isoformat(),
            "rejected": self._rejected,
            "episode": self._episode,
            "learned_w": self._learned_w,
            "power": self._power.to_state(),
        }

    def restore(self, state: object) -> bool:
        """Continue from a ``to_state`` dict. False (and nothing changed) when it is not a valid state."""
        power = PowerIntegrator(max_gap=self.spec.max_power_gap)
        try:
            state = _state.mapping(state)
            _state.version(state, STATE_VERSION)
            total = _state.optional_number(state["total"])
            offset = _state.number(state["offset"])
            ref = _parse_reading(state["ref"])
            since = _parse_reading(state["since"])
            probe = _parse_reading(state["probe"])
            streak = _parse_streak(state["streak"])
            last_time = _state.optional_timestamp(state["last_time"])
            rejected = _state.count(state["rejected"])
            episode = _state.flag(state["episode"])
            learned_w = _state.number(state["learned_w"])
            power_state = state["power"]
        except (KeyError, StateError):
            return False
        if not power.restore(power_state):
            return False
        if (ref is not None and total is None) or learned_w < 0:
            return False
        self._total, self._offset, self._ref, self._since = total, offset, ref, since
        self._probe, self._streak = probe, streak
        self._last_time, self._rejected, self._episode = last_time, rejected, episode
        self._learned_w, self._power = learned_w, power
        return True


def _mark_state(mark: _Mark | None) -> list[Any] | None:
    return None if mark is None else [mark.kwh, mark.segment, mark.valid]


def _parse_mark(value: object) -> _Mark | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 3:
        raise StateError("expected a mark [kwh, segment, valid]")
    return _Mark(_state.number(value[0]), _state.count(value[1]), _state.flag(value[2]))


def _reading_state(reading: _Reading | None) -> dict[str, Any] | None:
    if reading is None:
        return None
    return {"raw": reading.raw, "time": reading.time.isoformat(), "mark": _mark_state(reading.mark)}


def _parse_reading(value: object) -> _Reading | None:
    if value is None:
        return None
    data = _state.mapping(value)
    raw = _state.number(data["raw"])
    mark = _parse_mark(data["mark"])
    if raw < 0 or mark is None:
        raise StateError("a reading has a non-negative value and a mark")
    return _Reading(raw, _state.timestamp(data["time"]), mark)


def _parse_streak(value: object) -> _Streak | None:
    if value is None:
        return None
    data = _state.mapping(value)
    first, last = _parse_reading(data["first"]), _parse_reading(data["last"])
    count = _state.count(data["count"])
    if first is None or last is None or count < 1:
        raise StateError("a streak has a first and a last reading")
    dip = _parse_reading(data.get("dip"))  # absent in states written before dips were kept
    dips = _state.count(data.get("dips", 0))
    if dip is None and dips:
        raise StateError("repeats of a dip without the dip")
    return _Streak(first, last, count, _state.flag(data["within"]), dip, dips)
