"""Huawei SUN2000 register facts, each stated once (holding registers, read with FC 03).

Source: Huawei Technologies, "Solar Inverter Modbus Interface Definitions", Issue 04 (2023-01-10), the
public SUN2000 interface definition: sections "Inverter Equipment", "Meter" (the power meter as the
inverter reports it), "Battery" (energy storage, e.g. LUNA2000), "Alarms via Modbus" and "Model and
Firmware". Read in its public transcription at debacher.de/wiki/Sun2000_Modbus_Register; the facts are
stated here from the document, no other project's tables or code are used.

- Addresses are the register addresses the document prints; requests carry them unchanged.
- Each field states the document's type, unit and gain (value = raw / gain); ``reg`` turns that into the
  canonical unit ("kW, gain 1000" is one watt per count).
- Signs, each checked against the document's "Scope" column:
  - inverter active power 32080: + = the inverter outputs AC (the canonical sign already);
  - meter active power 37113 and the phase powers 37132-37136: "> 0: feed-in to the power grid,
    < 0: supply from the power grid", i.e. + = export: negated (canonical + = import);
  - battery charge/discharge power: the energy storage total 37765 states no sign; the per-unit
    registers it sums (37001, 37743) say "> 0: charging, < 0: discharging": negated (canonical
    + = discharge);
  - currents (inverter 32072-32076, meter 37107-37111) are signed types without a stated direction: the
    profile publishes their magnitude.
- Energy counters: u32 x 0.01 kWh (inverter yield 32106/32114, battery totals 37780/37782); the meter's
  totals are int32 x 0.01 kWh: 37119 "positive active electricity" is what the inverter fed to the grid
  (export), 37121 "reverse active power" what the grid supplied (import).
- The document marks no value as "not available": every raw value is taken as real.

Settings (read and written by the controls, never by a poll; ``SETTINGS``), from the document's
sections "Battery" (energy storage settings 47xxx, unit 1 running data 37xxx) and "Inverter Equipment"
(active power control), each fact checked against a public reading of the document: the register list
of the ``sun2000_modbus`` package (parsed from the document), my-gekko's SUN2000 device profile and
evcc's SUN2000 hybrid template (facts only, no code or tables taken):
- 37006 unit 1 working mode (RO): 1 forcible charge/discharge, 4 maximise self consumption (others:
  0 none, 2 TOU (LG), 3 fixed charge/discharge, 5 fully fed to grid, 6 TOU (LUNA2000), 7-10 remote
  scheduling and AI modes);
- 47075 maximum charging power, 47077 maximum discharging power: U32, W (gain 1);
- 47082 end-of-discharge SOC ("discharge cutoff capacity"): U16, %, gain 10;
- 47083 forcible charge/discharge period: U16, minutes (1..1440 where the setting mode is "duration");
- 47086 working mode settings: U16, 0 adaptive, 1 fixed charge/discharge, 2 maximise self consumption,
  3 TOU (LG), 4 fully fed to grid, 5 TOU (LUNA2000);
- 47087 charge from grid: U16, 0 disable, 1 enable;
- 47100 forcible charge/discharge: U16, write only ("WO": it cannot be read back), 0 stop, 1 charge,
  2 discharge;
- 47246 forcible charge/discharge setting mode: U16, 0 duration (47083);
- 47247 forcible charge power, 47249 forcible discharge power: U32, W (one watt per count);
- 47415 active power control mode: U16, 0 unlimited, 1 DI active scheduling, 5 zero-power grid
  connection, 6 power-limited grid connection (kW), 7 power-limited grid connection (%);
- 47416 maximum feed-in power: I32, kW, gain 1000.
"""

from __future__ import annotations

from ...model import Quantity
from ...registers import DataType
from ..table import Field, Table

U16, I16, U32, I32 = DataType.U16, DataType.S16, DataType.U32, DataType.S32
Q = Quantity


# The canonical units of the document's units: kW values become W, the rest is in canonical units.
_TO_CANONICAL = {
    "kW": 1000.0,
    "W": 1.0,
    "kWh": 1.0,
    "V": 1.0,
    "A": 1.0,
    "Hz": 1.0,
    "%": 1.0,
    "°C": 1.0,
    "": 1.0,
}


