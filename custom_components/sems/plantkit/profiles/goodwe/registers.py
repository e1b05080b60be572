"""GoodWe register facts, each stated once (holding registers, 0-based PDU addresses).

Source: GoodWe's Modbus register documentation for the ET/EH/BT/BH hybrids (platforms 205, 745, 753) and
the DT/MS/NS PV inverters, as summarized in protocols.md §3 (learned from the ``goodwe`` library, not
copied). Signs as GoodWe counts them: grid active power + = export (negated here: canonical + = import);
battery power + = discharge (the canonical sign already).

GoodWe serves fixed blocks (ET 35000x33 info, 35100x125 running data, 36000x45 meter — 36000x125 on
platforms with the extended meter block —, 37000x24 BMS; DT 30001x40 info, 30100x73 running data).
Unsigned values use GoodWe's all-ones "undefined" marker; signed values have none (0xFFFF is a real -1 W).
"""

from __future__ import annotations

from ...model import Quantity
from ...registers import DataType, Sentinel
from ..table import Field, Table

U16, S16, U32, S32, U64, F32 = (
    DataType.U16,
    DataType.S16,
    DataType.U32,
    DataType.S32,
    DataType.U64,
    DataType.F32,
)
_UNSIGNED = frozenset({U16, U32, U64})
# Temperatures GoodWe reports when a sensor is absent (read as int16).
NO_SENSOR = frozenset({-1, 32767})


def reg(
    key: str,
    address: int,
    dtype: DataType,
    scale: float = 1.0,
    quantity: Quantity | None = None,
    *,
    negate: bool = False,
    absent: frozenset[int] = frozenset(),
) -> Field:
    """A holding register; unsigned types carry GoodWe's all-ones "undefined" marker."""
    sentinel = Sentinel.ALL_ONES if dtype in _UNSIGNED else Sentinel.NONE
    return Field(key, address, dtype, scale, quantity, negate, sentinel, absent=absent)


def text(key: str, address: int, length: int) -> Field:
    """An ASCII string field."""
    return Field(key, address, DataType.STRING, length=length)


Q = Quantity

# -- ET hybrid: device information block 35000..35032 (read while identifying) ----------------------------
ET_INFO_START, ET_INFO_COUNT = 35000, 33
ET_INFO = Table(
    (
        reg("rated_power", 35001, U16),  # W
        reg("ac_type", 35002, U16),  # 0 single phase, 1 three phase 4 wire, 2 three phase 3 wire
        text("serial", 35003, 8),
        text("model_name", 35011, 5),
        reg("dsp1_version", 35016, U16),
        reg("dsp2_version", 35017, U16),
        reg("arm_version", 35019, U16),
        text("firmware", 35021, 6),  # e.g. "04029-06-S11" (DSP)
        text("arm_firmware", 35027, 6),  # e.g. "02041-17-S00"
    )
)

