"""Simulated GoodWe inverters: ET hybrids (with battery and smart meter) and a DT PV-only inverter.

The register map below is the simulator's own, stated from GoodWe's public Modbus register tables as
summarized in ``/work/shared/reference/protocols.md`` §3 (and the ``goodwe`` library's sensor tables, read
to learn the map, not copied). It deliberately does not import the integration's profiles, so the
end-to-end tests compare two independent readings of the documents: a wrong address, type, scale or sign
in a profile shows up as a wrong value.

Only the blocks GoodWe's tools read exist (35000x33, 35100x125, 36000x45, 37000x24 on the ET; 30001x40,
30100x73 on the DT): a read that strays outside them is refused with "illegal data address", as on a real
inverter. GoodWe's signs: grid power + = export (the canonical state counts + = import), battery
+ = discharge.

ET variants by platform: hybrids of 15 kW and more, and the "745" platform, keep the meter's lifetime
import/export totals as 64-bit counters in 0.01 kWh at 36104 (export) and 36120 (import) and leave the
float totals at 36015/36017 at 0; their meter block is 36000x125 (``GoodWeEt20Sim``, see field case F01).

Device faults (``simulator.faults.DEVICE_FAULTS`` names in ``PlantState.faults``):
- ``over_temperature``: work mode "Fault" and error bit 13 (over temperature).
- ``ground_fault``: work mode "Fault" and error bit 10 (ground current).
- ``grid_over_voltage``: error bit 17 (Vac failure).
- ``grid_loss``: error bit 9 (utility loss) and grid mode "not connected".
- ``bms_alarm``: BMS alarm bit 2 (cell temperature high) and BMS warning bit 8 (cell imbalance).
- ``meter_comm_lost``: the ET loses its meter (36004 meter_comm_status = 0).
- ``sentinel_values``: energy counters and SOC read GoodWe's "undefined" all-ones value.

Settings (ET): the on-grid depth of discharge 45356 (%; the battery keeps 100 - DoD), the export limit
47509 (0 off, 1 on) and 47510 (W), the EMS mode 47511 (GoodWe's table "EMS Power Mode": 1 auto/self-use,
6 conserve, 8 battery standby, 11 charge battery, 12 discharge battery) and its power 47512 (W). A client
that writes them steers the plant (``command``); other EMS modes run as self-use here.
"""

from __future__ import annotations

from datetime import datetime

from custom_components.sems.plantkit.registers import DataType, Point, RegisterKind

from ..device import SimDevice
from ..image import RegisterImage
from ..physics import PlantCommand, PlantState

HOLDING = RegisterKind.HOLDING
U16, S16, U32, S32 = DataType.U16, DataType.S16, DataType.U32, DataType.S32
U64, F32 = DataType.U64, DataType.F32


def reg(address: int, dtype: DataType = U16, step: float = 1.0) -> Point:
    """A holding register as GoodWe documents it; ``step`` is the value of one count (0.1 for "/10")."""
    return Point(f"goodwe@{address}", address, dtype, HOLDING, scale=step)


def text(address: int, registers: int) -> Point:
    """An ASCII field of ``registers`` registers (two characters each)."""
    return Point(f"goodwe@{address}", address, DataType.STRING, HOLDING, length=registers)


# -- the register map (protocols.md §3) -----------------------------------------------------------------

ET_UNIT_ID = 0xF7  # default communication address of hybrids, also their Modbus TCP unit id (§3.1)
DT_UNIT_ID = 0x7F  # ... and of PV-only inverters

# ET/EH/BT/BH blocks: (start, count) as GoodWe's tools read them.
ET_INFO_BLOCK = (35000, 33)
ET_RUNNING_BLOCK = (35100, 125)
ET_METER_BLOCK = (36000, 45)
ET_METER_BLOCK_EXTENDED = (36000, 125)  # >= 15 kW and 745 platform: up to the 64-bit totals at 36120
ET_BMS_BLOCK = (37000, 24)

