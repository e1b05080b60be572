"""GoodWe ET/EH/BT/BH controls as data: which setting register carries which canonical control.

Register facts are in ``registers.ET_SETTINGS``. The battery's controls belong to the battery device, the
export limit to the inverter; powers are bounded by the inverter's rated power (35001), the only limit
the device states. The DT/MS/NS PV inverters offer none here.

EMS modes (GoodWe's table "EMS Power Mode", register 47511) and what they mean canonically:
- 1 Auto: self-use, the battery follows the meter;
- 11 Charge-Bat: charge at the set power (47512), PV first, the grid for the rest;
- 12 Discharge-Bat: discharge at the set power;
- 8 Battery standby: the battery neither charges nor discharges;
- 6 Conserve: off-grid reservation, the battery charges from PV only and discharges only off grid.
GoodWe's other modes (import/export AC, buy/sell power, off-grid, stop) have no canonical meaning and
read as unknown.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...control import BatteryMode, Control, ControlBinding, ControlSpec
from ...model import DeviceIdentity, Role
from ..settings import ChoiceSetting, NumberSetting, SwitchSetting
from .registers import ET_SETTINGS

EMS_MODES: dict[BatteryMode, int] = {
    BatteryMode.SELF_USE: 1,
    BatteryMode.FORCE_CHARGE: 11,
    BatteryMode.FORCE_DISCHARGE: 12,
    BatteryMode.HOLD: 8,
    BatteryMode.OFF_GRID_RESERVE: 6,
}
MAX_DEPTH_OF_DISCHARGE = 99  # the battery always keeps at least 1 %


def _rated_power(identity: DeviceIdentity, plant: Sequence[DeviceIdentity]) -> int | None:
    """The inverter's rated power (the battery's own identity does not carry it)."""
    if identity.rated_power:
        return identity.rated_power
    inverter = next(
        (d for d in plant if d.role is Role.INVERTER and d.serial == identity.via_serial and d.rated_power),
        None,
    )
    return None if inverter is None else inverter.rated_power


def battery_controls(identity: DeviceIdentity, plant: Sequence[DeviceIdentity]) -> tuple[ControlBinding, ...]:
    """Battery mode, forced power and minimum SOC of an ET's battery."""
    rated = _rated_power(identity, plant)
    controls: list[ControlBinding] = [
        ChoiceSetting(
            ControlSpec(Control.BATTERY_MODE, options=tuple(EMS_MODES)),
            ET_SETTINGS["ems_mode"].point,
            EMS_MODES,
        ),
        NumberSetting(
            ControlSpec(Control.MIN_SOC, minimum=100 - MAX_DEPTH_OF_DISCHARGE, maximum=100),
            ET_SETTINGS["battery_discharge_depth"].point,
            offset=100,
            sign=-1,
        ),
    ]
    if rated:
        power = ControlSpec(Control.FORCE_POWER, minimum=0, maximum=rated)
        controls.insert(1, NumberSetting(power, ET_SETTINGS["ems_power"].point))
    return tuple(controls)


def inverter_controls(
    identity: DeviceIdentity, plant: Sequence[DeviceIdentity]
) -> tuple[ControlBinding, ...]:
    """The ET's export limit: on/off, and the limit in W (up to the rated power)."""
    rated = _rated_power(identity, plant)
    if not rated:
        return ()
    return (
        SwitchSetting(ControlSpec(Control.EXPORT_LIMIT), ET_SETTINGS["export_limit_enabled"].point),
        NumberSetting(
            ControlSpec(Control.EXPORT_LIMIT_POWER, minimum=0, maximum=rated),
            ET_SETTINGS["export_limit"].point,
        ),
    )
