"""Simulated GoodWe inverters: an ET hybrid (with battery and smart meter) and a DT PV-only inverter.

Only the blocks GoodWe's tools read exist (35000x33, 35100x125, 36000x45, 37000x24 on the ET; 30001x40,
30100x73 on the DT): a read that strays outside them is refused with "illegal data address", as on a real
inverter. Values go in through the profile's own points, so the codec runs in both directions, and with
GoodWe's signs: grid power + = export (the canonical state counts + = import), battery + = discharge.

Device faults (``simulator.faults.DEVICE_FAULTS`` names in ``PlantState.faults``):
- ``over_temperature``: work mode "Fault" and error bit 13 (over temperature).
- ``ground_fault``: work mode "Fault" and error bit 10 (ground current).
- ``grid_over_voltage``: error bit 17 (Vac failure).
- ``grid_loss``: error bit 9 (utility loss) and grid mode "not connected".
- ``bms_alarm``: BMS alarm bit 2 (cell temperature high) and BMS warning bit 8 (cell imbalance).
- ``meter_comm_lost``: the ET loses its meter (36004 meter_comm_status = 0).
- ``sentinel_values``: energy counters and SOC read GoodWe's "undefined" all-ones value.
"""

from __future__ import annotations

from datetime import datetime

from custom_components.sems.plantkit.profiles.goodwe import (
    DT_UNIT_ID,
    ET_UNIT_ID,
    DtInfo,
    DtRun,
    EtBattery,
    EtInfo,
    EtMeter,
    EtRun,
)
from custom_components.sems.plantkit.registers import DataType, Point, RegisterKind

from ..device import SimDevice
from ..image import RegisterImage
from ..physics import PlantState

HOLDING = RegisterKind.HOLDING

FAULT_INVERTER = "over_temperature"
FAULT_GROUND = "ground_fault"
FAULT_GRID_OVER_VOLTAGE = "grid_over_voltage"
FAULT_GRID_LOSS = "grid_loss"
FAULT_BATTERY_ALARM = "bms_alarm"
FAULT_METER_OFFLINE = "meter_comm_lost"
FAULT_SENTINEL_VALUES = "sentinel_values"
ERROR_BIT_GROUND_CURRENT = 10
ERROR_BIT_VAC_FAILURE = 17
TRIPPING_FAULTS = {FAULT_INVERTER: 13, FAULT_GROUND: ERROR_BIT_GROUND_CURRENT}

ERROR_BIT_OVER_TEMPERATURE = 13
ERROR_BIT_UTILITY_LOSS = 9
BMS_ALARM_CELL_TEMP_HIGH = 2
BMS_WARNING_CELL_IMBALANCE = 8

# Share of the three-phase output each phase carries.
PHASE_SHARES = (0.34, 0.33, 0.33)


def _sim_point(key: str, address: int, dtype: DataType = DataType.U16) -> Point:
    """A register the profile does not decode but a real device fills (simulated for realism)."""
    return Point(key, address, dtype, HOLDING)


def put(image: RegisterImage, point: Point, value: float) -> None:
    """Write a physical value: undo the point's scale, round to the register's resolution."""
    raw = value / point.scale
    if point.dtype is DataType.F32:
        image.set(point, raw)
    else:
        image.set(point, round(raw))


def put_timestamp(image: RegisterImage, address: int, when: datetime) -> None:
    """GoodWe's clock: six bytes YY MM DD hh mm ss in three registers."""
    parts = (when.year - 2000, when.month, when.day, when.hour, when.minute, when.second)
    image.set_words(HOLDING, address, [parts[i] << 8 | parts[i + 1] for i in range(0, 6, 2)])


def _current(power: float, voltage: float) -> float:
    return abs(power) / voltage if voltage > 0 else 0.0