# ET device information, 35000..35032.
ET_MODBUS_VERSION = reg(35000)
ET_RATED_POWER = reg(35001)  # W
ET_AC_TYPE = reg(35002)  # 0 single phase, 1 three phase 4 wire, 2 three phase 3 wire
ET_SERIAL = text(35003, 8)  # 16 characters
ET_MODEL_NAME = text(35011, 5)  # 10 characters
ET_DSP1_VERSION = reg(35016)
ET_DSP2_VERSION = reg(35017)
ET_DSP_SVN = reg(35018)
ET_ARM_VERSION = reg(35019)
ET_ARM_SVN = reg(35020)
ET_DSP_FIRMWARE = text(35021, 6)  # e.g. "04029-08-S11"
ET_ARM_FIRMWARE = text(35027, 6)

# ET running data, 35100..35224.
ET_TIMESTAMP = 35100  # three registers: bytes YY MM DD hh mm ss (year - 2000)
ET_PV_STRINGS = tuple(  # (voltage 0.1 V, current 0.1 A, power u32 W) of strings 1..4, four registers apart
    (reg(35103 + 4 * n, U16, 0.1), reg(35104 + 4 * n, U16, 0.1), reg(35105 + 4 * n, U32)) for n in range(4)
)
ET_GRID_PHASES = tuple(  # (voltage 0.1 V, current 0.1 A, frequency 0.01 Hz, power s16 W) of L1..L3
    (reg(a, U16, 0.1), reg(a + 1, U16, 0.1), reg(a + 2, U16, 0.01), reg(a + 4, S16))
    for a in (35121, 35126, 35131)
)
ET_GRID_MODE = reg(35136)  # 0 not connected, 1 connected, 2 fault
ET_TOTAL_INVERTER_POWER = reg(35138, S16)  # W, the inverter's AC output
ET_ACTIVE_POWER = reg(35140, S16)  # W, grid exchange: + = export, - = import
ET_LOAD_PTOTAL = reg(35172, S16)  # W, house load
ET_TEMPERATURE_AIR = reg(35174, S16, 0.1)  # degC; -1 or 32767 = no sensor
ET_TEMPERATURE_MODULE = reg(35175, S16, 0.1)
ET_TEMPERATURE_RADIATOR = reg(35176, S16, 0.1)
ET_VBATTERY1 = reg(35180, U16, 0.1)  # V
ET_IBATTERY1 = reg(35181, S16, 0.1)  # A, + = discharge
ET_PBATTERY1 = reg(35182, S32)  # W, + = discharge, - = charge
ET_BATTERY_MODE = reg(35184)  # 0 no battery, 1 standby, 2 discharge, 3 charge, 4/5 to be (dis)charged
ET_WARNING_CODE = reg(35185)
ET_WORK_MODE = reg(35187)  # 0 wait, 1 normal on-grid, 2 normal off-grid, 3 fault, 4 flash, 5 check
ET_ERROR_CODES = reg(35189, U32)  # bitmap, bits in §3.3
ET_E_TOTAL = reg(35191, U32, 0.1)  # kWh, PV generation
ET_E_DAY = reg(35193, U32, 0.1)
ET_E_TOTAL_EXP = reg(35195, U32, 0.1)  # kWh, the inverter's own grid counters
ET_E_TOTAL_IMP = reg(35200, U32, 0.1)
ET_E_LOAD_TOTAL = reg(35203, U32, 0.1)
ET_E_BAT_CHARGE_TOTAL = reg(35206, U32, 0.1)
ET_E_BAT_DISCHARGE_TOTAL = reg(35209, U32, 0.1)

