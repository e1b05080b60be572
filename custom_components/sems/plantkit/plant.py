"""The plant as a whole: what its devices add up to, in the same canonical units and signs.

``PlantTotals`` turns the device snapshots of one endpoint into plant values:
- ``pv_power``: what the inverters' PV inputs deliver (production meters where no inverter says);
- ``grid_power``: the grid connection point, + = import (the grid meter's, else the inverter's own view);
- ``battery_power``: all batteries, + = discharging;
- ``load_power``: the house: a consumption meter or the inverter's own load figure where there is one,
  else the inverters' AC output plus the grid exchange (what the house takes from both);
- ``pv_energy_today``: today's production (the inverters' daily counters); it never goes down within a day
  either (an inverter behind a gateway that stops answering is left out of the snapshot, and its share
  would come back as new energy after a dip); an inverter's held reading from before midnight is left out;
- ``self_consumed_energy_today``: today's production that did not go to the grid; it never goes down within
  a day (a counter held by its guard while the other one moves on would make it dip, and Home Assistant
  takes a dip of a daily total for a new day);
- ``installed_power``: the inverters' nameplate power, where they report one;
- ``status``: the worst status of the plant's inverters, or a fault of any of its devices.
Values without a source stay unknown rather than being guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, tzinfo
from typing import Any

from .model import QUANTITY_INFO, DeviceStatus, MeterLocation, Quantity, Role
from .snapshot import DeviceSnapshot, Sample, Source

# Worst first: a plant is as bad as its worst device.
STATUS_ORDER: tuple[DeviceStatus, ...] = (
    DeviceStatus.FAULT,
    DeviceStatus.OFF,
    DeviceStatus.STARTING,
    DeviceStatus.THROTTLED,
    DeviceStatus.STANDBY,
    DeviceStatus.SLEEPING,
    DeviceStatus.RUNNING,
)

PLANT_QUANTITIES: tuple[Quantity, ...] = (
    Quantity.PV_POWER,
    Quantity.GRID_POWER,
    Quantity.BATTERY_POWER,
    Quantity.LOAD_POWER,
    Quantity.PV_ENERGY_TODAY,
    Quantity.SELF_CONSUMED_ENERGY_TODAY,
    Quantity.INSTALLED_POWER,
)


def _sum(samples: Iterable[Sample]) -> Sample | None:
    """The sum of samples (None when none has a value); held or night if any part is."""
    present = [s for s in samples if s.value is not None]
    if not present:
        return None
    total = sum(s.value for s in present if s.value is not None)
    source = next((s.source for s in present if s.source is not Source.FRESH), Source.FRESH)
    return Sample(total, source)


def _values(devices: Iterable[DeviceSnapshot], quantity: Quantity) -> list[Sample]:
    return [d.values[quantity] for d in devices if quantity in d.values]


class PlantTotals:
    """Plant values from device snapshots; remembers the grid export at local midnight and today's
    self-consumption and production so far (state for restarts)."""

    def __init__(self, timezone: tzinfo) -> None:
        self.timezone = timezone
        self._day: date | None = None
        self._export_at_midnight: float | None = None
        self._consumed_today: float | None = None  # the highest value published today
        self._produced_today: tuple[date, float] | None = None  # the highest production published, its day

    @staticmethod
    def provides(devices: Iterable[DeviceSnapshot]) -> frozenset[Quantity]:
        """The plant quantities these devices can give at all."""
        devices = list(devices)
        found: set[Quantity] = set()
        if any(d.identity.role is Role.INVERTER and d.identity.rated_power for d in devices):
            found.add(Quantity.INSTALLED_POWER)
        quantities = {q for d in devices for q in d.quantities}
        for quantity in (
            Quantity.PV_POWER,
            Quantity.GRID_POWER,
            Quantity.BATTERY_POWER,
            Quantity.PV_ENERGY_TODAY,
        ):
            if quantity in quantities:
                found.add(quantity)
        if Quantity.LOAD_POWER in quantities or {Quantity.AC_POWER, Quantity.GRID_POWER} <= quantities:
            found.add(Quantity.LOAD_POWER)
        export = {Quantity.GRID_EXPORT_ENERGY_TOTAL, Quantity.GRID_EXPORT_ENERGY_CALCULATED}
        if Quantity.PV_ENERGY_TODAY in quantities and export & quantities:
            found.add(Quantity.SELF_CONSUMED_ENERGY_TODAY)
        return frozenset(found)

    def totals(self, devices: Mapping[str, DeviceSnapshot], now: datetime) -> dict[Quantity, Sample]:
        """The plant values at ``now`` (timezone-aware) from the endpoint's device snapshots."""
        snapshots = list(devices.values())
        inverters = [d for d in snapshots if d.identity.role is Role.INVERTER]
        meters = [d for d in snapshots if d.identity.role is Role.METER]
        grid_meters = [d for d in meters if d.identity.measures is MeterLocation.GRID]
        out: dict[Quantity, Sample | None] = {
            Quantity.PV_POWER: _sum(_values(inverters, Quantity.PV_POWER))
            or _sum(
                _values(
                    [m for m in meters if m.identity.measures is MeterLocation.PRODUCTION], Quantity.AC_POWER
                )
            ),
            Quantity.GRID_POWER: _sum(_values(grid_meters or inverters, Quantity.GRID_POWER)),
            Quantity.BATTERY_POWER: _sum(_values(snapshots, Quantity.BATTERY_POWER)),
            Quantity.PV_ENERGY_TODAY: self._produced(inverters, now),
        }
        out[Quantity.LOAD_POWER] = self._load(snapshots, inverters, out[Quantity.GRID_POWER])
        out[Quantity.SELF_CONSUMED_ENERGY_TODAY] = self._self_consumed(
            grid_meters or inverters, out[Quantity.PV_ENERGY_TODAY], now
        )
        rated = [d.identity.rated_power for d in inverters if d.identity.rated_power]
        out[Quantity.INSTALLED_POWER] = Sample(float(sum(rated)), Source.FRESH) if rated else None
        return {q: Sample(QUANTITY_INFO[q].tidy(s.value), s.source) for q, s in out.items() if s is not None}

    @staticmethod
    def status(devices: Mapping[str, DeviceSnapshot]) -> DeviceStatus:
        """The worst status of the plant's inverters, or a fault of any device (unknown when none says).

        A battery resting full (standby) or a meter says nothing about whether the plant produces; only
        their faults count. A plant without inverters takes the worst of its devices.
        """
        statuses = {d.status for d in devices.values()}
        if DeviceStatus.FAULT in statuses:
            return DeviceStatus.FAULT
        inverters = {d.status for d in devices.values() if d.identity.role is Role.INVERTER}
        return next((s for s in STATUS_ORDER if s in (inverters or statuses)), DeviceStatus.UNKNOWN)

    @staticmethod
    def _load(
        snapshots: list[DeviceSnapshot], inverters: list[DeviceSnapshot], grid: Sample | None
    ) -> Sample | None:
        consumption = [d for d in snapshots if d.identity.measures is MeterLocation.CONSUMPTION]
        direct = _sum(_values(consumption, Quantity.LOAD_POWER)) or _sum(
            _values(inverters, Quantity.LOAD_POWER)
        )
        if direct is not None:
            return direct
        output = _sum(_values(inverters, Quantity.AC_POWER))
        if output is None or grid is None or grid.value is None or output.value is None:
            return None
        source = output.source if output.source is not Source.FRESH else grid.source
        return Sample(max(output.value + grid.value, 0.0), source)

    def _produced(self, inverters: list[DeviceSnapshot], now: datetime) -> Sample | None:
        today = now.astimezone(self.timezone).date()
        # A silent inverter's last snapshot, held, read before midnight still shows yesterday's energy
        # (kept as the day's highest, it would stand as today's production all day).
        of_today = [
            d
            for d in inverters
            if d.source is not Source.HELD
            or d.read_at is None
            or d.read_at.astimezone(self.timezone).date() >= today
        ]
        produced = _sum(_values(of_today, Quantity.PV_ENERGY_TODAY))
        if produced is None or produced.value is None:
            return produced
        before = self._produced_today
        value = produced.value if before is None or before[0] != today else max(produced.value, before[1])
        self._produced_today = (today, value)
        return Sample(value, produced.source)

    def _self_consumed(
        self, grid_devices: list[DeviceSnapshot], produced: Sample | None, now: datetime
    ) -> Sample | None:
        exports = _values(grid_devices, Quantity.GRID_EXPORT_ENERGY_TOTAL) or _values(
            grid_devices, Quantity.GRID_EXPORT_ENERGY_CALCULATED
        )
        exported = _sum(exports)
        today = now.astimezone(self.timezone).date()
        if exported is None or exported.value is None:
            return None
        if self._day != today or self._export_at_midnight is None:
            self._day, self._export_at_midnight, self._consumed_today = today, exported.value, None
        if produced is None or produced.value is None:
            return None
        exported_today = max(exported.value - self._export_at_midnight, 0.0)
        value = max(produced.value - exported_today, self._consumed_today or 0.0)
        self._consumed_today = value
        return Sample(value, produced.source)

    def to_state(self) -> dict[str, Any]:
        """JSON-safe state: the day, the grid export counted at its start, today's self-consumption, and
        the highest production published with its day."""
        produced = self._produced_today
        return {
            "day": None if self._day is None else self._day.isoformat(),
            "export": self._export_at_midnight,
            "self_consumed": self._consumed_today,
            "produced": None if produced is None else [produced[0].isoformat(), produced[1]],
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue from ``to_state`` (anything else is ignored)."""
        try:
            day = state.get("day")
            export = state.get("export")
            consumed = state.get("self_consumed")  # absent in states written before it was kept
            produced = state.get("produced")  # as is this
            self._day = None if day is None else date.fromisoformat(str(day))
            self._export_at_midnight = None if export is None else float(export)
            self._consumed_today = None if consumed is None else float(consumed)
            if produced is None:
                self._produced_today = None
            else:
                produced_day, produced_value = produced
                self._produced_today = (date.fromisoformat(str(produced_day)), float(produced_value))
        except (TypeError, ValueError):
            self._day, self._export_at_midnight, self._consumed_today = None, None, None
            self._produced_today = None
