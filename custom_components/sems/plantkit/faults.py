"""Canonical fault catalogue: raw vendor fault bits -> stable, vendor-neutral fault codes.

Profiles report faults raw, one string per set bit: ``"<source>:<bit>"`` (``"sunspec_evt1:0"``,
``"goodwe_error:18"``). ``resolve`` turns them into ``Fault`` objects with a canonical ``code`` that is the
same across brands when the meaning is the same (a SunSpec GROUND_FAULT and a GoodWe "Ground I" failure
are both ``ground_fault``), so automations and translations are written once.

The catalogue is plain data: ``FAULT_DEFINITIONS`` (canonical code -> group, severity, English name) and
``_BITS_BY_SOURCE`` (source -> bit -> canonical code). Group and severity belong to the canonical code, not
to the raw bit, so one code can never end up in two groups. Nothing is dropped: a bit the catalogue does
not know becomes ``unknown_fault`` with its raw code kept.

Bit meanings: SunSpec model definitions (models 101-103/111-113 Evt1, 701 Alrm, 802 Evt1, 201-204/211-214
Evt, 160 Evt) and GoodWe's ET/EH/BT/BH register documentation (error_codes 35189, BMS words 37006/37012
and 37010/37013). See protocols.md §1.3 and §3.3.

``python -m custom_components.sems.plantkit.faults`` prints the ``{"code": "English name"}`` JSON block
for translations.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class FaultGroup(StrEnum):
    """What part of the plant a fault is about."""

    GRID = "grid"
    INSULATION = "insulation"  # insulation resistance, ground / residual current
    TEMPERATURE = "temperature"  # over / under temperature
    PV = "pv"  # PV / DC input side
    BATTERY = "battery"
    COMMUNICATION = "communication"  # meter and internal communication
    OTHER = "other"


class Severity(StrEnum):
    """Fault: the device stops or protects itself. Warning: it keeps running, attention needed."""

    FAULT = "fault"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class FaultDefinition:
    """Group, severity and English name of one canonical fault code."""

    group: FaultGroup
    severity: Severity
    name: str


@dataclass(frozen=True, slots=True)
class Fault:
    """One active fault: its canonical code and the raw vendor code it came from."""

    code: str  # canonical, stable id, e.g. "grid_over_voltage"
    group: FaultGroup
    severity: Severity
    raw: str  # as the profile reported it, e.g. "sunspec_evt1:10"

    @property
    def name(self) -> str:
        """English name of the canonical code."""
        return FAULT_NAMES[self.code]

    @property
    def description(self) -> str:
        """Name plus raw code, e.g. "Unknown fault (goodwe_error:2)": unknown bits stay identifiable."""
        return f"{self.name} ({self.raw})"


UNKNOWN_FAULT: Final = "unknown_fault"
# GoodWe's warning_code word (ET 35185, DT 30132) has no published bit table; its bits are warnings by
# register, so they stay warnings instead of becoming unknown *faults*.
UNSPECIFIED_INVERTER_WARNING: Final = "inverter_warning"

_G = FaultGroup
_FAULT = Severity.FAULT
_WARN = Severity.WARNING


def _fault(group: FaultGroup, name: str) -> FaultDefinition:
    return FaultDefinition(group, _FAULT, name)


def _warning(group: FaultGroup, name: str) -> FaultDefinition:
    return FaultDefinition(group, _WARN, name)


# Canonical codes. Order is the order of FAULT_CODES (and of the generated translation block).
FAULT_DEFINITIONS: Final[Mapping[str, FaultDefinition]] = {
    # -- grid ------------------------------------------------------------------------------------------
    "grid_loss": _fault(_G.GRID, "Grid lost"),
    "grid_over_voltage": _fault(_G.GRID, "Grid over-voltage"),
    "grid_under_voltage": _fault(_G.GRID, "Grid under-voltage"),
    "grid_voltage_out_of_range": _fault(_G.GRID, "Grid voltage out of range"),
    "grid_over_frequency": _fault(_G.GRID, "Grid over-frequency"),
    "grid_under_frequency": _fault(_G.GRID, "Grid under-frequency"),
    "grid_frequency_out_of_range": _fault(_G.GRID, "Grid frequency out of range"),
    "grid_phase_failure": _fault(_G.GRID, "Grid phase failure"),
    "grid_phase_angle_failure": _fault(_G.GRID, "Grid phase angle failure"),
    "grid_voltage_consistency_failure": _fault(_G.GRID, "Grid voltage measurements disagree"),
    "grid_frequency_consistency_failure": _fault(_G.GRID, "Grid frequency measurements disagree"),
    "dc_injection_high": _fault(_G.GRID, "DC injection into the grid too high"),
    "dci_consistency_failure": _fault(_G.GRID, "DC injection measurements disagree"),
    "ac_disconnect": _fault(_G.GRID, "AC disconnect open"),
    "grid_over_current": _warning(_G.GRID, "Grid over-current"),
    "low_power_factor": _warning(_G.GRID, "Low power factor"),
    # -- insulation / ground ---------------------------------------------------------------------------
    "ground_fault": _fault(_G.INSULATION, "Ground fault"),
    "insulation_resistance_low": _fault(_G.INSULATION, "Insulation resistance too low"),
    "gfci_self_test_failure": _fault(_G.INSULATION, "Residual current monitor self-test failed"),
    "gfci_device_failure": _fault(_G.INSULATION, "Residual current monitor failure"),
    "gfci_consistency_failure": _fault(_G.INSULATION, "Residual current measurements disagree"),
    # -- temperature -----------------------------------------------------------------------------------
    "over_temperature": _fault(_G.TEMPERATURE, "Over-temperature"),
    "under_temperature": _fault(_G.TEMPERATURE, "Under-temperature"),
    "bms_over_temperature_alarm": _fault(_G.TEMPERATURE, "Battery over-temperature alarm"),
    "bms_over_temperature_warning": _warning(_G.TEMPERATURE, "Battery over-temperature warning"),
    "bms_under_temperature_alarm": _fault(_G.TEMPERATURE, "Battery under-temperature alarm"),
    "bms_under_temperature_warning": _warning(_G.TEMPERATURE, "Battery under-temperature warning"),
    "bms_temperature_imbalance_alarm": _fault(_G.TEMPERATURE, "Battery temperature imbalance alarm"),
    "bms_temperature_imbalance_warning": _warning(_G.TEMPERATURE, "Battery temperature imbalance warning"),
    # -- PV / DC input ---------------------------------------------------------------------------------
    "pv_over_voltage": _fault(_G.PV, "PV over-voltage"),
    "pv_under_voltage": _warning(_G.PV, "PV under-voltage"),
    "pv_over_current": _fault(_G.PV, "PV over-current"),
    "dc_disconnect": _fault(_G.PV, "DC disconnect open"),
    "blown_string_fuse": _fault(_G.PV, "Blown string fuse"),
    "arc_fault": _fault(_G.PV, "Arc fault detected"),
    "dc_bus_over_voltage": _fault(_G.PV, "DC bus over-voltage"),
    # -- battery ---------------------------------------------------------------------------------------
    "bms_over_voltage_alarm": _fault(_G.BATTERY, "Battery over-voltage alarm"),
    "bms_over_voltage_warning": _warning(_G.BATTERY, "Battery over-voltage warning"),
    "bms_under_voltage_alarm": _fault(_G.BATTERY, "Battery under-voltage alarm"),
    "bms_under_voltage_warning": _warning(_G.BATTERY, "Battery under-voltage warning"),
    "bms_charge_over_current_alarm": _fault(_G.BATTERY, "Battery charge over-current alarm"),
    "bms_charge_over_current_warning": _warning(_G.BATTERY, "Battery charge over-current warning"),
    "bms_discharge_over_current_alarm": _fault(_G.BATTERY, "Battery discharge over-current alarm"),
    "bms_discharge_over_current_warning": _warning(_G.BATTERY, "Battery discharge over-current warning"),
    "bms_soc_low_alarm": _fault(_G.BATTERY, "Battery state of charge below minimum alarm"),
    "bms_soc_low_warning": _warning(_G.BATTERY, "Battery state of charge below minimum warning"),
    "bms_soc_high_alarm": _fault(_G.BATTERY, "Battery state of charge above maximum alarm"),
    "bms_soc_high_warning": _warning(_G.BATTERY, "Battery state of charge above maximum warning"),
    "bms_voltage_imbalance_warning": _warning(_G.BATTERY, "Battery cell voltage imbalance"),
    "bms_current_imbalance_warning": _warning(_G.BATTERY, "Battery current imbalance"),
    "bms_contactor_failure": _fault(_G.BATTERY, "Battery contactor failure"),
    "bms_precharge_failure": _fault(_G.BATTERY, "Battery precharge failure"),
    "bms_dc_bus_failure": _fault(_G.BATTERY, "Battery DC bus failure"),
    "bms_circuit_break": _fault(_G.BATTERY, "Battery circuit broken"),
    "bms_locked": _fault(_G.BATTERY, "Battery locked"),
    "bms_charge_circuit_failure": _fault(_G.BATTERY, "Battery charge circuit failure"),
    "bms_discharge_circuit_failure": _fault(_G.BATTERY, "Battery discharge circuit failure"),
    "bms_configuration_alarm": _fault(_G.BATTERY, "Battery configuration alarm"),
    "bms_configuration_warning": _warning(_G.BATTERY, "Battery configuration warning"),
    "bms_system_reboot": _warning(_G.BATTERY, "Battery system rebooted"),
    "bms_other_alarm": _fault(_G.BATTERY, "Other battery alarm"),
    "bms_other_warning": _warning(_G.BATTERY, "Other battery warning"),
    # -- communication ---------------------------------------------------------------------------------
    "bms_communication_alarm": _fault(_G.COMMUNICATION, "Battery communication alarm"),
    "bms_communication_warning": _warning(_G.COMMUNICATION, "Battery communication warning"),
    "internal_communication_failure": _fault(_G.COMMUNICATION, "Internal communication failure"),
    "meter_sensor_missing": _fault(_G.COMMUNICATION, "Meter sensor missing"),
    "meter_wiring_reversed": _warning(_G.COMMUNICATION, "Meter or current sensor connected in reverse"),
    "meter_wiring_incorrect": _warning(_G.COMMUNICATION, "Meter wiring incorrect"),
    # -- other -----------------------------------------------------------------------------------------
    "cabinet_open": _fault(_G.OTHER, "Cabinet open"),
    "manual_shutdown": _warning(_G.OTHER, "Manual shutdown"),
    "memory_failure": _fault(_G.OTHER, "Memory failure"),
    "hardware_test_failure": _fault(_G.OTHER, "Hardware self-test failed"),
    "relay_failure": _fault(_G.OTHER, "Relay failure"),
    "relay_check_failure": _fault(_G.OTHER, "Relay check failed"),
    "ac_current_sensor_failure": _fault(_G.OTHER, "AC current sensor failure"),
    "ac_current_sensor_check_failure": _fault(_G.OTHER, "AC current sensor check failed"),
    "fan_failure": _fault(_G.OTHER, "Fan failure"),
    "internal_fan_failure": _fault(_G.OTHER, "Internal fan failure"),
    "external_fan_failure": _fault(_G.OTHER, "External fan failure"),
    "backup_overload": _fault(_G.OTHER, "Backup output overloaded"),
    "manufacturer_alarm": _warning(_G.OTHER, "Manufacturer-specific alarm"),
    UNSPECIFIED_INVERTER_WARNING: _warning(_G.OTHER, "Inverter warning"),
    UNKNOWN_FAULT: _fault(_G.OTHER, "Unknown fault"),
}

# SunSpec inverter events: 101-103/111-113 Evt1 bits 0-15; 701 Alrm repeats them and adds bit 16.
_SUNSPEC_INVERTER_BITS: Final[Mapping[int, str]] = {
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
_SUNSPEC_701_BITS: Final[Mapping[int, str]] = {**_SUNSPEC_INVERTER_BITS, 16: "manufacturer_alarm"}

# SunSpec 160 (multiple MPPT) Evt / module DCEvt. Bits 2, 4, 8-11, 16-19 and 23+ are reserved.
_SUNSPEC_MPPT_BITS: Final[Mapping[int, str]] = {
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
_SUNSPEC_METER_BITS: Final[Mapping[int, str]] = {
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
_SUNSPEC_BATTERY_BITS: Final[Mapping[int, str]] = {
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

# GoodWe error_codes (ET 35189, DT 30130), u32. Bits 2, 5, 21, 24 and 26 are blank in GoodWe's table.
# "GFCI" is GoodWe's residual-current monitor, "HCT" its AC Hall current sensor, "DCI" DC injection.
_GOODWE_ERROR_BITS: Final[Mapping[int, str]] = {
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
_GOODWE_BMS_ALARM_BITS: Final[Mapping[int, str]] = {
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
_GOODWE_BMS_WARNING_BITS: Final[Mapping[int, str]] = {
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

# GoodWe meter test status (ET 36003) as the goodwe_et_meter profile reports it: value, not bit.
_GOODWE_METER_TEST_VALUES: Final[Mapping[int, str]] = {
    2: "meter_wiring_reversed",
    3: "meter_wiring_incorrect",
}

# The raw source prefixes the profiles emit. 701 Alrm is reported as "sunspec_alrm" by profiles/sunspec.py;
# "sunspec_evt1" also accepts bit 16 so a profile that folds Alrm into Evt1 resolves the same way.
_BITS_BY_SOURCE: Final[Mapping[str, Mapping[int, str]]] = {
    "sunspec_evt1": _SUNSPEC_701_BITS,
    "sunspec_alrm": _SUNSPEC_701_BITS,
    "sunspec_160_evt": _SUNSPEC_MPPT_BITS,
    "sunspec_meter_evt": _SUNSPEC_METER_BITS,
    "sunspec_802_evt1": _SUNSPEC_BATTERY_BITS,
    "goodwe_error": _GOODWE_ERROR_BITS,
    "goodwe_bms_alarm": _GOODWE_BMS_ALARM_BITS,
    "goodwe_bms_warning": _GOODWE_BMS_WARNING_BITS,
    "goodwe_meter_test": _GOODWE_METER_TEST_VALUES,
}

# Sources without a published bit table: every bit gets this code instead of unknown_fault.
_SOURCE_FALLBACKS: Final[Mapping[str, str]] = {
    "goodwe_warning": UNSPECIFIED_INVERTER_WARNING,
}

CATALOGUE: Final[Mapping[str, str]] = {
    f"{source}:{bit}": code for source, bits in _BITS_BY_SOURCE.items() for bit, code in bits.items()
}
"""Every known raw code ("<source>:<bit>") and its canonical code."""

FAULT_CODES: Final[tuple[str, ...]] = tuple(FAULT_DEFINITIONS)
FAULT_NAMES: Final[Mapping[str, str]] = {code: d.name for code, d in FAULT_DEFINITIONS.items()}
RAW_SOURCES: Final[frozenset[str]] = frozenset(_BITS_BY_SOURCE) | frozenset(_SOURCE_FALLBACKS)


def canonical_code(raw: str) -> str:
    """The canonical code of one raw fault code; ``unknown_fault`` when the catalogue has no entry."""
    code = CATALOGUE.get(raw)
    if code is not None:
        return code
    source, _, _ = raw.partition(":")
    return _SOURCE_FALLBACKS.get(source, UNKNOWN_FAULT)


def to_fault(raw: str) -> Fault:
    """The ``Fault`` of one raw fault code."""
    code = canonical_code(raw)
    definition = FAULT_DEFINITIONS[code]
    return Fault(code, definition.group, definition.severity, raw)


_SEVERITY_RANK: Final[Mapping[Severity, int]] = {Severity.FAULT: 0, Severity.WARNING: 1}


def _order(fault: Fault) -> tuple[int, str, str, int, str]:
    # Faults before warnings, then by code; bits in numeric order so "x:2" sorts before "x:10".
    source, _, bit = fault.raw.partition(":")
    number = int(bit) if bit.isdecimal() else -1
    return (_SEVERITY_RANK[fault.severity], fault.code, source, number, fault.raw)


def resolve(raw_codes: Iterable[str]) -> list[Fault]:
    """Canonical faults of raw fault codes: one per distinct raw code, none dropped, stable order."""
    return sorted((to_fault(raw) for raw in set(raw_codes)), key=_order)


# Canonical codes that say nothing on their own: each raw bit behind them stays a fault of its own.
_UNSPECIFIC_CODES: Final = frozenset({UNKNOWN_FAULT, UNSPECIFIED_INVERTER_WARNING})


@dataclass(frozen=True, slots=True)
class ActiveFault:
    """One fault as a device's owner sees it: raw codes that mean the same thing are one fault.

    A SunSpec inverter reports a trip both in its 103 ``Evt1`` and its 701 ``Alrm`` word; that is one
    fault with two raw codes. Bits the catalogue cannot name stay apart, keyed by their raw code.
    """

    key: str  # stable announcement key: the canonical code, or the raw code of an unspecific one
    code: str
    group: FaultGroup
    severity: Severity
    raw: tuple[str, ...]  # every raw vendor code behind it, in catalogue order

    @property
    def name(self) -> str:
        """English name of the canonical code."""
        return FAULT_NAMES[self.code]

    def as_dict(self) -> dict[str, str]:
        """JSON-safe shape for attributes, events and diagnostics: code, name, severity, group, raw."""
        return {
            "code": self.code,
            "name": self.name,
            "severity": str(self.severity),
            "group": str(self.group),
            "raw": ", ".join(self.raw),
        }


def merge(raw_codes: Iterable[str]) -> tuple[ActiveFault, ...]:
    """The active faults of a device's raw fault codes, worst first (faults before warnings, then code)."""
    merged: dict[str, list[Fault]] = {}
    for fault in resolve(raw_codes):
        key = fault.raw if fault.code in _UNSPECIFIC_CODES else fault.code
        merged.setdefault(key, []).append(fault)
    return tuple(
        ActiveFault(key, faults[0].code, faults[0].group, faults[0].severity, tuple(f.raw for f in faults))
        for key, faults in merged.items()
    )


def translations_json() -> str:
    """The ``{"code": "English name"}`` block for the integration's translations, as JSON text."""
    return json.dumps(dict(FAULT_NAMES), indent=2, ensure_ascii=False)


if __name__ == "__main__":
    print(translations_json())