# ET smart meter, 36000..36044 (and ..36124 on the extended map). Powers carry 35140's sign: + = export.
METER_COMMODE = reg(36000)
METER_TEST_STATUS = reg(36003)  # 0 not checked, 1 correct, 2 reversed, 3 incorrect
METER_COMM_STATUS = reg(36004)  # 1 OK, 0 not OK
METER_ACTIVE_POWER_TOTAL16 = reg(36008, S16)  # W
METER_POWER_FACTOR = reg(36013, S16, 0.001)
METER_FREQUENCY = reg(36014, U16, 0.01)  # Hz
METER_E_TOTAL_EXP_F32 = reg(36015, F32, 0.001)  # IEEE float in Wh, shown in kWh; 0 on the extended map
METER_E_TOTAL_IMP_F32 = reg(36017, F32, 0.001)
METER_ACTIVE_POWERS = (reg(36019, S32), reg(36021, S32), reg(36023, S32))  # W per phase
METER_ACTIVE_POWER_TOTAL = reg(36025, S32)  # W
METER_TYPE = reg(36043)  # 0 single phase, 1 3P3W, 2 3P4W, 3 HomeKit
METER_SW_VERSION = reg(36044)
# Extended map only:
METER2_ACTIVE_POWER = reg(36045, S32)  # a second meter's power (none here: 0)
METER2_COMM_STATUS = reg(36051)
METER_VOLTAGES = (reg(36052, U16, 0.1), reg(36053, U16, 0.1), reg(36054, U16, 0.1))
METER_CURRENTS = (reg(36055, U16, 0.1), reg(36056, U16, 0.1), reg(36057, U16, 0.1))
METER_UNASSIGNED = (36058, 34)  # 36058..36091: not in the public tables; real devices read mostly 0xFFFF
METER_E_EXP_PHASES = (reg(36092, U64, 0.01), reg(36096, U64, 0.01), reg(36100, U64, 0.01))  # kWh
METER_E_TOTAL_EXP_U64 = reg(36104, U64, 0.01)  # kWh
METER_E_IMP_PHASES = (reg(36108, U64, 0.01), reg(36112, U64, 0.01), reg(36116, U64, 0.01))
METER_E_TOTAL_IMP_U64 = reg(36120, U64, 0.01)  # kWh

# BMS of the first battery, 37000..37023.
BMS_TYPE = reg(37000)
BMS_STATUS = reg(37002)
BMS_TEMPERATURE = reg(37003, S16, 0.1)  # degC
BMS_ERROR_L = reg(37006)  # alarm bits 0-15 (the high word is 37012)
BMS_SOC = reg(37007)  # %
BMS_SOH = reg(37008)  # %
BMS_MODULES = reg(37009)
BMS_WARNING_L = reg(37010)
BMS_PROTOCOL = reg(37011)
BMS_ERROR_H = reg(37012)
BMS_WARNING_H = reg(37013)
BMS_SW_VERSION = reg(37014)

# ET settings, written by clients (45350.. battery, 47500.. export limit and EMS).
ET_BATTERY_SETTINGS_BLOCK = (45350, 10)
ET_EMS_SETTINGS_BLOCK = (47500, 16)
SET_DEPTH_OF_DISCHARGE = reg(45356)  # %
SET_EXPORT_LIMIT_ENABLED = reg(47509)  # 0 off, 1 on
SET_EXPORT_LIMIT = reg(47510)  # W
SET_EMS_MODE = reg(47511)
SET_EMS_POWER = reg(47512)  # W
EMS_COMMANDS = {1: "self_use", 6: "conserve", 8: "hold", 11: "charge", 12: "discharge"}

# DT/MS/NS PV-only inverters.
DT_INFO_BLOCK = (30001, 40)
DT_RUNNING_BLOCK = (30100, 73)
DT_SERIAL = text(30004, 8)
DT_MODEL_NAME = text(30012, 5)
DT_DSP1_VERSION = reg(30034)
DT_DSP2_VERSION = reg(30035)
DT_ARM_VERSION = reg(30036)
DT_TIMESTAMP = 30100
DT_PV_STRINGS = tuple(  # (voltage 0.1 V, current 0.1 A) of strings 1..4; string power is V x I
    (reg(30103 + 2 * n, U16, 0.1), reg(30104 + 2 * n, U16, 0.1)) for n in range(4)
)
DT_GRID_VOLTAGES = (reg(30118, U16, 0.1), reg(30119, U16, 0.1), reg(30120, U16, 0.1))
DT_GRID_CURRENTS = (reg(30121, U16, 0.1), reg(30122, U16, 0.1), reg(30123, U16, 0.1))
DT_FGRID1 = reg(30124, U16, 0.01)  # Hz
DT_TOTAL_INVERTER_POWER = reg(30127, U32)  # W
DT_WORK_MODE = reg(30129)  # 0 wait, 1 normal, 2 error, 4 check
DT_ERROR_CODES = reg(30130, U32)
DT_WARNING_CODE = reg(30132)
DT_TEMPERATURE = reg(30141, S16, 0.1)  # degC
DT_E_DAY = reg(30144, U16, 0.1)  # kWh
DT_E_TOTAL = reg(30145, U32, 0.1)  # kWh

