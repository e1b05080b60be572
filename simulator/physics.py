"""A small, deterministic home plant: sun curve, house load, self-consumption battery, counters.

Counters are integrated from power, so lifetime and daily totals stay consistent with what the
power registers showed. Time runs ``speed`` times faster than the wall clock.

The battery and the inverter follow ``PlantState.command``, which the devices set from their control
registers when a client writes them (each device reads its own registers its own way): forced charge
takes power from PV first and the grid for the rest, forced discharge stops at the minimum SOC, hold
keeps the battery still, "conserve" charges from PV surplus only; an export limit curtails PV (then a
forced discharge) until the grid export is within it, an output limit caps the inverter's AC output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(slots=True)
class PlantConfig:
    """Size of the simulated plant."""

    pv_peak_w: float = 8000.0
    battery_capacity_kwh: float = 10.0
    battery_max_w: float = 5000.0
    battery_min_soc: float = 10.0
    base_load_w: float = 450.0
    sunrise_hour: float = 6.0
    sunset_hour: float = 20.0
    nominal_voltage: float = 230.0
    battery_nominal_v: float = 51.2


@dataclass(slots=True)
class PlantCommand:
    """What the plant was told through a device's control registers (defaults: self-use, no limits)."""

    battery: str = "self_use"  # self_use | charge | discharge | hold | conserve
    power: float = 0.0  # W of a forced charge or discharge
    grid_charge: bool = True  # a forced charge may take power from the grid
    min_soc: float | None = None  # % the battery keeps (None: the plant's configuration)
    export_limit: float | None = None  # W at the grid connection point
    output_limit: float | None = None  # W of the inverter's AC output


BATTERY_COMMANDS = ("self_use", "charge", "discharge", "hold", "conserve")


@dataclass(slots=True)
class PlantState:
    """Everything a simulated device shows, in canonical units and signs.

    grid_power + = import; battery_power + = discharge; energies in kWh.
    """

    now: datetime
    pv_power: float = 0.0
    pv1_power: float = 0.0
    pv2_power: float = 0.0
    pv1_voltage: float = 0.0
    pv2_voltage: float = 0.0
    load_power: float = 0.0
    battery_power: float = 0.0
    battery_soc: float = 55.0
    battery_soh: float = 98.0
    battery_voltage: float = 51.2
    battery_temperature: float = 24.0
    ac_power: float = 0.0
    grid_power: float = 0.0
    grid_voltage: float = 230.0
    grid_frequency: float = 50.0
    inverter_temperature: float = 32.0
    pv_energy_total: float = 12345.6
    pv_energy_today: float = 0.0
    ac_energy_total: float = 11800.2
    grid_import_energy_total: float = 4321.0
    grid_export_energy_total: float = 6789.0
    battery_charge_energy_total: float = 2100.0
    battery_discharge_energy_total: float = 1900.0
    load_energy_total: float = 9100.0
    sleeping: bool = False
    faults: set[str] = field(default_factory=set)  # injected fault names, rendered by each device
    command: PlantCommand = field(default_factory=PlantCommand)  # set by devices from their controls