# -- ET running data 35100..35224 ---------------------------------------------------------------------------
ET_RUN_START, ET_RUN_COUNT = 35100, 125
ET_INVERTER = Table(
    (
        reg("vpv1", 35103, U16, 0.1, Q.PV1_VOLTAGE),
        reg("ipv1", 35104, U16, 0.1, Q.PV1_CURRENT),
        reg("ppv1", 35105, U32, 1, Q.PV1_POWER),
        reg("vpv2", 35107, U16, 0.1, Q.PV2_VOLTAGE),
        reg("ipv2", 35108, U16, 0.1, Q.PV2_CURRENT),
        reg("ppv2", 35109, U32, 1, Q.PV2_POWER),
        reg("ppv3", 35113, U32),
        reg("ppv4", 35117, U32),
        reg("vgrid1", 35121, U16, 0.1, Q.GRID_VOLTAGE_L1),
        reg("igrid1", 35122, U16, 0.1, Q.GRID_CURRENT_L1),
        reg("fgrid1", 35123, U16, 0.01, Q.GRID_FREQUENCY),
        reg("total_inverter_power", 35138, S16, 1, Q.AC_POWER),
        reg("load_ptotal", 35172, S16, 1, Q.LOAD_POWER),
        reg("temperature_air", 35174, S16, 0.1, absent=NO_SENSOR),
        reg("temperature_radiator", 35176, S16, 0.1, absent=NO_SENSOR),
        reg("warning_code", 35185, U16),
        reg("work_mode", 35187, U16),  # see ET_WORK_MODES
        reg("error_codes", 35189, U32),
        reg("e_total", 35191, U32, 0.1, Q.PV_ENERGY_TOTAL),  # PV generation, kWh
        reg("e_day", 35193, U32, 0.1, Q.PV_ENERGY_TODAY),
        reg("e_load_total", 35203, U32, 0.1, Q.LOAD_ENERGY_TOTAL),
    )
)
# Phases 2 and 3 of the inverter's output (three-phase models only).
ET_INVERTER_L2_L3 = Table(
    (
        reg("vgrid2", 35126, U16, 0.1, Q.GRID_VOLTAGE_L2),
        reg("igrid2", 35127, U16, 0.1, Q.GRID_CURRENT_L2),
        reg("vgrid3", 35131, U16, 0.1, Q.GRID_VOLTAGE_L3),
        reg("igrid3", 35132, U16, 0.1, Q.GRID_CURRENT_L3),
    )
)
# The inverter's own view of the grid connection point: used only when no smart meter is connected (with
# one, the meter's figures are the grid's and the plant never shows two grid powers).
ET_INVERTER_GRID = Table(
    (
        reg("active_power", 35140, S16, 1, Q.GRID_POWER, negate=True),
        reg("e_total_exp", 35195, U32, 0.1, Q.GRID_EXPORT_ENERGY_TOTAL),
        reg("e_total_imp", 35200, U32, 0.1, Q.GRID_IMPORT_ENERGY_TOTAL),
    )
)
BATTERY_MODE = reg("battery_mode", 35184, U16)  # 0 no battery, 1 standby, 2 discharge, 3 charge, 4/5 waiting
ET_BATTERY = Table(
    (
        reg("vbattery1", 35180, U16, 0.1, Q.BATTERY_VOLTAGE),
        reg("ibattery1", 35181, S16, 0.1, Q.BATTERY_CURRENT),  # + = discharge, like the power
        reg("pbattery1", 35182, S32, 1, Q.BATTERY_POWER),  # + = discharge, as canonical
        BATTERY_MODE,
        reg("e_bat_charge_total", 35206, U32, 0.1, Q.BATTERY_CHARGE_ENERGY_TOTAL),
        reg("e_bat_discharge_total", 35209, U32, 0.1, Q.BATTERY_DISCHARGE_ENERGY_TOTAL),
        # BMS block 37000..37023 (first battery)
        reg("battery_temperature", 37003, S16, 0.1, Q.BATTERY_TEMPERATURE, absent=NO_SENSOR),
        reg("battery_error_l", 37006, U16),
        reg("battery_soc", 37007, U16, 1, Q.BATTERY_SOC),
        reg("battery_soh", 37008, U16, 1, Q.BATTERY_SOH),
        reg("battery_warning_l", 37010, U16),
        reg("battery_error_h", 37012, U16),
        reg("battery_warning_h", 37013, U16),
    )
)
BMS_START, BMS_COUNT = 37000, 24
BMS_INFO = Table((reg("battery_protocol", 37011, U16), reg("battery_sw_version", 37014, U16)))

# -- ET smart meter block 36000.. (the inverter's view of its meter; powers + = export) ---------------------
METER_START, METER_COUNT = 36000, 45
METER_EXTENDED_COUNT = 125  # platform 745 (and >= 15 kW models): the block reaches 36124
ET_METER = Table(
    (
        reg("meter_test_status", 36003, U16),  # 0 unchecked, 1 correct, 2 reversed, 3 incorrect
        reg("meter_comm_status", 36004, U16),  # 1 OK
        reg("meter_frequency", 36014, U16, 0.01, Q.GRID_FREQUENCY),
        reg("meter_active_power1", 36019, S32, 1, Q.GRID_POWER_L1, negate=True),
        reg("meter_active_power2", 36021, S32, 1, Q.GRID_POWER_L2, negate=True),
        reg("meter_active_power3", 36023, S32, 1, Q.GRID_POWER_L3, negate=True),
        reg("meter_active_power_total", 36025, S32, 1, Q.GRID_POWER, negate=True),
    )
)
METER_INFO = Table((reg("meter_type", 36043, U16), reg("meter_sw_version", 36044, U16)))
# The meter's lifetime totals live in one of two places, by platform: float Wh (205 platform), or 64-bit
# counters of 0.01 kWh (745 platform and >= 15 kW models, whose float registers stay 0 — a real-looking
# zero that must never be published).
ET_METER_FLOAT_TOTALS = Table(
    (
        reg("meter_e_total_exp", 36015, F32, 0.001, Q.GRID_EXPORT_ENERGY_TOTAL),  # Wh -> kWh
        reg("meter_e_total_imp", 36017, F32, 0.001, Q.GRID_IMPORT_ENERGY_TOTAL),
    )
)
ET_METER_U64_TOTALS = Table(
    (
        reg("meter_e_total_exp_u64", 36104, U64, 0.01, Q.GRID_EXPORT_ENERGY_TOTAL),
        reg("meter_e_total_imp_u64", 36120, U64, 0.01, Q.GRID_IMPORT_ENERGY_TOTAL),
    )
)