# Bits of the ET error bitmap 35189 and of the BMS words (§3.3).
ERROR_BIT_UTILITY_LOSS = 9
ERROR_BIT_GROUND_CURRENT = 10
ERROR_BIT_OVER_TEMPERATURE = 13
ERROR_BIT_VAC_FAILURE = 17
BMS_ALARM_CELL_TEMP_HIGH = 2
BMS_WARNING_CELL_IMBALANCE = 8

FAULT_INVERTER = "over_temperature"
FAULT_GROUND = "ground_fault"
FAULT_GRID_OVER_VOLTAGE = "grid_over_voltage"
FAULT_GRID_LOSS = "grid_loss"
FAULT_BATTERY_ALARM = "bms_alarm"
FAULT_METER_OFFLINE = "meter_comm_lost"
FAULT_SENTINEL_VALUES = "sentinel_values"
TRIPPING_FAULTS = {FAULT_INVERTER: ERROR_BIT_OVER_TEMPERATURE, FAULT_GROUND: ERROR_BIT_GROUND_CURRENT}

# Share of the three-phase output each phase carries.
PHASE_SHARES = (0.34, 0.33, 0.33)


# -- encoders ------------------------------------------------------------------------------------------


def put(image: RegisterImage, register: Point, value: float) -> None:
    """Write a physical value: divide by the register's step, round to a whole count (floats stay floats)."""
    raw = value / register.scale
    image.set(register, raw if register.dtype is F32 else round(raw))


def put_undefined(image: RegisterImage, register: Point) -> None:
    """GoodWe's "undefined" value: every bit set (0xFFFF, 0xFFFFFFFF, ...)."""
    image.set_words(HOLDING, register.address, [0xFFFF] * register.count)


def put_timestamp(image: RegisterImage, address: int, when: datetime) -> None:
    """GoodWe's clock: six bytes YY MM DD hh mm ss in three registers."""
    parts = (when.year - 2000, when.month, when.day, when.hour, when.minute, when.second)
    image.set_words(HOLDING, address, [parts[i] << 8 | parts[i + 1] for i in range(0, 6, 2)])


def define(image: RegisterImage, block: tuple[int, int]) -> None:
    """Make a block readable (registers nothing writes read 0)."""
    image.define(HOLDING, *block)


def _current(power: float, voltage: float) -> float:
    return abs(power) / voltage if voltage > 0 else 0.0


# -- ET hybrids ------------------------------------------------------------------------------------------


