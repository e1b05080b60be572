"""Huawei SUN2000 alarm registers: what each bit means, in canonical fault codes.

Source: Huawei Technologies, "Solar Inverter Modbus Interface Definitions", Issue 04 (2023-01-10), table
"Alarms via Modbus": Alarm 1 (32008), Alarm 2 (32009) and Alarm 3 (32010), each a Bitfield16 whose 16
bits are all named (alarm name, Huawei alarm ID, level). The comments give Huawei's name and alarm ID.

Three bits are about the battery. They are reported by the battery device when the inverter has one (a
hybrid inverter's own words carry no battery faults upstream); without a battery they stay on the
inverter as unknown faults with their raw code, so nothing is lost.
"""

from __future__ import annotations

from collections.abc import Mapping

from ...faults import FaultSource
from ...model import Role

# Alarm 1, 32008.
_ALARM_1_BITS: Mapping[int, str] = {
    0: "pv_over_voltage",  # High String Input Voltage (2001)
    1: "arc_fault",  # DC Arc Fault (2002)
    2: "pv_reverse_connection",  # String Reverse Connection (2011)
    3: "pv_string_abnormal",  # String Current Backfeed (2012), warning
    4: "pv_string_abnormal",  # Abnormal String Power (2013), warning
    5: "hardware_test_failure",  # AFCI Self-Check Fail (2021)
    6: "ground_fault",  # Phase Wire Short-Circuited to PE (2031)
    7: "grid_loss",  # Grid Loss (2032)
    8: "grid_under_voltage",  # Grid Undervoltage (2033)
    9: "grid_over_voltage",  # Grid Overvoltage (2034)
    10: "grid_voltage_imbalance",  # Grid Volt. Imbalance (2035)
    11: "grid_over_frequency",  # Grid Overfrequency (2036)
    12: "grid_under_frequency",  # Grid Underfrequency (2037)
    13: "grid_frequency_out_of_range",  # Unstable Grid Frequency (2038)
    14: "grid_over_current",  # Output Overcurrent (2039)
    15: "dc_injection_high",  # Output DC Component Overhigh (2040)
}

# Alarm 2, 32009 (bit 9 is the battery's).
_ALARM_2_BITS: Mapping[int, str] = {
    0: "ground_fault",  # Abnormal Residual Current (2051): leakage to earth
    1: "grounding_abnormal",  # Abnormal Grounding (2061)
    2: "insulation_resistance_low",  # Low Insulation Resistance (2062)
    3: "over_temperature",  # Overtemperature (2063)
    4: "device_fault",  # Device Fault (2064)
    5: "device_fault",  # Upgrade Failed or Version Mismatch (2065)
    6: "manufacturer_alarm",  # License Expired (2066), warning
    7: "device_fault",  # Faulty Monitoring Unit (61440)
    8: "meter_sensor_missing",  # Faulty Power Collector (2067): the power meter
    10: "grid_loss",  # Active Islanding (2070)
    11: "grid_loss",  # Passive Islanding (2071)
    12: "grid_over_voltage",  # Transient AC Overvoltage (2072)
    13: "device_fault",  # Peripheral port short circuit (2075)
    14: "backup_overload",  # Churn output overload (2077): the off-grid (backup) output
    15: "pv_configuration_abnormal",  # Abnormal PV module configuration (2080)
}
_ALARM_2_BATTERY_BITS: Mapping[int, str] = {
    9: "bms_other_warning",  # Battery abnormal (2068), minor
}

# Alarm 3, 32010 (bits 4 and 15 are the battery's).
_ALARM_3_BITS: Mapping[int, str] = {
    0: "pv_string_abnormal",  # Optimizer fault (2081), warning
    1: "device_fault",  # Built-in PID operation abnormal (2085)
    2: "pv_over_voltage",  # High input string voltage to ground (2014)
    3: "external_fan_failure",  # External Fan Abnormal (2086)
    5: "device_fault",  # On-grid/Off-grid controller abnormal (2082)
    6: "pv_string_abnormal",  # PV String Loss (2015), warning
    7: "internal_fan_failure",  # Internal Fan Abnormal (2087)
    8: "device_fault",  # DC Protection Unit Abnormal (2088)
    9: "device_fault",  # EL Unit Abnormal (2089)
    10: "manufacturer_alarm",  # Active Adjustment Instruction Abnormal (2090): a dispatch command
    11: "manufacturer_alarm",  # Reactive Adjustment Instruction Abnormal (2091)
    12: "meter_wiring_incorrect",  # CT Wiring Abnormal (2092)
    13: "arc_fault",  # DC Arc Fault, to be cleared manually (2003)
    14: "device_fault",  # DC Switch Abnormal (2093)
}
_ALARM_3_BATTERY_BITS: Mapping[int, str] = {
    4: "battery_reverse_connection",  # Battery Reverse Connection (2069)
    15: "bms_soc_low_warning",  # Allowable discharge capacity of the battery is low (2094), warning
}

ALARM_1 = FaultSource("huawei_alarm1", Role.INVERTER, _ALARM_1_BITS)
ALARM_2 = FaultSource("huawei_alarm2", Role.INVERTER, _ALARM_2_BITS)
ALARM_3 = FaultSource("huawei_alarm3", Role.INVERTER, _ALARM_3_BITS)
BATTERY_ALARM_2 = FaultSource("huawei_battery_alarm2", Role.BATTERY, _ALARM_2_BATTERY_BITS)
BATTERY_ALARM_3 = FaultSource("huawei_battery_alarm3", Role.BATTERY, _ALARM_3_BATTERY_BITS)

# The bits of each alarm word that belong to the battery device (when the inverter has a battery).
BATTERY_MASK_2 = sum(1 << bit for bit in _ALARM_2_BATTERY_BITS)
BATTERY_MASK_3 = sum(1 << bit for bit in _ALARM_3_BATTERY_BITS)

SOURCES: tuple[FaultSource, ...] = (ALARM_1, ALARM_2, ALARM_3, BATTERY_ALARM_2, BATTERY_ALARM_3)
