"""One device's energy books: every counter it reports guarded, and what it lacks integrated from power.

``DeviceLedger`` takes each fresh reading of a device and returns the energy values to publish:
- every lifetime counter through its ``CounterGuard`` (width from the device's profile, rated power from
  the device or its role's default, the power of the same flow as evidence);
- the daily counter (PV energy today) through a ``DailyCounter`` in the plant's time zone;
- where the device has a power but no counter for it (a SunSpec battery without energy registers, a
  meter without counters), two "calculated" totals integrated from that power, split by sign.

Held or rejected readings are logged once per episode, resets, relevels and wraps as they happen, naming
the device (never its serial). The state of all of it is one JSON-safe dict (``to_state``/``restore``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, Final, NamedTuple

from ..model import QUANTITY_INFO, DeviceReading, Kind, Quantity
from .counter import CounterGuard, Decision, GuardResult
from .daily import DailyCounter
from .integrator import PowerIntegrator
from .spec import CounterSpec, CounterWidth

_LOGGER = logging.getLogger(__name__)

STATE_VERSION: Final = 1
# Counters whose profile does not say how they are stored: a Wh-resolution number that never wraps.
DEFAULT_WIDTH: Final = CounterWidth(resolution_kwh=0.001)
# Power readings further apart than this many poll intervals, and than MIN_MAX_GAP (three polls at GoodWe's
# normal 30 s), are not integrated (a gap, not a line). The floor: a failed poll at the fast preset (5 s)
# leaves readings 15-20 s apart, a line the normal pace integrates; refusing it lost every failed poll's
# energy.
MAX_GAP_POLLS: Final = 3
MIN_MAX_GAP: Final = timedelta(seconds=90)
# A published total that grew by more than this share of itself since it was last marked asks to be written
# (``DeviceLedger.outgrown``). A restart continues from the books last written: a calculated total at once, a
# counter while the device shows a boot-time 0 (a power cut reboots it too). Home Assistant's statistics take
# a drop of more than 10 % for a new meter and count the whole total again, which a young total (a calculated
# one's first days, today's energy in the morning) would meet within the regular 5 minutes between writes.
GROWTH_TO_WRITE: Final = 0.05

type Values = Mapping[Quantity, float | None]


def _positive(value: float | None) -> float | None:
    return None if value is None else max(value, 0.0)


def _negative(value: float | None) -> float | None:
    return None if value is None else max(-value, 0.0)


# The power of the flow each counter counts (W, >= 0): the guard's evidence of how much it may grow.
FLOW_POWER: Final[Mapping[Quantity, Callable[[Values], float | None]]] = {
    Quantity.PV_ENERGY_TOTAL: lambda v: _positive(v.get(Quantity.PV_POWER)),
    Quantity.PV_ENERGY_TODAY: lambda v: _positive(v.get(Quantity.PV_POWER)),
    Quantity.AC_ENERGY_TOTAL: lambda v: _positive(v.get(Quantity.AC_POWER)),
    Quantity.GRID_IMPORT_ENERGY_TOTAL: lambda v: _positive(v.get(Quantity.GRID_POWER)),
    Quantity.GRID_EXPORT_ENERGY_TOTAL: lambda v: _negative(v.get(Quantity.GRID_POWER)),
    Quantity.BATTERY_DISCHARGE_ENERGY_TOTAL: lambda v: _positive(v.get(Quantity.BATTERY_POWER)),
    Quantity.BATTERY_CHARGE_ENERGY_TOTAL: lambda v: _negative(v.get(Quantity.BATTERY_POWER)),
    Quantity.LOAD_ENERGY_TOTAL: lambda v: _positive(v.get(Quantity.LOAD_POWER)),
}


@dataclass(frozen=True, slots=True)
class Derived:
    """Totals integrated from a power where the device has none of ``counters``: + and - flow."""

    power: Quantity
    positive: Quantity
    negative: Quantity | None
    counters: frozenset[Quantity]


DERIVED: Final[tuple[Derived, ...]] = (
    Derived(
        Quantity.GRID_POWER,
        Quantity.GRID_IMPORT_ENERGY_CALCULATED,
        Quantity.GRID_EXPORT_ENERGY_CALCULATED,
        frozenset({Quantity.GRID_IMPORT_ENERGY_TOTAL, Quantity.GRID_EXPORT_ENERGY_TOTAL}),
    ),
    Derived(
        Quantity.BATTERY_POWER,
        Quantity.BATTERY_DISCHARGE_ENERGY_CALCULATED,
        Quantity.BATTERY_CHARGE_ENERGY_CALCULATED,
        frozenset({Quantity.BATTERY_CHARGE_ENERGY_TOTAL, Quantity.BATTERY_DISCHARGE_ENERGY_TOTAL}),
    ),
    Derived(
        Quantity.LOAD_POWER,
        Quantity.LOAD_ENERGY_CALCULATED,
        None,
        frozenset({Quantity.LOAD_ENERGY_TOTAL}),
    ),
)


def max_gap_for(poll_interval: timedelta) -> timedelta:
    """The longest interval between two power readings that calculated totals integrate across."""
    return max(poll_interval * MAX_GAP_POLLS, MIN_MAX_GAP)


def derived_for(provides: frozenset[Quantity]) -> tuple[Derived, ...]:
    """The calculated totals a device with these quantities gets."""
    return tuple(d for d in DERIVED if d.power in provides and not d.counters & provides)


def calculated(provides: frozenset[Quantity]) -> frozenset[Quantity]:
    """The calculated quantities a device with these quantities gets."""
    found: set[Quantity] = set()
    for derived in derived_for(provides):
        found.add(derived.positive)
        if derived.negative is not None:
            found.add(derived.negative)
    return frozenset(found)


class Entry(NamedTuple):
    """One published energy value and whether the reading behind it was taken (False: held)."""

    value: float | None
    taken: bool


class DeviceLedger:
    """The energy books of one device (see the module docstring)."""

    def __init__(
        self,
        name: str,
        rated_power: float,
        widths: Mapping[Quantity, CounterWidth],
        provides: frozenset[Quantity],
        *,
        timezone: tzinfo,
        poll_interval: timedelta,
    ) -> None:
        """``name``: how logs name the device. ``rated_power``: W (see ``spec.rated_power_w``).
        ``widths``: how the device stores each counter (missing: ``DEFAULT_WIDTH``)."""
        self.name = name
        self._rated_power = rated_power
        self._widths = widths
        self._timezone = timezone
        self._guards: dict[Quantity, CounterGuard] = {}
        self._daily: dict[Quantity, DailyCounter] = {}
        for quantity in provides:
            spec = CounterSpec(widths.get(quantity, DEFAULT_WIDTH), rated_power)
            kind = QUANTITY_INFO[quantity].kind
            if kind is Kind.LIFETIME_TOTAL:
                self._guards[quantity] = CounterGuard(spec)
            elif kind is Kind.DAILY_TOTAL:
                self._daily[quantity] = DailyCounter(spec, timezone)
        self._derived = derived_for(provides)
        self._calculated = calculated(provides)
        self._quantities = frozenset({*self._guards, *self._daily}) | self._calculated
        # Every counter with the power of its flow, in the order they are recorded.
        counters: list[tuple[Quantity, CounterGuard | DailyCounter]] = [
            *self._guards.items(),
            *self._daily.items(),
        ]
        self._counters = tuple((q, counter, FLOW_POWER.get(q, _none)) for q, counter in counters)
        self.waiting = False  # a counter the device reports has no confirmed level yet
        # The last record held a counter for the first time in an episode, or rebased one: its published
        # total no longer follows from the raw counter, so a restart from older state would show less.
        self.turned = False
        # The last record saw a published total outgrow its mark by more than GROWTH_TO_WRITE: a restart
        # from older state would show that much less (10 % less is a new meter to the statistics). It comes
        # about 60 times as a total grows from 1 to 20 kWh, whatever the device does.
        self.outgrown = False
        # Published totals when first seen (after a start or a drop) or when they last outgrew their mark.
        self._marks: dict[Quantity, float] = {}
        max_gap = max_gap_for(poll_interval)
        self._integrators = {
            d.power: PowerIntegrator(max_gap=max_gap, max_power_w=rated_power * 2) for d in self._derived
        }
        # Everything that counts rejected readings (restore() refills these objects, never replaces them).
        self._parts: tuple[CounterGuard | DailyCounter | PowerIntegrator, ...] = (
            *self._guards.values(),
            *self._daily.values(),
            *self._integrators.values(),
        )

    @property
    def quantities(self) -> frozenset[Quantity]:
        """The energy quantities these books publish (counters and calculated totals)."""
        return self._quantities

    @property
    def rejected(self) -> int:
        """Readings rejected so far over all the device's counters and powers (lifetime)."""
        return sum([part.rejected for part in self._parts])

    def record(
        self, reading: DeviceReading, when: datetime, *, integrate: bool = True
    ) -> dict[Quantity, Entry]:
        """The energy values to publish for one fresh reading taken at ``when`` (timezone-aware).

        ``integrate=False`` only confirms counters (a first read followed at once by a second one): the
        calculated totals then start from the second reading.
        """
        values = reading.values
        out: dict[Quantity, Entry] = {}
        self.waiting = self.turned = self.outgrown = False
        for quantity, counter, flow_power in self._counters:
            raw = values.get(quantity)
            result = counter.update(raw, when, flow_power(values))
            if result.episode_started or result.decision in _REBASES:
                self._log(quantity, result)
                self.turned = True
            self.waiting |= raw is not None and result.value is None
            # A counter the device does not report now (a sentinel, a refused register) is unknown, as
            # every value is; its total stands in the guard for the next reading.
            decision = result.decision  # the reading was taken unless held or rejected
            # Published at the unit's resolution: an offset carried across a wrap or a reset must not
            # show as 6843.821863 kWh.
            out[quantity] = Entry(
                None if raw is None else QUANTITY_INFO[quantity].tidy(result.value),
                decision is not Decision.HELD and decision is not Decision.REJECTED,
            )
        if integrate:
            self.integrate(reading, when)
        for quantity, total in self._calculated_totals():
            out[quantity] = Entry(QUANTITY_INFO[quantity].tidy(total), True)
        for quantity, entry in out.items():
            mark = self._marks.get(quantity)
            if entry.value is None:
                continue
            if mark is None or entry.value < mark:  # the first value seen, or a new day
                self._marks[quantity] = entry.value
            elif entry.value > mark * (1 + GROWTH_TO_WRITE):
                self._marks[quantity] = entry.value
                self.outgrown = True
        return out

    def _calculated_totals(self) -> list[tuple[Quantity, float]]:
        """Every calculated total as it stands (kWh)."""
        totals = []
        for derived in self._derived:
            integrator = self._integrators[derived.power]
            totals.append((derived.positive, integrator.positive_kwh))
            if derived.negative is not None:
                totals.append((derived.negative, integrator.negative_kwh))
        return totals

    def set_poll_interval(self, interval: timedelta) -> None:
        """Follow a new polling interval: calculated totals integrate across up to MAX_GAP_POLLS of them
        (``max_gap_for``)."""
        for integrator in self._integrators.values():
            integrator.max_gap = max_gap_for(interval)

    def integrate(self, reading: DeviceReading, when: datetime) -> None:
        """Add a reading's powers to the calculated totals (``record`` does it unless told not to)."""
        for derived in self._derived:
            self._integrators[derived.power].update(reading.values.get(derived.power), when)

    def standing(self, when: datetime) -> dict[Quantity, float | None]:
        """What the books show without a reading (the device sleeps or has not answered yet): totals as
        they stand, today's energy rolled over at midnight."""
        out: dict[Quantity, float | None] = {q: g.value for q, g in self._guards.items()}
        for quantity, daily in self._daily.items():
            out[quantity] = daily.update(None, when).value
        out.update(self._calculated_totals())
        # As ``record`` publishes them: a stand-in must not dip below the value shown before it.
        return {quantity: QUANTITY_INFO[quantity].tidy(value) for quantity, value in out.items()}

    def seed(self, quantity: Quantity, published: float) -> None:
        """Start a counter's guard from a value published before the guard kept state (an upgrade)."""
        guard = self._guards.get(quantity)
        if guard is not None and guard.value is None:
            guard.seed(published)

    def _log(self, quantity: Quantity, result: GuardResult) -> None:
        if result.episode_started:
            _LOGGER.info(
                "%s %s: a reading was %s (%s); keeping %s until the counter reads right again",
                self.name,
                quantity,
                result.decision,
                result.reason,
                result.value,
            )
        elif result.decision in _REBASES:
            _LOGGER.info(
                "%s %s: counter %s (%s); the total continues at %s, %.3f kWh counted for the gap",
                self.name,
                quantity,
                result.decision,
                result.reason,
                result.value,
                result.gap_kwh,
            )

    def to_state(self) -> dict[str, Any]:
        """JSON-safe state of every counter and integrator."""
        return {
            "version": STATE_VERSION,
            "guards": {str(q): g.to_state() for q, g in self._guards.items()},
            "daily": {str(q): d.to_state() for q, d in self._daily.items()},
            "integrators": {str(p): i.to_state() for p, i in self._integrators.items()},
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue from ``to_state``; parts that do not fit (another version, a changed device) are left
        fresh. A lifetime counter whose state does not fit but still says what it published is seeded from
        that total (``CounterGuard.seed``): after a reset or a wrap the raw counter is not the published
        total, and Home Assistant's statistics take a drop to it as a new meter."""
        if state.get("version") != STATE_VERSION:
            return
        for section, books in (
            ("guards", self._guards),
            ("daily", self._daily),
            ("integrators", self._integrators),
        ):
            stored = state.get(section)
            if not isinstance(stored, dict):
                continue
            for quantity, part in books.items():
                part_state = stored.get(str(quantity))
                if part_state is None or part.restore(part_state) or not isinstance(part, CounterGuard):
                    continue
                published = part_state.get("total") if isinstance(part_state, dict) else None
                if isinstance(published, int | float) and not isinstance(published, bool):
                    part.seed(float(published))


_REBASES: Final = frozenset({Decision.RESET, Decision.RELEVELED, Decision.WRAPPED})


def _none(values: Values) -> float | None:
    return None