class GoodWeEtSim(SimDevice):
    """GW10K-ET: three-phase hybrid, two PV strings, a 51.2 V battery and a three-phase smart meter.

    ``extended_meter`` serves the meter map of hybrids >= 15 kW and the 745 platform (36000x125, 64-bit
    totals at 36104/36120, float totals at 0).
    """

    name = "goodwe_et"
    DSP_FIRMWARE = "04029-08-S11"
    ARM_FIRMWARE = "02041-19-S00"

    def __init__(
        self,
        unit_id: int = ET_UNIT_ID,
        serial: str = "9010KETU000SIM01",
        model: str = "GW10K-ET",
        *,
        has_battery: bool = True,
        has_meter: bool = True,
        rated_power: int = 10000,
        extended_meter: bool = False,
    ) -> None:
        super().__init__()
        self.unit_id = unit_id
        self.serial = serial
        self.model = model
        self.has_battery = has_battery
        self.has_meter = has_meter
        self.extended_meter = extended_meter
        image = self.image
        # Every ET serves all four blocks, with or without a battery or meter attached (then they read 0).
        meter_block = ET_METER_BLOCK_EXTENDED if extended_meter else ET_METER_BLOCK
        blocks = (ET_INFO_BLOCK, ET_RUNNING_BLOCK, meter_block, ET_BMS_BLOCK)
        for block in (*blocks, ET_BATTERY_SETTINGS_BLOCK, ET_EMS_SETTINGS_BLOCK):
            define(image, block)
        # Factory settings: 90 % depth of discharge, no export limit (set to the rated power), auto.
        put(image, SET_DEPTH_OF_DISCHARGE, 90)
        put(image, SET_EXPORT_LIMIT_ENABLED, 0)
        put(image, SET_EXPORT_LIMIT, rated_power)
        put(image, SET_EMS_MODE, 1)
        put(image, SET_EMS_POWER, 0)
        put(image, ET_MODBUS_VERSION, 0x0102)
        put(image, ET_RATED_POWER, rated_power)
        put(image, ET_AC_TYPE, 1)  # three phase, four wire
        image.set(ET_SERIAL, serial)
        image.set(ET_MODEL_NAME, model)
        put(image, ET_DSP1_VERSION, 8)
        put(image, ET_DSP2_VERSION, 8)
        put(image, ET_DSP_SVN, 112)
        put(image, ET_ARM_VERSION, 19)
        put(image, ET_ARM_SVN, 87)
        image.set(ET_DSP_FIRMWARE, self.DSP_FIRMWARE)
        image.set(ET_ARM_FIRMWARE, self.ARM_FIRMWARE)
        # A two-MPPT model: the third and fourth string registers exist but read zero.
        for string in ET_PV_STRINGS[2:]:
            for register in string:
                put(image, register, 0)
        if has_meter:
            put(image, METER_COMMODE, 1)
            put(image, METER_TYPE, 2)  # three phase, four wire
            put(image, METER_SW_VERSION, 65)
            if extended_meter:
                start, count = METER_UNASSIGNED
                image.set_words(HOLDING, start, [0xFFFF] * count)
        if has_battery:
            put(image, BMS_TYPE, 17)
            put(image, BMS_PROTOCOL, 287)
            put(image, BMS_SW_VERSION, 21)
            put(image, BMS_MODULES, 2)

    def command(self, state: PlantState) -> None:
        """The plant follows the EMS mode, the depth of discharge and the export limit."""

        def word(register: Point) -> int:
            return self.image.read(HOLDING, register.address, 1)[0]

        limit = word(SET_EXPORT_LIMIT) if word(SET_EXPORT_LIMIT_ENABLED) == 1 else None
        state.command = PlantCommand(
            battery=EMS_COMMANDS.get(word(SET_EMS_MODE), "self_use") if self.has_battery else "self_use",
            power=float(word(SET_EMS_POWER)),
            min_soc=100.0 - min(100, word(SET_DEPTH_OF_DISCHARGE)),
            export_limit=None if limit is None else float(limit),
        )

    def render(self, state: PlantState) -> None:
        self._render_running(state)
        if self.has_meter:
            self._render_meter(state)
        if self.has_battery:
            self._render_battery(state)

    def _render_running(self, state: PlantState) -> None:
        image = self.image
        faults = state.faults
        put_timestamp(image, ET_TIMESTAMP, state.now)
        strings = ((state.pv1_voltage, state.pv1_power), (state.pv2_voltage, state.pv2_power))
        for (v, i, p), (voltage, power) in zip(ET_PV_STRINGS, strings, strict=False):
            put(image, v, voltage)
            put(image, i, _current(power, voltage))
            put(image, p, power)
        for (v, i, f, p), share in zip(ET_GRID_PHASES, PHASE_SHARES, strict=True):
            put(image, v, state.grid_voltage)
            put(image, i, _current(state.ac_power * share, state.grid_voltage))
            put(image, f, state.grid_frequency)
            put(image, p, state.ac_power * share)
        put(image, ET_GRID_MODE, 0 if FAULT_GRID_LOSS in faults else 1)
        put(image, ET_TOTAL_INVERTER_POWER, state.ac_power)
        put(image, ET_ACTIVE_POWER, -state.grid_power)  # GoodWe: + = export
        put(image, ET_LOAD_PTOTAL, state.load_power)
        put(image, ET_TEMPERATURE_AIR, state.inverter_temperature - 6.0)
        image.set(ET_TEMPERATURE_MODULE, -1)  # no module sensor on this model: GoodWe's "none"
        put(image, ET_TEMPERATURE_RADIATOR, state.inverter_temperature)
        if self.has_battery:
            put(image, ET_VBATTERY1, state.battery_voltage)
            current = _current(state.battery_power, state.battery_voltage)
            put(image, ET_IBATTERY1, current if state.battery_power >= 0 else -current)
            put(image, ET_PBATTERY1, state.battery_power)  # GoodWe: + = discharge, like canonical
            put(image, ET_BATTERY_MODE, _battery_mode(state.battery_power))
        put(image, ET_WARNING_CODE, 0)
        put(image, ET_WORK_MODE, 3 if faults & TRIPPING_FAULTS.keys() else 1)
        errors = 0
        for fault, bit in TRIPPING_FAULTS.items():
            if fault in faults:
                errors |= 1 << bit
        if FAULT_GRID_OVER_VOLTAGE in faults:
            errors |= 1 << ERROR_BIT_VAC_FAILURE
        if FAULT_GRID_LOSS in faults:
            errors |= 1 << ERROR_BIT_UTILITY_LOSS
        put(image, ET_ERROR_CODES, errors)
        counters = (
            (ET_E_TOTAL, state.pv_energy_total),
            (ET_E_DAY, state.pv_energy_today),
            (ET_E_TOTAL_EXP, state.grid_export_energy_total),
            (ET_E_TOTAL_IMP, state.grid_import_energy_total),
            (ET_E_LOAD_TOTAL, state.load_energy_total),
            (ET_E_BAT_CHARGE_TOTAL, state.battery_charge_energy_total),
            (ET_E_BAT_DISCHARGE_TOTAL, state.battery_discharge_energy_total),
        )
        for register, value in counters:
            if FAULT_SENTINEL_VALUES in faults:
                put_undefined(image, register)
            else:
                put(image, register, value)

    def _render_meter(self, state: PlantState) -> None:
        image = self.image
        online = FAULT_METER_OFFLINE not in state.faults
        put(image, METER_TEST_STATUS, 1)
        put(image, METER_COMM_STATUS, 1 if online else 0)
        export = -state.grid_power  # GoodWe: + = export
        for register, share in zip(METER_ACTIVE_POWERS, PHASE_SHARES, strict=True):
            put(image, register, export * share)
        # The per-phase registers are rounded separately; the total is the meter's own figure.
        put(image, METER_ACTIVE_POWER_TOTAL, export)
        put(image, METER_ACTIVE_POWER_TOTAL16, max(-32768, min(32767, export)))
        put(image, METER_POWER_FACTOR, 0.99)
        put(image, METER_FREQUENCY, state.grid_frequency)
        if not self.extended_meter:
            put(image, METER_E_TOTAL_EXP_F32, state.grid_export_energy_total)
            put(image, METER_E_TOTAL_IMP_F32, state.grid_import_energy_total)
            return
        # The extended map: the float totals stay 0, the 64-bit counters carry the totals.
        put(image, METER_E_TOTAL_EXP_F32, 0.0)
        put(image, METER_E_TOTAL_IMP_F32, 0.0)
        put(image, METER2_ACTIVE_POWER, 0)
        put(image, METER2_COMM_STATUS, 0)
        for voltage, current, share in zip(METER_VOLTAGES, METER_CURRENTS, PHASE_SHARES, strict=True):
            put(image, voltage, state.grid_voltage)
            put(image, current, _current(export * share, state.grid_voltage))
        totals = (
            (METER_E_EXP_PHASES, METER_E_TOTAL_EXP_U64, state.grid_export_energy_total),
            (METER_E_IMP_PHASES, METER_E_TOTAL_IMP_U64, state.grid_import_energy_total),
        )
        for phases, total, kwh in totals:
            for register, share in zip(phases, PHASE_SHARES, strict=True):
                put(image, register, kwh * share)
            put(image, total, kwh)

    def _render_battery(self, state: PlantState) -> None:
        image = self.image
        alarm = FAULT_BATTERY_ALARM in state.faults
        put(image, BMS_STATUS, 1)
        put(image, BMS_TEMPERATURE, state.battery_temperature)
        if FAULT_SENTINEL_VALUES in state.faults:
            put_undefined(image, BMS_SOC)
        else:
            put(image, BMS_SOC, state.battery_soc)
        put(image, BMS_SOH, state.battery_soh)
        put(image, BMS_ERROR_L, 1 << BMS_ALARM_CELL_TEMP_HIGH if alarm else 0)
        put(image, BMS_ERROR_H, 0)
        put(image, BMS_WARNING_L, 1 << BMS_WARNING_CELL_IMBALANCE if alarm else 0)
        put(image, BMS_WARNING_H, 0)


