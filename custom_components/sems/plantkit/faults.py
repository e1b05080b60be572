"""Canonical faults: stable, vendor-neutral fault codes, and the typed faults profiles report.

``FAULT_DEFINITIONS`` (canonical code -> group, severity, English name) is the vocabulary every brand is
translated into: a SunSpec GROUND_FAULT and a GoodWe "Ground I" failure are both ``ground_fault``, so
automations and translations are written once. Group and severity belong to the canonical code, not to
the raw bit, so one code can never end up in two groups.

Each vendor folder states its fault registers as ``FaultSource`` tables (bit -> canonical code); a
profile turns a register value into ``Fault`` objects with ``FaultSource.faults``. Nothing is dropped: a
bit a table does not name becomes ``unknown_fault`` with its raw register and bit kept.

``python -m custom_components.sems.plantkit.faults`` prints the ``{"code": "English name"}`` JSON block
for translations.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from .model import Role


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
    raw: RawFault  # the vendor's register and bit it came from

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
    "grid_voltage_imbalance": _fault(_G.GRID, "Grid voltage imbalance"),
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
    "grounding_abnormal": _fault(_G.INSULATION, "Protective earth connection abnormal"),
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
    "pv_reverse_connection": _fault(_G.PV, "PV string connected in reverse"),
    "pv_string_abnormal": _warning(_G.PV, "PV string abnormal"),
    "pv_configuration_abnormal": _fault(_G.PV, "PV module configuration abnormal"),
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
    "battery_reverse_connection": _fault(_G.BATTERY, "Battery connected in reverse"),
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
    "device_fault": _fault(_G.OTHER, "Internal device fault"),
    "manufacturer_alarm": _warning(_G.OTHER, "Manufacturer-specific alarm"),
    UNSPECIFIED_INVERTER_WARNING: _warning(_G.OTHER, "Inverter warning"),
    UNKNOWN_FAULT: _fault(_G.OTHER, "Unknown fault"),
}

FAULT_CODES: Final[tuple[str, ...]] = tuple(FAULT_DEFINITIONS)
FAULT_NAMES: Final[Mapping[str, str]] = {code: d.name for code, d in FAULT_DEFINITIONS.items()}


@dataclass(frozen=True, slots=True, order=True)
class RawFault:
    """A vendor fault as the device reports it: a bit (or value) of one fault register."""

    source: str  # e.g. "goodwe_error", "sunspec_evt1"
    bit: int

    def __str__(self) -> str:
        return f"{self.source}:{self.bit}"


@dataclass(frozen=True, slots=True)
class FaultSource:
    """One vendor fault register and what its bits (or, for ``by_value``, its values) mean.

    Vendor folders define their sources; a bit the table does not name becomes ``fallback`` with its
    raw code kept (``unknown_fault`` unless the register is known to hold warnings only).
    """

    name: str
    role: Role  # the device that reports it
    bits: Mapping[int, str]  # bit (or value) -> canonical code
    fallback: str = UNKNOWN_FAULT
    by_value: bool = False  # the register holds one code, not a bitmap

    def __post_init__(self) -> None:
        unknown = {code for code in (*self.bits.values(), self.fallback) if code not in FAULT_DEFINITIONS}
        if unknown:
            raise ValueError(f"{self.name}: undefined fault codes {sorted(unknown)}")

    def fault(self, bit: int) -> Fault:
        """The canonical fault of one bit (or value)."""
        code = self.bits.get(bit, self.fallback)
        definition = FAULT_DEFINITIONS[code]
        return Fault(code, definition.group, definition.severity, RawFault(self.name, bit))

    def faults(self, value: int | None) -> frozenset[Fault]:
        """The faults a register value reports: one per set bit (None: unavailable, no faults)."""
        if value is None:
            return frozenset()
        if self.by_value:
            return frozenset({self.fault(value)}) if value in self.bits else frozenset()
        if not value:
            return frozenset()  # no bit set: what a healthy device reports on every read
        return frozenset(self.fault(bit) for bit in range(value.bit_length()) if value >> bit & 1)


_SEVERITY_RANK: Final[Mapping[Severity, int]] = {Severity.FAULT: 0, Severity.WARNING: 1}


def _order(fault: Fault) -> tuple[int, str, RawFault]:
    # Faults before warnings, then by code, then by source and numeric bit ("x:2" before "x:10").
    return (_SEVERITY_RANK[fault.severity], fault.code, fault.raw)


def resolve(faults: Iterable[Fault]) -> list[Fault]:
    """Faults in a stable order (worst first), each once."""
    return sorted(set(faults), key=_order)


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


def merge(faults: Iterable[Fault]) -> tuple[ActiveFault, ...]:
    """A device's active faults, worst first (faults before warnings, then code); raw codes that mean the
    same thing are one fault."""
    if not faults:
        return ()  # the usual case, on every read of a healthy device
    merged: dict[str, list[Fault]] = {}
    for fault in resolve(faults):
        key = str(fault.raw) if fault.code in _UNSPECIFIC_CODES else fault.code
        merged.setdefault(key, []).append(fault)
    return tuple(
        ActiveFault(key, same[0].code, same[0].group, same[0].severity, tuple(str(f.raw) for f in same))
        for key, same in merged.items()
    )


def translations_json() -> str:
    """The ``{"code": "English name"}`` block for the integration's translations, as JSON text."""
    return json.dumps(dict(FAULT_NAMES), indent=2, ensure_ascii=False)


if __name__ == "__main__":
    print(translations_json())