def reg(
    key: str,
    address: int,
    dtype: DataType,
    unit: str = "",
    gain: int = 1,
    quantity: Quantity | None = None,
    *,
    negate: bool = False,
) -> Field:
    """A holding register as the document states it: type, unit and gain (value = raw / gain)."""
    return Field(key, address, dtype, _TO_CANONICAL[unit] / gain, quantity, negate)


def text(key: str, address: int, length: int) -> Field:
    """An ASCII string of ``length`` registers (the document's STR)."""
    return Field(key, address, DataType.STRING, length=length)


# -- inverter: identification (read while probing) -------------------------------------------------------
INFO_START, INFO_COUNT = 30000, 35  # model, SN and PN in one read
INFO = Table(
    (
        text("model", 30000, 15),  # e.g. "SUN2000-10KTL-M1"
        text("serial", 30015, 10),
        text("part_number", 30025, 10),
    )
)
RATING_START, RATING_COUNT = 30070, 5
RATING = Table(
    (
        reg("model_id", 30070, U16),  # the document's "Model and Firmware" table
        reg("pv_strings", 30071, U16),
        reg("mpp_trackers", 30072, U16),
        reg("rated_power", 30073, U32, "kW", 1000),  # whole watts
    )
)

# -- inverter: running data -------------------------------------------------------------------------------
ALARM_1 = reg("alarm_1", 32008, U16)  # Bitfield16, bits in faults.py
ALARM_2 = reg("alarm_2", 32009, U16)
ALARM_3 = reg("alarm_3", 32010, U16)
DEVICE_STATUS = reg("device_status", 32089, U16)  # codes in profile.py
INVERTER = Table(
    (
        ALARM_1,
        ALARM_2,
        ALARM_3,
        reg("pv1_voltage", 32016, I16, "V", 10, Q.PV1_VOLTAGE),
        reg("pv1_current", 32017, I16, "A", 100, Q.PV1_CURRENT),
        reg("input_power", 32064, I32, "kW", 1000, Q.PV_POWER),  # the DC input of the strings
        reg("active_power", 32080, I32, "kW", 1000, Q.AC_POWER),
        reg("grid_frequency", 32085, U16, "Hz", 100, Q.GRID_FREQUENCY),
        reg("internal_temperature", 32087, I16, "°C", 10, Q.INVERTER_TEMPERATURE),
        DEVICE_STATUS,
        # Huawei's "energy yield" is the plant's production (what the inverter's app shows as yield).
        reg("accumulated_yield", 32106, U32, "kWh", 100, Q.PV_ENERGY_TOTAL),
        reg("daily_yield", 32114, U32, "kWh", 100, Q.PV_ENERGY_TODAY),
    )
)
PV2 = Table(
    (
        reg("pv2_voltage", 32018, I16, "V", 10, Q.PV2_VOLTAGE),
        reg("pv2_current", 32019, I16, "A", 100, Q.PV2_CURRENT),
    )
)
# Output modes L/N, L1/L2/N and L1/L2 (single phase): "power grid voltage" and "power grid current".
SINGLE_PHASE_OUTPUT = Table(
    (
        reg("grid_voltage", 32066, U16, "V", 10, Q.GRID_VOLTAGE_L1),
        reg("grid_current", 32072, I32, "A", 1000, Q.GRID_CURRENT_L1),
    )
)
THREE_PHASE_OUTPUT = Table(
    (
        reg("phase_a_voltage", 32069, U16, "V", 10, Q.GRID_VOLTAGE_L1),
        reg("phase_b_voltage", 32070, U16, "V", 10, Q.GRID_VOLTAGE_L2),
        reg("phase_c_voltage", 32071, U16, "V", 10, Q.GRID_VOLTAGE_L3),
        reg("phase_a_current", 32072, I32, "A", 1000, Q.GRID_CURRENT_L1),
        reg("phase_b_current", 32074, I32, "A", 1000, Q.GRID_CURRENT_L2),
        reg("phase_c_current", 32076, I32, "A", 1000, Q.GRID_CURRENT_L3),
    )
)

