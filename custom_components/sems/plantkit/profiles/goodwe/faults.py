"""GoodWe fault registers: what each bit means, in canonical fault codes.

Source: GoodWe's ET/EH/BT/BH Modbus register documentation (error_codes 35189, BMS words 37006/37012 and
37010/37013, meter test status 36003), as summarized in protocols.md §3.3. The DT's own bitmaps
(30130, 30132) are not documented to mean what the ET's tables say: they keep their raw codes.
"""

from __future__ import annotations

from collections.abc import Mapping

from ...faults import UNSPECIFIED_INVERTER_WARNING, FaultSource
from ...model import Role

# GoodWe error_codes (ET 35189, DT 30130), u32. Bits 2, 5, 21, 24 and 26 are blank in GoodWe's table.
# "GFCI" is GoodWe's residual-current monitor, "HCT" its AC Hall current sensor, "DCI" DC injection.
_ERROR_BITS: Mapping[int, str] = {
    0: "gfci_self_test_failure",  # GFCI Device Check Failure
    1: "ac_current_sensor_check_failure",  # AC HCT Check Failure
    3: "dci_consistency_failure",
    4: "gfci_consistency_failure",
    6: "gfci_device_failure",
    7: "relay_failure",  # Relay Device Failure
    8: "ac_current_sensor_failure",  # AC HCT Failure
    9: "grid_loss",  # Utility Loss
    10: "ground_fault",  # Ground I Failure: ground (leakage) current too high
    11: "dc_bus_over_voltage",  # DC Bus High
    12: "internal_fan_failure",
    13: "over_temperature",
    14: "grid_phase_failure",  # Utility Phase Failure
    15: "pv_over_voltage",
    16: "external_fan_failure",
    17: "grid_voltage_out_of_range",  # Vac Failure
    18: "insulation_resistance_low",  # Isolation Failure
    19: "dc_injection_high",
    20: "backup_overload",
    22: "grid_frequency_consistency_failure",  # Fac Consistency Failure
    23: "grid_voltage_consistency_failure",  # Vac Consistency Failure
    25: "relay_check_failure",
    27: "grid_phase_angle_failure",
    28: "internal_communication_failure",  # DSP communication failure
    29: "grid_frequency_out_of_range",  # Fac Failure
    30: "memory_failure",  # EEPROM R/W Failure
    31: "internal_communication_failure",
}

# GoodWe BMS alarm word (37006 low / 37012 high): level 2 and 3 protections, bits 0-15.
_BMS_ALARM_BITS: Mapping[int, str] = {
    0: "bms_over_voltage_alarm",  # charging over-voltage 2
    1: "bms_under_voltage_alarm",  # discharging under-voltage 2
    2: "bms_over_temperature_alarm",  # cell temperature high 2
    3: "bms_under_temperature_alarm",  # cell temperature low 2
    4: "bms_charge_over_current_alarm",
    5: "bms_discharge_over_current_alarm",
    6: "bms_precharge_failure",
    7: "bms_dc_bus_failure",
    8: "bms_circuit_break",  # "battery break"
    9: "bms_locked",
    10: "bms_discharge_circuit_failure",
    11: "bms_charge_circuit_failure",
    12: "bms_communication_alarm",  # communication failure 2
    13: "bms_over_temperature_alarm",  # cell temperature high 3
    14: "bms_under_voltage_alarm",  # discharging under-voltage 3
    15: "bms_over_voltage_alarm",  # charging over-voltage 3
}

# GoodWe BMS warning word (37010 low / 37013 high): level 1 versions of the alarms, bits 0-11.
_BMS_WARNING_BITS: Mapping[int, str] = {
    0: "bms_over_voltage_warning",  # charging over-voltage 1
    1: "bms_under_voltage_warning",  # discharging under-voltage 1
    2: "bms_over_temperature_warning",  # cell temperature high 1
    3: "bms_under_temperature_warning",  # cell temperature low 1
    4: "bms_charge_over_current_warning",
    5: "bms_discharge_over_current_warning",
    6: "bms_communication_warning",  # communication failure 1
    7: "bms_system_reboot",
    8: "bms_voltage_imbalance_warning",  # cell imbalance
    9: "bms_under_temperature_warning",  # system temperature low 1
    10: "bms_under_temperature_warning",  # system temperature low 2
    11: "bms_over_temperature_warning",  # system temperature high
}

# Meter test status (ET 36003): a value, not a bitmap; 2 and 3 mean the CT/meter wiring is wrong.
_METER_TEST_VALUES: Mapping[int, str] = {
    2: "meter_wiring_reversed",
    3: "meter_wiring_incorrect",
}

ERROR = FaultSource("goodwe_error", Role.INVERTER, _ERROR_BITS)
# The warning word (ET 35185) has no published bit table: its bits are warnings by register.
WARNING = FaultSource("goodwe_warning", Role.INVERTER, {}, fallback=UNSPECIFIED_INVERTER_WARNING)
BMS_ALARM = FaultSource("goodwe_bms_alarm", Role.BATTERY, _BMS_ALARM_BITS)
BMS_WARNING = FaultSource("goodwe_bms_warning", Role.BATTERY, _BMS_WARNING_BITS)
METER_TEST = FaultSource("goodwe_meter_test", Role.METER, _METER_TEST_VALUES, by_value=True)
DT_ERROR = FaultSource("goodwe_dt_error", Role.INVERTER, {})
DT_WARNING = FaultSource("goodwe_dt_warning", Role.INVERTER, {})

SOURCES: tuple[FaultSource, ...] = (ERROR, WARNING, BMS_ALARM, BMS_WARNING, METER_TEST, DT_ERROR, DT_WARNING)