# -- DT PV inverter -------------------------------------------------------------------------------------
DT_INFO_START, DT_INFO_COUNT = 30001, 40
DT_INFO = Table(
    (
        text("serial", 30004, 8),
        text("model_name", 30012, 5),
        reg("dsp1_version", 30034, U16),
        reg("dsp2_version", 30035, U16),
        reg("arm_version", 30036, U16),
    )
)
# Running data 30100..30172. PV string power is no register: it is V x I.
DT_RUN_START, DT_RUN_COUNT = 30100, 73
DT_INVERTER = Table(
    (
        reg("vpv1", 30103, U16, 0.1, Q.PV1_VOLTAGE),
        reg("ipv1", 30104, U16, 0.1, Q.PV1_CURRENT),
        reg("vpv2", 30105, U16, 0.1, Q.PV2_VOLTAGE),
        reg("ipv2", 30106, U16, 0.1, Q.PV2_CURRENT),
        reg("vpv3", 30107, U16, 0.1),
        reg("ipv3", 30108, U16, 0.1),
        reg("vpv4", 30109, U16, 0.1),
        reg("ipv4", 30110, U16, 0.1),
        reg("vgrid1", 30118, U16, 0.1, Q.GRID_VOLTAGE_L1),
        reg("igrid1", 30121, U16, 0.1, Q.GRID_CURRENT_L1),
        reg("fgrid1", 30124, U16, 0.01, Q.GRID_FREQUENCY),
        reg("total_inverter_power", 30127, U32, 1, Q.AC_POWER),
        reg("work_mode", 30129, U16),  # see DT_WORK_MODES
        reg("error_codes", 30130, U32),
        reg("warning_code", 30132, U16),
        reg("temperature", 30141, S16, 0.1, Q.INVERTER_TEMPERATURE, absent=NO_SENSOR),
        reg("e_day", 30144, U16, 0.1, Q.PV_ENERGY_TODAY),
        reg("e_total", 30145, U32, 0.1, Q.PV_ENERGY_TOTAL),
    )
)
DT_INVERTER_L2_L3 = Table(
    (
        reg("vgrid2", 30119, U16, 0.1, Q.GRID_VOLTAGE_L2),
        reg("vgrid3", 30120, U16, 0.1, Q.GRID_VOLTAGE_L3),
        reg("igrid2", 30122, U16, 0.1, Q.GRID_CURRENT_L2),
        reg("igrid3", 30123, U16, 0.1, Q.GRID_CURRENT_L3),
    )
)

# -- ET settings (read and written by the controls, never by a poll) ---------------------------------------
# GoodWe's ET/EH/BT/BH Modbus protocol, settings section: the battery's on-grid depth of discharge
# (45356, %: the battery keeps 100 - DoD), the export limit (47509 on/off, 47510 W) and the EMS mode with
# its power set point (47511, 47512 W; the modes are GoodWe's table "EMS Power Mode"). Learned from
# GoodWe's tables as OpenEMS and the ``goodwe`` library use them, not copied.
ET_SETTINGS = Table(
    (
        reg("battery_discharge_depth", 45356, U16),  # % (0..99 in GoodWe's app)
        reg("export_limit_enabled", 47509, U16),  # 0 off, 1 on
        reg("export_limit", 47510, U16),  # W
        reg("ems_mode", 47511, U16),  # see controls.EMS_MODES
        reg("ems_power", 47512, U16),  # W
    )
)