class GoodWeEt20Sim(GoodWeEtSim):
    """GW20K-ET on the 745 platform ("ETT" serial): the ET's map with the extended meter block (F01)."""

    name = "goodwe_et20"
    DSP_FIRMWARE = "04062-09-S00"
    ARM_FIRMWARE = "02020-12-S01"

    def __init__(
        self,
        unit_id: int = ET_UNIT_ID,
        serial: str = "9020KETT000SIM02",
        model: str = "GW20K-ET",
        *,
        has_battery: bool = True,
        has_meter: bool = True,
    ) -> None:
        super().__init__(
            unit_id,
            serial,
            model,
            has_battery=has_battery,
            has_meter=has_meter,
            rated_power=20000,
            extended_meter=True,
        )


def _battery_mode(power: float) -> int:
    """GoodWe battery_mode: 1 standby, 2 discharge, 3 charge."""
    if power > 0:
        return 2
    if power < 0:
        return 3
    return 1


# -- DT PV-only inverter ---------------------------------------------------------------------------------


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
        for block in (DT_INFO_BLOCK, DT_RUNNING_BLOCK):
            define(image, block)
        image.set(DT_SERIAL, serial)
        image.set(DT_MODEL_NAME, model)
        put(image, DT_DSP1_VERSION, 15)
        put(image, DT_DSP2_VERSION, 15)
        put(image, DT_ARM_VERSION, 0x10)
        for string in DT_PV_STRINGS[2:]:
            for register in string:
                put(image, register, 0)

    def render(self, state: PlantState) -> None:
        image = self.image
        faults = state.faults
        put_timestamp(image, DT_TIMESTAMP, state.now)
        strings = ((state.pv1_voltage, state.pv1_power), (state.pv2_voltage, state.pv2_power))
        for (v, i), (voltage, power) in zip(DT_PV_STRINGS, strings, strict=False):
            put(image, v, voltage)
            put(image, i, _current(power, voltage))
        for v, i, share in zip(DT_GRID_VOLTAGES, DT_GRID_CURRENTS, PHASE_SHARES, strict=True):
            put(image, v, state.grid_voltage)
            put(image, i, _current(state.pv_power * share, state.grid_voltage))
        put(image, DT_FGRID1, state.grid_frequency)
        put(image, DT_TOTAL_INVERTER_POWER, state.pv_power)
        put(image, DT_WORK_MODE, _dt_work_mode(state))
        put(image, DT_ERROR_CODES, 1 << ERROR_BIT_OVER_TEMPERATURE if FAULT_INVERTER in faults else 0)
        put(image, DT_WARNING_CODE, 0)
        put(image, DT_TEMPERATURE, state.inverter_temperature)
        put(image, DT_E_DAY, state.pv_energy_today)
        put(image, DT_E_TOTAL, state.pv_energy_total)


def _dt_work_mode(state: PlantState) -> int:
    """DT work_mode: 2 Error on an injected fault, 0 Wait without PV (no string voltage), 1 Normal."""
    if FAULT_INVERTER in state.faults:
        return 2
    return 1 if state.pv_power > 0 else 0