class GoodWeEtSim(SimDevice):
    """GW10K-ET: three-phase hybrid, two PV strings, a 51.2 V battery and a three-phase smart meter."""

    name = "goodwe_et"

    # Device-block extras not decoded by the profile.
    MODBUS_VERSION = _sim_point("modbus_version", 35000)
    DSP_SVN = _sim_point("dsp_svn_version", 35018)
    ARM_SVN = _sim_point("arm_svn_version", 35020)
    GRID_MODE = EtRun.GRID_MODE
    METER_COMMODE = _sim_point("meter_commode", 36000)
    METER_ACTIVE_POWER_TOTAL16 = _sim_point("meter_active_power_total16", 36008, DataType.S16)
    METER_POWER_FACTOR = _sim_point("meter_power_factor", 36013, DataType.S16)
    BMS_STATUS = _sim_point("battery_status", 37002)
    BMS_MODULES = _sim_point("battery_modules", 37009)

    def __init__(
        self,
        unit_id: int = ET_UNIT_ID,
        serial: str = "9010KETU000SIM01",
        model: str = "GW10K-ET",
        *,
        has_battery: bool = True,
        has_meter: bool = True,
    ) -> None:
        super().__init__()
        self.unit_id = unit_id
        self.serial = serial
        self.model = model
        self.has_battery = has_battery
        self.has_meter = has_meter
        image = self.image
        # Every ET serves all four blocks, with or without a battery or meter attached (then they read 0).
        for block in (EtInfo, EtRun, EtMeter, EtBattery):
            image.define(HOLDING, block.START, block.COUNT)
        image.set(self.MODBUS_VERSION, 0x0102)
        image.set(EtInfo.RATED_POWER, 10000)
        image.set(EtInfo.AC_TYPE, 1)  # three phase, four wire
        image.set(EtInfo.SERIAL, serial)
        image.set(EtInfo.MODEL, model)
        image.set(EtInfo.DSP1_VERSION, 8)
        image.set(EtInfo.DSP2_VERSION, 8)
        image.set(self.DSP_SVN, 112)
        image.set(EtInfo.ARM_VERSION, 19)
        image.set(self.ARM_SVN, 87)
        image.set(EtInfo.FIRMWARE, "04029-08-S11")
        image.set(EtInfo.ARM_FIRMWARE, "02041-19-S00")
        # A two-MPPT model: the third and fourth string registers exist but read zero.
        for point in (EtRun.VPV3, EtRun.IPV3, EtRun.PPV3, EtRun.VPV4, EtRun.IPV4, EtRun.PPV4):
            image.set(point, 0)
        if has_meter:
            image.set(self.METER_COMMODE, 1)
            image.set(EtMeter.METER_TYPE, 2)  # three phase, four wire
            image.set(EtMeter.SW_VERSION, 65)
        if has_battery:
            image.set(EtBattery.BMS, 17)
            image.set(EtBattery.PROTOCOL, 287)
            image.set(EtBattery.SW_VERSION, 21)
            image.set(self.BMS_MODULES, 2)

    def render(self, state: PlantState) -> None:
        self._render_running(state)
        if self.has_meter:
            self._render_meter(state)
        if self.has_battery:
            self._render_battery(state)

    def _render_running(self, state: PlantState) -> None:
        image = self.image
        faults = state.faults
        put_timestamp(image, EtRun.TIMESTAMP, state.now)
        for v, i, p, voltage, power in (
            (EtRun.VPV1, EtRun.IPV1, EtRun.PPV1, state.pv1_voltage, state.pv1_power),
            (EtRun.VPV2, EtRun.IPV2, EtRun.PPV2, state.pv2_voltage, state.pv2_power),
        ):
            put(image, v, voltage)
            put(image, i, _current(power, voltage))
            put(image, p, power)
        phases = (
            (EtRun.VGRID1, EtRun.IGRID1, EtRun.FGRID1, EtRun.PGRID1),
            (EtRun.VGRID2, EtRun.IGRID2, EtRun.FGRID2, EtRun.PGRID2),
            (EtRun.VGRID3, EtRun.IGRID3, EtRun.FGRID3, EtRun.PGRID3),
        )
        for (v, i, f, p), share in zip(phases, PHASE_SHARES, strict=True):
            put(image, v, state.grid_voltage)
            put(image, i, _current(state.ac_power * share, state.grid_voltage))
            put(image, f, state.grid_frequency)
            put(image, p, state.ac_power * share)
        put(image, self.GRID_MODE, 0 if FAULT_GRID_LOSS in faults else 1)
        put(image, EtRun.TOTAL_INVERTER_POWER, state.ac_power)
        put(image, EtRun.ACTIVE_POWER, -state.grid_power)  # GoodWe: + = export
        put(image, EtRun.LOAD_PTOTAL, state.load_power)
        put(image, EtRun.TEMPERATURE_AIR, state.inverter_temperature - 6.0)
        put(image, EtRun.TEMPERATURE_MODULE, -1)  # no module sensor on this model: GoodWe's "none"
        put(image, EtRun.TEMPERATURE_RADIATOR, state.inverter_temperature)
        if self.has_battery:
            put(image, EtRun.VBATTERY1, state.battery_voltage)
            current = _current(state.battery_power, state.battery_voltage)
            put(image, EtRun.IBATTERY1, current if state.battery_power >= 0 else -current)
            put(image, EtRun.PBATTERY1, state.battery_power)  # GoodWe: + = discharge, like canonical
            put(image, EtRun.BATTERY_MODE, _battery_mode(state.battery_power))
        put(image, EtRun.WARNING_CODE, 0)
        put(image, EtRun.WORK_MODE, 3 if faults & TRIPPING_FAULTS.keys() else 1)
        errors = 0
        for fault, bit in TRIPPING_FAULTS.items():
            if fault in faults:
                errors |= 1 << bit
        if FAULT_GRID_OVER_VOLTAGE in faults:
            errors |= 1 << ERROR_BIT_VAC_FAILURE
        if FAULT_GRID_LOSS in faults:
            errors |= 1 << ERROR_BIT_UTILITY_LOSS
        put(image, EtRun.ERROR_CODES, errors)
        counters = (
            (EtRun.E_TOTAL, state.pv_energy_total),
            (EtRun.E_DAY, state.pv_energy_today),
            (EtRun.E_TOTAL_EXP, state.grid_export_energy_total),
            (EtRun.E_TOTAL_IMP, state.grid_import_energy_total),
            (EtRun.E_LOAD_TOTAL, state.load_energy_total),
            (EtRun.E_BAT_CHARGE_TOTAL, state.battery_charge_energy_total),
            (EtRun.E_BAT_DISCHARGE_TOTAL, state.battery_discharge_energy_total),
        )
        for point, value in counters:
            if FAULT_SENTINEL_VALUES in faults:
                image.set_words(point.kind, point.address, [0xFFFF] * point.count)
            else:
                put(image, point, value)

    def _render_meter(self, state: PlantState) -> None:
        image = self.image
        online = FAULT_METER_OFFLINE not in state.faults
        put(image, EtMeter.TEST_STATUS, 1)
        put(image, EtMeter.COMM_STATUS, 1 if online else 0)
        export = -state.grid_power  # GoodWe: + = export
        for point, share in zip(
            (EtMeter.ACTIVE_POWER1, EtMeter.ACTIVE_POWER2, EtMeter.ACTIVE_POWER3), PHASE_SHARES, strict=True
        ):
            put(image, point, export * share)
        # The per-phase registers are rounded separately; the total is the meter's own figure.
        put(image, EtMeter.ACTIVE_POWER_TOTAL, export)
        put(image, self.METER_ACTIVE_POWER_TOTAL16, max(-32768, min(32767, export)))
        put(image, self.METER_POWER_FACTOR, 990)
        put(image, EtMeter.FREQUENCY, state.grid_frequency)
        put(image, EtMeter.E_TOTAL_EXP, state.grid_export_energy_total)
        put(image, EtMeter.E_TOTAL_IMP, state.grid_import_energy_total)

    def _render_battery(self, state: PlantState) -> None:
        image = self.image
        alarm = FAULT_BATTERY_ALARM in state.faults
        put(image, self.BMS_STATUS, 1)
        put(image, EtBattery.TEMPERATURE, state.battery_temperature)
        if FAULT_SENTINEL_VALUES in state.faults:
            image.set_words(EtBattery.SOC.kind, EtBattery.SOC.address, [0xFFFF])
        else:
            put(image, EtBattery.SOC, state.battery_soc)
        put(image, EtBattery.SOH, state.battery_soh)
        put(image, EtBattery.ERROR_L, 1 << BMS_ALARM_CELL_TEMP_HIGH if alarm else 0)
        put(image, EtBattery.ERROR_H, 0)
        put(image, EtBattery.WARNING_L, 1 << BMS_WARNING_CELL_IMBALANCE if alarm else 0)
        put(image, EtBattery.WARNING_H, 0)


