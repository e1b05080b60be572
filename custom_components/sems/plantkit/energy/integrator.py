"""Energy from power: for devices that report power but no energy counter.

SunSpec batteries (charge and discharge energy), load energy, and the grid import and export of a meter
without counters. ``PowerIntegrator`` adds up power readings (W) between polls into two lifetime totals (kWh):
``positive_kwh`` while the power is positive and ``negative_kwh`` (a positive number) while it is negative.
With the plant model's signs, a grid meter gives import (+) and export (-) and a battery gives discharge (+)
and charge (-). A flow that only goes one way (load, PV) uses ``positive_kwh``.

Decisions, and why:
- **Trapezoid rule** between two readings: the power is taken to change linearly between polls. This is exact
  for a steady or linearly changing power, and unbiased for a power that goes up and down. When the sign
  changes between two readings, the interval is split where the line crosses zero, so import is never counted
  as export.
- **No integration across gaps** longer than ``max_gap`` (the caller passes a few poll intervals). Nobody
  knows what the power did while the device was silent (at night, during an outage, while Home Assistant was
  down), and a guess could invent energy. The reading after a gap starts a new segment (``segment`` counts
  them). A missing reading (``None``) is not a gap by itself: the next reading is integrated from the last one
  as long as the two are at most ``max_gap`` apart.
- **Impossible readings** (NaN, infinity, beyond ``max_power_w``) are rejected and counted; they neither end
  nor start a segment.
- **Monotonic**: each interval adds a non-negative amount to one or both totals, so the totals never decrease.
- **Restorable**: ``to_state`` is a small JSON-safe dict (both totals, the last reading and its time);
  ``restore`` brings it back after a restart, so a short restart (within ``max_gap``) is integrated across, a
  long one is not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from . import _state
from ._state import State, StateError

STATE_VERSION: Final = 1
_WH_PER_KWH: Final = 1000.0
_SECONDS_PER_HOUR: Final = 3600.0


class IntegrationDecision(StrEnum):
    """What one power reading did."""

    INTEGRATED = "integrated"  # the interval since the previous reading was added
    STARTED = "started"  # first reading, or the first after a gap longer than max_gap: nothing added
    NO_VALUE = "no_value"  # None: nothing added; the next reading continues from the last (within max_gap)
    REJECTED = "rejected"  # NaN, infinity or beyond max_power_w: ignored and counted
    OUT_OF_ORDER = "out_of_order"  # not later than the last reading (a duplicate): ignored


@dataclass(frozen=True, slots=True)
class IntegratedEnergy:
    """The totals after one reading, in kWh; ``negative_kwh`` is a positive number."""

    positive_kwh: float
    negative_kwh: float
    decision: IntegrationDecision
    rejected: int  # readings rejected so far (lifetime, restored across restarts)


def trapezoid_kwh(first_w: float, second_w: float, hours: float) -> tuple[float, float]:
    """Energy (positive part, negative part as a positive number) of a power line from first_w to second_w.

    When the line crosses zero, each side gets the triangle on its side of the crossing.
    """
    if first_w >= 0 and second_w >= 0:
        return (first_w + second_w) / 2 * hours / _WH_PER_KWH, 0.0
    if first_w <= 0 and second_w <= 0:
        return 0.0, -(first_w + second_w) / 2 * hours / _WH_PER_KWH
    before = first_w / (first_w - second_w)  # share of the interval before the zero crossing, in (0, 1)
    first_part = abs(first_w) * before * hours / 2 / _WH_PER_KWH
    second_part = abs(second_w) * (1 - before) * hours / 2 / _WH_PER_KWH
    if first_w > 0:
        return first_part, second_part
    return second_part, first_part


class PowerIntegrator:
    """Two monotonic energy totals (kWh) from power readings (W), split by sign. Pure and deterministic."""

    def __init__(self, *, max_gap: timedelta, max_power_w: float = math.inf) -> None:
        """``max_gap``: the longest interval integrated (a few poll intervals).

        ``max_power_w``: readings with a larger magnitude are rejected (the device's rated power times a
        margin; infinity accepts every finite reading).
        """
        if max_gap <= timedelta(0):
            raise ValueError("max_gap must be positive")
        if not max_power_w > 0:
            raise ValueError("max_power_w must be positive")
        self.max_gap = max_gap
        self.max_power_w = max_power_w
        self._positive = 0.0
        self._negative = 0.0
        self._last_w: float | None = None
        self._last_time: datetime | None = None
        self._segment = 0
        self._rejected = 0

    @property
    def positive_kwh(self) -> float:
        """Energy while the power was positive, kWh."""
        return self._positive

    @property
    def negative_kwh(self) -> float:
        """Energy while the power was negative, kWh, as a positive number."""
        return self._negative

    @property
    def segment(self) -> int:
        """How many times integration (re)started: two readings in one segment are joined without a gap."""
        return self._segment

    @property
    def rejected(self) -> int:
        """Readings rejected as impossible, lifetime."""
        return self._rejected

    def update(self, power_w: float | None, when: datetime) -> IntegratedEnergy:
        """Add the interval since the previous reading; ``when`` must be timezone-aware."""
        decision = self.add(power_w, when)
        return IntegratedEnergy(self._positive, self._negative, decision, self._rejected)

    def add(self, power_w: float | None, when: datetime, *, aware: bool = False) -> IntegrationDecision:
        """``update`` for callers that only need the decision (the totals are properties).

        ``aware``: the caller has already checked that ``when`` is timezone-aware (a guard, per reading).
        """
        if not aware:
            _state.require_aware(when)
        if self._last_time is not None and when <= self._last_time:
            return IntegrationDecision.OUT_OF_ORDER
        if power_w is None:
            return IntegrationDecision.NO_VALUE
        if not math.isfinite(power_w) or abs(power_w) > self.max_power_w:
            self._rejected += 1
            return IntegrationDecision.REJECTED
        last_w, last_time = self._last_w, self._last_time
        self._last_w, self._last_time = float(power_w), when
        if last_w is None or last_time is None:
            self._segment += 1
            return IntegrationDecision.STARTED
        elapsed = when - last_time
        if elapsed > self.max_gap:
            self._segment += 1
            return IntegrationDecision.STARTED
        hours = elapsed.total_seconds() / _SECONDS_PER_HOUR
        positive, negative = trapezoid_kwh(last_w, power_w, hours)
        self._positive += positive
        self._negative += negative
        return IntegrationDecision.INTEGRATED

    def to_state(self) -> State:
        """A small JSON-safe dict for ``restore``."""
        return {
            "version": STATE_VERSION,
            "positive_kwh": self._positive,
            "negative_kwh": self._negative,
            "last_w": self._last_w,
            "last_time": None if self._last_time is None else self._last_time.isoformat(),
            "segment": self._segment,
            "rejected": self._rejected,
        }

    def restore(self, state: object) -> bool:
        """Continue from a ``to_state`` dict. False (and nothing changed) when it is not a valid state."""
        try:
            state = _state.mapping(state)
            _state.version(state, STATE_VERSION)
            positive = _state.number(state["positive_kwh"])
            negative = _state.number(state["negative_kwh"])
            last_w = _state.optional_number(state["last_w"])
            last_time = _state.optional_timestamp(state["last_time"])
            segment = _state.count(state["segment"])
            rejected = _state.count(state["rejected"])
        except (KeyError, StateError):
            return False
        if positive < 0 or negative < 0 or (last_w is None) != (last_time is None):
            return False
        self._positive, self._negative = positive, negative
        self._last_w, self._last_time = last_w, last_time
        self._segment, self._rejected = segment, rejected
        return True