class PlantPhysics:
    """Advances the plant state with simulated time."""

    def __init__(
        self, config: PlantConfig | None = None, start: datetime | None = None, speed: float = 1.0
    ) -> None:
        self.config = config or PlantConfig()
        self.speed = speed
        self.state = PlantState(now=start or datetime(2026, 6, 21, 12, 0, 0))
        self._recompute()

    def sun_factor(self, when: datetime) -> float:
        """0..1 irradiance: a half-sine between sunrise and sunset, with passing clouds."""
        cfg = self.config
        hour = when.hour + when.minute / 60 + when.second / 3600
        if not cfg.sunrise_hour < hour < cfg.sunset_hour:
            return 0.0
        phase = (hour - cfg.sunrise_hour) / (cfg.sunset_hour - cfg.sunrise_hour)
        clouds = 0.85 + 0.15 * math.sin(hour * 7.3) * math.sin(hour * 2.1)
        return max(0.0, math.sin(math.pi * phase) ** 1.5 * clouds)

    def load_at(self, when: datetime) -> float:
        """House load: base load plus morning and evening peaks."""
        hour = when.hour + when.minute / 60
        peaks = 1200 * math.exp(-((hour - 7.5) ** 2) / 0.8) + 1800 * math.exp(-((hour - 19) ** 2) / 2)
        return self.config.base_load_w + peaks + 150 * math.sin(hour * 5.0) ** 2

    def advance(self, wall_seconds: float) -> PlantState:
        """Move simulated time forward by ``wall_seconds * speed`` and integrate the counters."""
        sim_seconds = wall_seconds * self.speed
        state = self.state
        # Integrate in steps of at most one simulated minute so counters follow the curves.
        remaining = sim_seconds
        while remaining > 0:
            step = min(60.0, remaining)
            self._integrate(step)
            new_now = state.now + timedelta(seconds=step)
            if new_now.date() != state.now.date():
                state.pv_energy_today = 0.0
            state.now = new_now
            self._recompute()
            remaining -= step
        return state

    def _integrate(self, seconds: float) -> None:
        s = self.state
        kwh = seconds / 3600 / 1000
        s.pv_energy_total += s.pv_power * kwh
        s.pv_energy_today += s.pv_power * kwh
        s.ac_energy_total += max(0.0, s.ac_power) * kwh
        s.load_energy_total += s.load_power * kwh
        if s.grid_power > 0:
            s.grid_import_energy_total += s.grid_power * kwh
        else:
            s.grid_export_energy_total += -s.grid_power * kwh
        if s.battery_power > 0:
            s.battery_discharge_energy_total += s.battery_power * kwh
        else:
            s.battery_charge_energy_total += -s.battery_power * kwh
        capacity_wh = self.config.battery_capacity_kwh * 1000
        s.battery_soc -= s.battery_power * seconds / 3600 / capacity_wh * 100
        s.battery_soc = min(100.0, max(0.0, s.battery_soc))

    def recompute(self) -> None:
        """Recompute the powers at the current time (after a command changed)."""
        self._recompute()

    def _recompute(self) -> None:
        cfg, s = self.config, self.state
        command = s.command
        sun = self.sun_factor(s.now)
        pv = round(cfg.pv_peak_w * sun, 1)
        min_soc = cfg.battery_min_soc if command.min_soc is None else command.min_soc
        s.sleeping = sun == 0.0 and s.battery_soc <= min_soc
        s.load_power = round(self.load_at(s.now), 1)
        battery = self._battery(pv, s.load_power, min_soc)
        # Limits: curtail PV first, then a discharge, until the export (or the AC output) is within them.
        if command.export_limit is not None:
            excess = -(s.load_power - pv - battery) - command.export_limit
            if excess > 0:
                cut = min(excess, pv)
                pv -= cut
                if excess > cut and battery > 0:
                    battery = max(0.0, battery - (excess - cut))
        if command.output_limit is not None and pv + battery > command.output_limit:
            excess = pv + battery - command.output_limit
            cut = min(excess, pv)
            pv -= cut
            if excess > cut and battery > 0:
                battery = max(0.0, battery - (excess - cut))
        s.pv_power = round(pv, 1)
        s.pv1_power = round(s.pv_power * 0.55, 1)
        s.pv2_power = round(s.pv_power - s.pv1_power, 1)
        s.pv1_voltage = 380.0 + 40 * sun if sun > 0 else 0.0
        s.pv2_voltage = 360.0 + 35 * sun if sun > 0 else 0.0
        s.battery_power = round(battery, 1)
        s.ac_power = round(s.pv_power + s.battery_power, 1)
        s.grid_power = round(s.load_power - s.ac_power, 1)
        s.battery_voltage = round(cfg.battery_nominal_v - 2.0 + 4.0 * s.battery_soc / 100, 2)
        s.inverter_temperature = round(28.0 + 20 * sun + abs(s.battery_power) / 1000, 1)
        s.grid_frequency = round(50.0 + 0.02 * math.sin(s.now.minute), 2)
        s.grid_voltage = round(cfg.nominal_voltage + 3 * math.sin(s.now.second / 9.0), 1)

    def _battery(self, pv: float, load: float, min_soc: float) -> float:
        """Battery power (+ = discharge) as commanded, within its rate, its SOC and the minimum SOC."""
        cfg, s = self.config, self.state
        command = s.command
        surplus = pv - load
        can_charge, can_discharge = s.battery_soc < 100.0, s.battery_soc > min_soc
        if command.battery == "charge":
            power = min(command.power, cfg.battery_max_w)
            if not command.grid_charge:
                power = min(power, max(0.0, surplus))
            return -power if can_charge else 0.0
        if command.battery == "discharge":
            return min(command.power, cfg.battery_max_w) if can_discharge else 0.0
        if command.battery == "hold":
            return 0.0
        if surplus > 0 and can_charge:
            return -min(surplus, cfg.battery_max_w)
        if surplus < 0 and can_discharge and command.battery != "conserve":
            return min(-surplus, cfg.battery_max_w)
        return 0.0