def _battery_mode(power: float) -> int:
    """GoodWe battery_mode: 1 standby, 2 discharge, 3 charge."""
    if power > 0:
        return 2
    if power < 0:
        return 3
    return 1


class GoodWeDtSim(SimDevice):
    """GW15K-DT: three-phase PV-only inverter with two strings; it shows the plant's PV array.

    With no battery, its AC output equals the PV power (losses are left out so tests compare exactly).
    """

    name = "goodwe_dt"

    def __init__(
        self, unit_id: int = DT_UNIT_ID, serial: str = "5015KDTU000SIM01", model: str = "GW15K-DT"
    ) -> None:
        super().__init__()
        self.unit_id = unit_id
        self.serial = serial
        self.model = model
        image = self.image
        for block in (DtInfo, DtRun):
            image.define(HOLDING, block.START, block.COUNT)
        image.set(DtInfo.SERIAL, serial)
        image.set(DtInfo.MODEL, model)
        image.set(DtInfo.DSP1_VERSION, 15)
        image.set(DtInfo.DSP2_VERSION, 15)
        image.set(DtInfo.ARM_VERSION, 0x10)
        for point in (DtRun.VPV3, DtRun.IPV3, DtRun.VPV4, DtRun.IPV4):
            image.set(point, 0)

    def render(self, state: PlantState) -> None:
        image = self.image
        faults = state.faults
        put_timestamp(image, DtRun.TIMESTAMP, state.now)
        for v, i, voltage, power in (
            (DtRun.VPV1, DtRun.IPV1, state.pv1_voltage, state.pv1_power),
            (DtRun.VPV2, DtRun.IPV2, state.pv2_voltage, state.pv2_power),
        ):
            put(image, v, voltage)
            put(image, i, _current(power, voltage))
        phases = (
            (DtRun.VGRID1, DtRun.IGRID1),
            (DtRun.VGRID2, DtRun.IGRID2),
            (DtRun.VGRID3, DtRun.IGRID3),
        )
        for (v, i), share in zip(phases, PHASE_SHARES, strict=True):
            put(image, v, state.grid_voltage)
            put(image, i, _current(state.pv_power * share, state.grid_voltage))
        put(image, DtRun.FGRID1, state.grid_frequency)
        put(image, DtRun.TOTAL_INVERTER_POWER, state.pv_power)
        put(image, DtRun.WORK_MODE, _dt_work_mode(state))
        put(image, DtRun.ERROR_CODES, 1 << ERROR_BIT_OVER_TEMPERATURE if FAULT_INVERTER in faults else 0)
        put(image, DtRun.WARNING_CODE, 0)
        put(image, DtRun.TEMPERATURE, state.inverter_temperature)
        put(image, DtRun.E_DAY, state.pv_energy_today)
        put(image, DtRun.E_TOTAL, state.pv_energy_total)


def _dt_work_mode(state: PlantState) -> int:
    """DT work_mode: 2 Error on an injected fault, 0 Wait without PV (no string voltage), 1 Normal."""
    if FAULT_INVERTER in state.faults:
        return 2
    return 1 if state.pv_power > 0 else 0