# -- energy storage (LUNA2000): the whole storage (both units), plus unit 1's temperature -----------------
STORAGE_STATUS = reg("storage_status", 37762, U16)  # 0 offline, 1 standby, 2 running, 3 fault, 4 sleep mode
BATTERY = Table(
    (
        reg("storage_soc", 37760, U16, "%", 10, Q.BATTERY_SOC),
        STORAGE_STATUS,
        reg("storage_bus_voltage", 37763, U16, "V", 10, Q.BATTERY_VOLTAGE),
        reg("storage_power", 37765, I32, "kW", 1000, Q.BATTERY_POWER, negate=True),  # + = charging
        reg("storage_total_charge", 37780, U32, "kWh", 100, Q.BATTERY_CHARGE_ENERGY_TOTAL),
        reg("storage_total_discharge", 37782, U32, "kWh", 100, Q.BATTERY_DISCHARGE_ENERGY_TOTAL),
        reg("unit1_temperature", 37022, I16, "°C", 10, Q.BATTERY_TEMPERATURE),  # documented per unit only
    )
)
# Identification of the battery (energy storage unit 1).
UNIT1_SERIAL = text("unit1_serial", 37052, 10)
UNIT1_PRODUCT_MODEL = reg("unit1_product_model", 47000, U16)  # 0 none, 1 LG-RESU, 2 HUAWEI-LUNA2000

# -- power meter, as the inverter reports it --------------------------------------------------------------
METER_STATUS = reg("meter_status", 37100, U16)  # 0 offline, 1 normal
METER_TYPE = reg("meter_type", 37125, U16)  # 0 single-phase, 1 three-phase
METER = Table(
    (
        METER_STATUS,
        reg("meter_voltage_a", 37101, I32, "V", 10, Q.GRID_VOLTAGE_L1),
        reg("meter_current_a", 37107, I32, "A", 100, Q.GRID_CURRENT_L1),
        reg("meter_active_power", 37113, I32, "W", 1, Q.GRID_POWER, negate=True),  # + = feed-in (export)
        reg("meter_frequency", 37118, I16, "Hz", 100, Q.GRID_FREQUENCY),
        reg(
            "meter_exported", 37119, I32, "kWh", 100, Q.GRID_EXPORT_ENERGY_TOTAL
        ),  # positive active electricity
        reg("meter_imported", 37121, I32, "kWh", 100, Q.GRID_IMPORT_ENERGY_TOTAL),  # reverse active power
        reg("meter_power_a", 37132, I32, "kW", 1000, Q.GRID_POWER_L1, negate=True),  # + = feed-in
    )
)
METER_PHASES_B_C = Table(
    (
        reg("meter_voltage_b", 37103, I32, "V", 10, Q.GRID_VOLTAGE_L2),
        reg("meter_voltage_c", 37105, I32, "V", 10, Q.GRID_VOLTAGE_L3),
        reg("meter_current_b", 37109, I32, "A", 100, Q.GRID_CURRENT_L2),
        reg("meter_current_c", 37111, I32, "A", 100, Q.GRID_CURRENT_L3),
        reg("meter_power_b", 37134, I32, "kW", 1000, Q.GRID_POWER_L2, negate=True),
        reg("meter_power_c", 37136, I32, "kW", 1000, Q.GRID_POWER_L3, negate=True),
    )
)

# Currents the document types as signed without saying which way they count: published as magnitudes.
UNDIRECTED_CURRENTS = frozenset({Q.GRID_CURRENT_L1, Q.GRID_CURRENT_L2, Q.GRID_CURRENT_L3})

# -- settings (read and written by the controls, never by a poll) ----------------------------------------
UNIT1_WORKING_MODE = reg("unit1_working_mode", 37006, U16)  # what the storage runs now (see docstring)
SETTINGS = Table(
    (
        UNIT1_WORKING_MODE,
        reg("max_charging_power", 47075, U32, "W"),
        reg("max_discharging_power", 47077, U32, "W"),
        reg("discharge_cutoff_soc", 47082, U16, "%", 10),  # the end-of-discharge SOC
        reg("forcible_period", 47083, U16),  # minutes
        reg("working_mode", 47086, U16),
        reg("charge_from_grid", 47087, U16),  # 0 disable, 1 enable
        reg("forcible_command", 47100, U16),  # write only: 0 stop, 1 charge, 2 discharge
        reg("forcible_setting_mode", 47246, U16),  # 0 duration
        reg("forcible_charge_power", 47247, U32, "W"),
        reg("forcible_discharge_power", 47249, U32, "W"),
        reg("active_power_control_mode", 47415, U16),
        reg("max_feed_in_power", 47416, I32, "kW", 1000),  # whole watts
    )
)
