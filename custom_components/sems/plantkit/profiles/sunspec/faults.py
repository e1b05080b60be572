"""SunSpec fault registers: what each event bit means, in canonical fault codes.

Source: the SunSpec model definitions (101-103/111-113 Evt1, 701 Alrm, 160 Evt, 201-204/211-214 Evt,
802 Evt1; protocols.md §1.3). A set most significant bit means "ignore the other bits" (SunSpec/SMA
rule), handled by the decoder.
"""

from __future__ import annotations

from collections.abc import Mapping

from ...faults import FaultSource
from ...model import Role

# SunSpec inverter events: 101-103/111-113 Evt1 bits 0-15; 701 Alrm repeats them and adds bit 16.
_INVERTER_BITS: Mapping[int, str] = {
    0: "ground_fault",
    1: "pv_over_voltage",  # DC_OVER_VOLT
    2: "ac_disconnect",
    3: "dc_disconnect",
    4: "grid_loss",  # GRID_DISCONNECT
    5: "cabinet_open",
    6: "manual_shutdown",
    7: "over_temperature",
    8: "grid_over_frequency",
    9: "grid_under_frequency",
    10: "grid_over_voltage",  # AC_OVER_VOLT
    11: "grid_under_voltage",  # AC_UNDER_VOLT
    12: "blown_string_fuse",
    13: "under_temperature",
    14: "memory_failure",  # MEMORY_LOSS
    15: "hardware_test_failure",
}
_DER_BITS: Mapping[int, str] = {**_INVERTER_BITS, 16: "manufacturer_alarm"}

# SunSpec 160 (multiple MPPT) Evt / module DCEvt. Bits 2, 4, 8-11, 16-19 and 23+ are reserved.
_MPPT_BITS: Mapping[int, str] = {
    0: "ground_fault",
    1: "pv_over_voltage",  # INPUT_OVER_VOLTAGE
    3: "dc_disconnect",
    5: "cabinet_open",
    6: "manual_shutdown",
    7: "over_temperature",
    12: "blown_string_fuse",  # BLOWN_FUSE
    13: "under_temperature",
    14: "memory_failure",
    15: "arc_fault",  # ARC_DETECTION
    20: "hardware_test_failure",  # TEST_FAILED
    21: "pv_under_voltage",
    22: "pv_over_current",
}

# SunSpec 201-204 / 211-214 meter Evt. Bits 0-1 are undefined and 8-15 reserved (left unknown); 16-30 are
# OEM01-OEM15, defined by the meter maker.
_METER_BITS: Mapping[int, str] = {
    2: "grid_loss",  # Power_Failure
    3: "grid_under_voltage",
    4: "low_power_factor",
    5: "grid_over_current",
    6: "grid_over_voltage",
    7: "meter_sensor_missing",
    **dict.fromkeys(range(16, 31), "manufacturer_alarm"),
}

# SunSpec 802 (lithium-ion battery) Evt1: most conditions come as an alarm bit and a warning bit.
# Bit 27 is RESERVED_1 (left unknown).
_BATTERY_BITS: Mapping[int, str] = {
    0: "bms_communication_alarm",  # COMMUNICATION_ERROR
    1: "bms_over_temperature_alarm",
    2: "bms_over_temperature_warning",
    3: "bms_under_temperature_alarm",
    4: "bms_under_temperature_warning",
    5: "bms_charge_over_current_alarm",
    6: "bms_charge_over_current_warning",
    7: "bms_discharge_over_current_alarm",
    8: "bms_discharge_over_current_warning",
    9: "bms_over_voltage_alarm",
    10: "bms_over_voltage_warning",
    11: "bms_under_voltage_alarm",
    12: "bms_under_voltage_warning",
    13: "bms_soc_low_alarm",  # UNDER_SOC_MIN
    14: "bms_soc_low_warning",
    15: "bms_soc_high_alarm",  # OVER_SOC_MAX
    16: "bms_soc_high_warning",
    17: "bms_voltage_imbalance_warning",
    18: "bms_temperature_imbalance_alarm",
    19: "bms_temperature_imbalance_warning",
    20: "bms_contactor_failure",
    21: "fan_failure",
    22: "ground_fault",
    23: "cabinet_open",  # OPEN_DOOR_ERROR
    24: "bms_current_imbalance_warning",
    25: "bms_other_alarm",
    26: "bms_other_warning",
    28: "bms_configuration_alarm",
    29: "bms_configuration_warning",
}

INVERTER_EVT1 = FaultSource("sunspec_evt1", Role.INVERTER, _DER_BITS)
DER_ALRM = FaultSource("sunspec_alrm", Role.INVERTER, _DER_BITS)
MPPT_EVT = FaultSource("sunspec_160_evt", Role.INVERTER, _MPPT_BITS)
METER_EVT = FaultSource("sunspec_meter_evt", Role.METER, _METER_BITS)
BATTERY_EVT1 = FaultSource("sunspec_802_evt1", Role.BATTERY, _BATTERY_BITS)

SOURCES: tuple[FaultSource, ...] = (INVERTER_EVT1, DER_ALRM, MPPT_EVT, METER_EVT, BATTERY_EVT1)
