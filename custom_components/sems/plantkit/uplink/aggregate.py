"""Period aggregation: fresh samples in, one record per device, category and period out.

Periods are aligned to UTC multiples of the resolution (12:00-12:05, 12:05-12:10 at 5 minutes). The work is
split so the event loop does only the cheap part:

- ``PeriodAggregator`` (event loop) adds each sample to its device's open period: count, sum, min and max
  of each measurement; first, last and highest value of each energy counter; the last status; the faults.
  A period closes when a later sample of the device arrives or ``close_due`` passes its end.
- ``RecordBuilder`` (the uplink's worker thread) turns closed periods into data messages: power as the
  period's mean, min and max (``n`` = fresh readings in it); energy as the running total and the delta to
  the previous period's total. Only consented categories are collected at all.

Energy rules: a lifetime counter never goes backwards in a message. Its total is the highest reading of the
period; a period whose readings all stay below the previous total (a boot-time 0, a stale value, or a new
meter) has ``delta: null`` and the previous total stays the reference. A daily counter that drops has reset
at midnight: its delta is the new value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..model import QUANTITY_INFO, Kind, Quantity
from .messages import (
    CATEGORY_QUANTITIES,
    SCHEMA,
    Category,
    DeviceRef,
    UplinkSample,
    device_reference,
    msg_id,
    sample_key,
    timestamp,
)

_DIGITS = 3  # decimals kept: mW, Wh, mV, mA, mHz, m°C, 0.001 %
_MEASUREMENT = "m"
_LIFETIME = "t"
_DAILY = "d"
# A constant (the nameplate power) is summarised like a measurement: its mean is itself.
_KIND_CODES = {
    Kind.MEASUREMENT: _MEASUREMENT,
    Kind.CONSTANT: _MEASUREMENT,
    Kind.LIFETIME_TOTAL: _LIFETIME,
    Kind.DAILY_TOTAL: _DAILY,
}


@dataclass(slots=True)
class _Stat:
    n: int = 0
    total: float = 0.0
    low: float = math.inf
    high: float = -math.inf


@dataclass(slots=True)
class _Counter:
    first: float
    last: float
    high: float


@dataclass(slots=True)
class DevicePeriod:
    """What one device reported during one period (built on the event loop, finished in the worker)."""

    serial: str
    role: str
    manufacturer: str
    model: str
    start: int  # epoch seconds
    end: int
    stats: dict[str, _Stat] = field(default_factory=dict)
    counters: dict[str, _Counter] = field(default_factory=dict)
    status: str | None = None
    faults_last: tuple[str, ...] = ()
    faults_seen: set[str] = field(default_factory=set)
    reported: set[str] = field(default_factory=set)  # every quantity the device reported (plant profile)
    instance: str | None = None  # tells apart devices of one role sharing a serial

    @property
    def key(self) -> str:
        """The device's key within the plant."""
        return sample_key(self.serial, self.role, self.instance)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, to keep an open period across a restart."""
        return {
            "serial": self.serial,
            "role": self.role,
            "instance": self.instance,
            "manufacturer": self.manufacturer,
            "model": self.model,
            "start": self.start,
            "end": self.end,
            "stats": {q: [s.n, s.total, s.low, s.high] for q, s in self.stats.items()},
            "counters": {q: [c.first, c.last, c.high] for q, c in self.counters.items()},
            "status": self.status,
            "faults_last": list(self.faults_last),
            "faults_seen": sorted(self.faults_seen),
            "reported": sorted(self.reported),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DevicePeriod:
        """The inverse of ``to_dict``; raises KeyError/TypeError/ValueError when malformed."""
        return cls(
            serial=str(data["serial"]),
            role=str(data["role"]),
            instance=None if data.get("instance") is None else str(data["instance"]),
            manufacturer=str(data["manufacturer"]),
            model=str(data["model"]),
            start=int(data["start"]),
            end=int(data["end"]),
            stats={
                str(q): _Stat(int(n), float(total), float(low), float(high))
                for q, (n, total, low, high) in data["stats"].items()
            },
            counters={
                str(q): _Counter(float(first), float(last), float(high))
                for q, (first, last, high) in data["counters"].items()
            },
            status=data.get("status"),
            faults_last=tuple(str(code) for code in data.get("faults_last", ())),
            faults_seen={str(code) for code in data.get("faults_seen", ())},
            reported={str(q) for q in data.get("reported", ())},
        )


class PeriodAggregator:
    """Collects samples per device into the open period (event loop side; cheap, no I/O)."""

    def __init__(self, *, categories: Iterable[Category], resolution: int) -> None:
        if resolution <= 0:
            raise ValueError(resolution)
        self.resolution = resolution
        self.categories = frozenset(categories)
        # Quantity value -> kind code, only for consented categories: other values are never even kept.
        self._plan = {
            str(q): _KIND_CODES[QUANTITY_INFO[q].kind]
            for category in self.categories
            for q in CATEGORY_QUANTITIES[category]
        }
        self._want_status = Category.STATUS in self.categories
        self._want_faults = Category.FAULTS in self.categories
        self._want_profile = Category.PLANT_PROFILE in self.categories
        self._open: dict[str, DevicePeriod] = {}

    @property
    def open_periods(self) -> int:
        """Devices with an open period."""
        return len(self._open)

    def add(self, sample: UplinkSample) -> list[DevicePeriod]:
        """Add one sample; returns the device's previous period if this sample closed it.

        A sample older than the device's open period (the clock went back) is dropped.
        """
        at = int(sample.at.timestamp())
        start = at - at % self.resolution
        key = sample_key(sample.device_serial, sample.role, sample.instance)
        period = self._open.get(key)
        closed: list[DevicePeriod] = []
        if period is not None and start != period.start:
            if start < period.start:
                return closed
            closed.append(period)
            period = None
        if period is None:
            period = DevicePeriod(
                serial=sample.device_serial,
                role=sample.role,
                instance=sample.instance,
                manufacturer=sample.manufacturer,
                model=sample.model,
                start=start,
                end=start + self.resolution,
            )
            self._open[key] = period
        self._add(period, sample)
        return closed

    def _add(self, period: DevicePeriod, sample: UplinkSample) -> None:
        # The hot path (every sample of every device): inlined, no calls per value.
        plan = self._plan
        stats = period.stats
        counters = period.counters
        values = sample.values
        if self._want_profile and not period.reported:  # the period's first reading lists what it has
            period.reported.update(q for q, v in values.items() if v is not None)
        for quantity, value in values.items():
            kind = plan.get(quantity)
            if kind is None or value is None or not math.isfinite(value):
                continue
            if kind == _MEASUREMENT:
                stat = stats.get(quantity)
                if stat is None:
                    stats[quantity] = _Stat(1, value, value, value)
                else:
                    stat.n += 1
                    stat.total += value
                    if value < stat.low:
                        stat.low = value
                    elif value > stat.high:
                        stat.high = value
            else:
                counter = counters.get(quantity)
                if counter is None:
                    counters[quantity] = _Counter(value, value, value)
                else:
                    counter.last = value
                    counter.high = max(counter.high, value)
        if self._want_status and sample.status != "unknown":
            period.status = sample.status
        if self._want_faults:
            period.faults_last = tuple(sample.faults)
            period.faults_seen.update(sample.faults)

    def close_due(self, now: datetime) -> list[DevicePeriod]:
        """Close every period that ended at or before ``now``."""
        cutoff = now.timestamp()
        due = [key for key, period in self._open.items() if period.end <= cutoff]
        return [self._open.pop(key) for key in due]

    def snapshot(self) -> list[dict[str, Any]]:
        """The open periods, JSON-safe (kept in the outbox across a restart)."""
        return [period.to_dict() for period in self._open.values()]

    def restore(self, periods: Iterable[Mapping[str, Any]]) -> None:
        """Reopen periods saved by ``snapshot``; unreadable ones are skipped."""
        for data in periods:
            try:
                period = DevicePeriod.from_dict(data)
            except (KeyError, TypeError, ValueError):
                continue
            self._open.setdefault(period.key, period)


@dataclass(frozen=True, slots=True)
class DataRecord:
    """One data message before the outbox numbers it (``seq``) and flags it (``resumed``)."""

    category: Category
    msg_id: str
    body: dict[str, Any]


class RecordBuilder:
    """Turns closed periods into data messages (worker thread; keeps the energy references)."""

    def __init__(
        self,
        *,
        plant: str,
        consent_id: str,
        categories: Iterable[Category],
        device_ref: DeviceRef,
        key: bytes,
    ) -> None:
        self.plant = plant
        self.consent_id = consent_id
        self.categories = frozenset(categories)
        self.device_ref = device_ref
        self._key = key
        self._refs: dict[str, str] = {}
        self._previous: dict[str, dict[str, float]] = {}  # device key -> counter -> last period's total
        self._profile_day: dict[str, str] = {}  # device key -> UTC date of the last plant profile

    def build(self, periods: Iterable[DevicePeriod]) -> list[DataRecord]:
        """The messages of these periods, in category order per device."""
        records: list[DataRecord] = []
        for period in periods:
            records.extend(self._records(period))
        return records

    def _device(self, period: DevicePeriod) -> str:
        key = period.key
        ref = self._refs.get(key)
        if ref is None:
            ref = self._refs[key] = device_reference(period.key, self.device_ref, self._key)
        return ref

    def _records(self, period: DevicePeriod) -> Iterable[DataRecord]:
        device = self._device(period)
        start = timestamp(datetime.fromtimestamp(period.start, UTC))
        end = timestamp(datetime.fromtimestamp(period.end, UTC))
        totals = self._counter_values(period)
        for category in Category:
            if category not in self.categories:
                continue
            values = self._values(category, period, totals, end[:10])
            if values is None:
                continue
            ident = msg_id(self.plant, device, category, end)
            body = {
                "schema": SCHEMA,
                "msg_id": ident,
                "plant": self.plant,
                "device": device,
                "category": str(category),
                "period_start": start,
                "period_end": end,
                "values": values,
                "consent_id": self.consent_id,
            }
            yield DataRecord(category, ident, body)

    def _counter_values(self, period: DevicePeriod) -> dict[str, dict[str, float | None]]:
        previous = self._previous.setdefault(period.key, {})
        values: dict[str, dict[str, float | None]] = {}
        for quantity, counter in period.counters.items():
            daily = QUANTITY_INFO[Quantity(quantity)].kind is Kind.DAILY_TOTAL
            reference = previous.get(quantity, counter.first)
            total = counter.last if daily else counter.high
            delta: float | None = total - reference
            if delta is not None and delta < 0:
                delta = total if daily else None
            if daily or delta is not None:
                previous[quantity] = total
            values[quantity] = {"total": round(total, _DIGITS), "delta": _rounded(delta)}
        return values

    def _values(
        self,
        category: Category,
        period: DevicePeriod,
        totals: Mapping[str, dict[str, float | None]],
        day: str,
    ) -> dict[str, Any] | None:
        if category is Category.FAULTS:
            return {"active": sorted(set(period.faults_last)), "seen": sorted(period.faults_seen)}
        if category is Category.PLANT_PROFILE:
            if self._profile_day.get(period.key) == day:
                return None
            self._profile_day[period.key] = day
            profile: dict[str, Any] = {
                "role": period.role,
                "manufacturer": period.manufacturer,
                "model": period.model,
                "quantities": sorted(period.reported),
            }
            installed = period.stats.get(Quantity.INSTALLED_POWER)
            if installed is not None:
                profile[Quantity.INSTALLED_POWER] = _measured(installed)
            return profile
        values: dict[str, Any] = {}
        for quantity in CATEGORY_QUANTITIES[category]:
            stat = period.stats.get(quantity)
            if stat is not None:
                values[quantity] = _measured(stat)
            elif quantity in totals:
                values[quantity] = totals[quantity]
        if category is Category.STATUS and period.status is not None:
            values["state"] = period.status
        return values or None

    def snapshot(self) -> dict[str, Any]:
        """The energy references and profile days, JSON-safe (kept across a restart)."""
        return {"previous": self._previous, "profile_day": self._profile_day}

    def restore(self, data: Mapping[str, Any]) -> None:
        """Take back what ``snapshot`` saved; malformed parts are ignored."""
        previous = data.get("previous")
        if isinstance(previous, dict):
            self._previous = {
                str(device): {str(q): float(v) for q, v in totals.items() if isinstance(v, int | float)}
                for device, totals in previous.items()
                if isinstance(totals, dict)
            }
        days = data.get("profile_day")
        if isinstance(days, dict):
            self._profile_day = {str(k): str(v) for k, v in days.items()}


def _measured(stat: _Stat) -> dict[str, float | int]:
    """A measurement over the period: mean, min, max and the number of readings."""
    return {
        "mean": round(stat.total / stat.n, _DIGITS),
        "min": round(stat.low, _DIGITS),
        "max": round(stat.high, _DIGITS),
        "n": stat.n,
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, _DIGITS)
