"""Huawei SUN2000 controls: the LUNA2000's battery mode and end-of-discharge SOC, the inverter's export limit.

Register facts are in ``registers.SETTINGS`` (with their sources). What each means canonically:

- Battery mode (battery), several registers at once (``StorageMode``):
  - self-use: forcible charge/discharge 47100 = 0 (stop; only while a forced mode may run, as 47100
    cannot be read), working mode 47086 = 2 (maximise self consumption), charge from grid 47087 = 0; it
    reads as self-use while the storage runs "maximise self consumption" (37006 = 4);
  - forced charge / forced discharge: setting mode 47246 = 0 (duration), period 47083 = 1440 minutes (the
    longest the document allows: the device itself ends a forced mode after a day), the power in 47247
    (charge) or 47249 (discharge) with the other one 0, for a charge 47087 = 1 (from PV first, the grid
    for the rest), then 47100 = 1 (charge) or 2 (discharge). 47100 is write only, so the mode reads back
    from the storage's running mode (37006 = 1, forcible charge/discharge) and which of the two powers is
    set. The forced power travels with the mode (``CarriedPower`` shows and changes it); its limit is the
    maximum charging power 47075 (a discharge is also kept within the maximum discharging power 47077).
  - Hold and off-grid reserve are not offered: no documented register means either.
- Minimum SOC (battery): the end-of-discharge SOC 47082, 0..20 % (the range the SUN2000 user manuals
  give for "End-of-discharge SOC").
- Export limit (inverter, only with a power meter: Huawei limits the feed-in at the meter): active power
  control 47415, 6 (power-limited grid connection, kW) is on, 0 (unlimited) off; other modes (zero-power
  grid connection, DI scheduling, a limit in %) read as unknown. The limit is 47416, in W, up to the
  inverter's rated power (30073).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ...control import BatteryMode, Control, ControlBinding, ControlSpec, ControlValue, RegisterWrite
from ...exceptions import ControlError
from ...model import DeviceIdentity, Role
from ...registers import Point, RawValue
from ..settings import CarriedPower, NumberSetting, SwitchSetting, word_write
from .registers import SETTINGS

# 47086 working mode settings and 37006 unit 1 working mode.
MAXIMISE_SELF_CONSUMPTION = 2
RUNNING_FORCIBLE = 1
RUNNING_SELF_CONSUMPTION = 4
# 47100 forcible charge/discharge and 47246 its setting mode.
FORCIBLE_STOP, FORCIBLE_CHARGE, FORCIBLE_DISCHARGE = 0, 1, 2
SETTING_MODE_DURATION = 0
FORCIBLE_PERIOD = 1440  # minutes: the longest forced mode the document allows
# 47087 charge from grid; 47415 active power control.
GRID_CHARGING_OFF, GRID_CHARGING_ON = 0, 1
UNLIMITED, POWER_LIMITED_KW = 0, 6
MAX_END_OF_DISCHARGE = 20  # %
MODE_SPEC = ControlSpec(
    Control.BATTERY_MODE,
    options=(BatteryMode.SELF_USE, BatteryMode.FORCE_CHARGE, BatteryMode.FORCE_DISCHARGE),
)


def _point(key: str) -> Point:
    return SETTINGS[key].point


def _points(*keys: str) -> tuple[Point, ...]:
    return tuple(_point(key) for key in keys)


@dataclass(frozen=True, slots=True)
class StorageMode(ControlBinding):
    """The battery mode (see the module docstring): several registers, the command register written last."""

    spec: ControlSpec = MODE_SPEC

    @property
    def points(self) -> Sequence[Point]:
        return _points(
            "unit1_working_mode",
            "working_mode",
            "charge_from_grid",
            "forcible_setting_mode",
            "forcible_period",
            "forcible_charge_power",
            "forcible_discharge_power",
            "max_charging_power",
            "max_discharging_power",
        )

    @property
    def write_only(self) -> Sequence[Point]:
        return _points("forcible_command")

    def power_spec_for(
        self, raw: Mapping[str, RawValue], mode: BatteryMode | None = None
    ) -> ControlSpec | None:
        """The forced power's limits: 1 W..the maximum charging power, or the maximum discharging power in
        a forced discharge (None: the device does not say). A forced mode at 0 W is no mode the storage
        reports back (it reads as one someone else set up)."""
        discharging = (mode or self.decode(raw)) is BatteryMode.FORCE_DISCHARGE
        maximum = _positive(raw, "max_discharging_power" if discharging else "max_charging_power")
        return None if maximum is None else ControlSpec(Control.FORCE_POWER, minimum=1, maximum=maximum)

    def decode(self, raw: Mapping[str, RawValue]) -> BatteryMode | None:
        running = raw.get("unit1_working_mode")
        if running == RUNNING_FORCIBLE:
            charge, discharge = raw.get("forcible_charge_power"), raw.get("forcible_discharge_power")
            if isinstance(charge, int) and charge > 0 and discharge == 0:
                return BatteryMode.FORCE_CHARGE
            if isinstance(discharge, int) and discharge > 0 and charge == 0:
                return BatteryMode.FORCE_DISCHARGE
            return None  # a forced mode someone else set up: no canonical meaning
        if running == RUNNING_SELF_CONSUMPTION and raw.get("working_mode") == MAXIMISE_SELF_CONSUMPTION:
            return BatteryMode.SELF_USE
        return None

    def forced_power(self, raw: Mapping[str, RawValue]) -> float | None:
        """The power of the forced mode the registers hold (None outside one)."""
        mode = self.decode(raw)
        key = (
            "forcible_charge_power"
            if mode is BatteryMode.FORCE_CHARGE
            else "forcible_discharge_power"
            if mode is BatteryMode.FORCE_DISCHARGE
            else None
        )
        value = None if key is None else raw.get(key)
        return float(value) if isinstance(value, int) else None

    def encode(
        self, value: ControlValue, raw: Mapping[str, RawValue], power: float | None = None
    ) -> tuple[RegisterWrite, ...]:
        command = _point("forcible_command")
        if value is BatteryMode.SELF_USE:
            # The command cannot be read, so it is written only where a forced mode may be running.
            forced = raw.get("unit1_working_mode") in (RUNNING_FORCIBLE, None)
            return (
                *((word_write(command, FORCIBLE_STOP),) if forced else ()),
                word_write(_point("working_mode"), MAXIMISE_SELF_CONSUMPTION),
                word_write(_point("charge_from_grid"), GRID_CHARGING_OFF),
            )
        if value not in (BatteryMode.FORCE_CHARGE, BatteryMode.FORCE_DISCHARGE):
            raise ControlError(f"the SUN2000 has no mode {value}", str(self.control))
        charging = value is BatteryMode.FORCE_CHARGE
        maximum = _positive(raw, "max_charging_power" if charging else "max_discharging_power")
        if maximum is None:
            raise ControlError("the storage reports no maximum power", str(self.control))
        if power is None:  # keep the power of the same forced mode, else the full rate
            current = self.forced_power(raw) if self.decode(raw) is value else None
            power = maximum if current is None else current
        watts = round(min(maximum, max(0.0, power)))
        writes = [
            word_write(_point("forcible_setting_mode"), SETTING_MODE_DURATION),
            word_write(_point("forcible_period"), FORCIBLE_PERIOD),
            word_write(_point("forcible_charge_power"), watts if charging else 0),
            word_write(_point("forcible_discharge_power"), 0 if charging else watts),
        ]
        if charging:
            writes.append(word_write(_point("charge_from_grid"), GRID_CHARGING_ON))
        writes.append(word_write(command, FORCIBLE_CHARGE if charging else FORCIBLE_DISCHARGE))
        return tuple(writes)


def _positive(raw: Mapping[str, RawValue], key: str) -> float | None:
    value = raw.get(key)
    return float(value) if isinstance(value, int) and value > 0 else None


def battery_controls(identity: DeviceIdentity, plant: Sequence[DeviceIdentity]) -> tuple[ControlBinding, ...]:
    """Battery mode (carrying its forced power) and minimum SOC of the LUNA2000."""
    mode = StorageMode()
    return (
        mode,
        CarriedPower(mode),
        NumberSetting(
            ControlSpec(Control.MIN_SOC, minimum=0, maximum=MAX_END_OF_DISCHARGE),
            SETTINGS["discharge_cutoff_soc"].point,
            scale=SETTINGS["discharge_cutoff_soc"].scale,
        ),
    )


def inverter_controls(
    identity: DeviceIdentity, plant: Sequence[DeviceIdentity]
) -> tuple[ControlBinding, ...]:
    """The export limit: on/off, and the limit in W (up to the rated power); needs the inverter's meter."""
    rated = identity.rated_power
    has_meter = any(d.role is Role.METER and d.via_serial == identity.serial for d in plant)
    if not rated or not has_meter:
        return ()
    limit = SETTINGS["max_feed_in_power"]
    return (
        SwitchSetting(
            ControlSpec(Control.EXPORT_LIMIT),
            SETTINGS["active_power_control_mode"].point,
            on=POWER_LIMITED_KW,
            off=UNLIMITED,
        ),
        NumberSetting(
            ControlSpec(Control.EXPORT_LIMIT_POWER, minimum=0, maximum=rated), limit.point, limit.scale
        ),
    )
