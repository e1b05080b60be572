"""The canonical fault catalogue: coverage of every documented bit, grouping, and nothing ever dropped."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custom_components.sems.plantkit.faults import (
    FAULT_CODES,
    FAULT_DEFINITIONS,
    FAULT_NAMES,
    UNKNOWN_FAULT,
    Fault,
    FaultGroup,
    FaultSource,
    RawFault,
    Severity,
    resolve,
    translations_json,
)
from custom_components.sems.plantkit.model import Role
from custom_components.sems.plantkit.profiles import FAULT_SOURCES
from custom_components.sems.plantkit.profiles.goodwe import faults as goodwe_faults

SOURCES = {source.name: source for source in FAULT_SOURCES}
# Every bit the vendor tables name, as "<register>:<bit>" -> canonical code.
CATALOGUE = {f"{s.name}:{bit}": code for s in FAULT_SOURCES for bit, code in s.bits.items()}


def to_fault(raw: str) -> Fault:
    """The fault of a raw "<register>:<bit>" code, through the vendor's own table."""
    source, _, bit = raw.partition(":")
    return SOURCES[source].fault(int(bit))


def canonical_code(raw: str) -> str:
    return to_fault(raw).code


def resolved(raws: list[str]) -> list[Fault]:
    return resolve(to_fault(raw) for raw in raws)


# The defined bits of each source, restated from protocols.md §1.3 / §3.3 (independently of the module).
DOCUMENTED_BITS: dict[str, set[int]] = {
    "sunspec_evt1": set(range(16)),  # 10x/11x Evt1
    "sunspec_alrm": set(range(17)),  # 701 Alrm: Evt1's 0-15 + 16 MANUFACTURER_ALRM
    "sunspec_160_evt": {0, 1, 3, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22},
    "sunspec_meter_evt": set(range(2, 8)) | set(range(16, 31)),  # 8-15 are Reserved1-8
    "sunspec_802_evt1": set(range(30)) - {27},  # 27 is RESERVED_1
    "goodwe_error": set(range(32)) - {2, 5, 21, 24, 26},
    "goodwe_bms_alarm": set(range(16)),
    "goodwe_bms_warning": set(range(12)),
    "goodwe_meter_test": {2, 3},
}
UNDEFINED_BITS: dict[str, set[int]] = {
    "sunspec_160_evt": {2, 4, 8, 9, 10, 11, 16, 17, 18, 19, 23, 30},
    "sunspec_meter_evt": {0, 1, *range(8, 16)},
    "sunspec_802_evt1": {27, 30},
    "goodwe_error": {2, 5, 21, 24, 26},
    "goodwe_bms_alarm": set(range(16, 32)),
    "goodwe_bms_warning": set(range(12, 32)),
}

ALL_DOCUMENTED = sorted(f"{source}:{bit}" for source, bits in DOCUMENTED_BITS.items() for bit in bits)
ALL_UNDEFINED = sorted(f"{source}:{bit}" for source, bits in UNDEFINED_BITS.items() for bit in bits)


@pytest.mark.parametrize("raw", ALL_DOCUMENTED)
def test_every_documented_bit_has_a_named_canonical_code(raw: str) -> None:
    fault = to_fault(raw)
    assert fault.code != UNKNOWN_FAULT
    assert str(fault.raw) == raw
    assert FAULT_NAMES[fault.code].strip()


@pytest.mark.parametrize("raw", ALL_UNDEFINED)
def test_undefined_bits_are_unknown_faults_that_keep_their_raw_code(raw: str) -> None:
    source, _, bit = raw.partition(":")
    assert resolved([raw]) == [
        Fault(UNKNOWN_FAULT, FaultGroup.OTHER, Severity.FAULT, RawFault(source, int(bit)))
    ]


def test_catalogue_holds_exactly_the_documented_bits() -> None:
    # The vendors restated here; every other vendor's own test module restates its bits.
    restated = {raw for raw in CATALOGUE if raw.startswith(("sunspec_", "goodwe_"))}
    # Sunspec Evt1 also accepts 701's bit 16 (a profile may fold Alrm into Evt1); nothing else is extra.
    assert restated == {*ALL_DOCUMENTED, "sunspec_evt1:16"}


def test_unknown_fault_description_names_the_raw_code() -> None:
    (fault,) = resolved(["goodwe_error:2"])
    assert fault.description == "Unknown fault (goodwe_error:2)"


def test_a_source_naming_an_undefined_code_is_refused() -> None:
    """A vendor table can only name canonical codes (a typo would otherwise be an untranslated fault)."""
    with pytest.raises(ValueError, match="undefined fault codes"):
        FaultSource("x", Role.INVERTER, {0: "no_such_code"})


@pytest.mark.parametrize(
    ("raw", "code", "group", "severity"),
    [
        ("sunspec_evt1:0", "ground_fault", FaultGroup.INSULATION, Severity.FAULT),
        ("sunspec_alrm:0", "ground_fault", FaultGroup.INSULATION, Severity.FAULT),
        ("goodwe_error:10", "ground_fault", FaultGroup.INSULATION, Severity.FAULT),  # Ground I
        ("goodwe_error:18", "insulation_resistance_low", FaultGroup.INSULATION, Severity.FAULT),  # Isolation
        ("sunspec_802_evt1:22", "ground_fault", FaultGroup.INSULATION, Severity.FAULT),
        ("sunspec_evt1:7", "over_temperature", FaultGroup.TEMPERATURE, Severity.FAULT),
        ("goodwe_error:13", "over_temperature", FaultGroup.TEMPERATURE, Severity.FAULT),
        ("sunspec_evt1:10", "grid_over_voltage", FaultGroup.GRID, Severity.FAULT),
        ("sunspec_meter_evt:6", "grid_over_voltage", FaultGroup.GRID, Severity.FAULT),
        ("goodwe_error:9", "grid_loss", FaultGroup.GRID, Severity.FAULT),  # Utility Loss
        ("sunspec_evt1:4", "grid_loss", FaultGroup.GRID, Severity.FAULT),  # GRID_DISCONNECT
        ("sunspec_evt1:1", "pv_over_voltage", FaultGroup.PV, Severity.FAULT),
        ("goodwe_error:15", "pv_over_voltage", FaultGroup.PV, Severity.FAULT),
        ("sunspec_160_evt:15", "arc_fault", FaultGroup.PV, Severity.FAULT),
        ("sunspec_802_evt1:1", "bms_over_temperature_alarm", FaultGroup.TEMPERATURE, Severity.FAULT),
        ("goodwe_bms_alarm:2", "bms_over_temperature_alarm", FaultGroup.TEMPERATURE, Severity.FAULT),
        ("sunspec_802_evt1:2", "bms_over_temperature_warning", FaultGroup.TEMPERATURE, Severity.WARNING),
        ("goodwe_bms_warning:2", "bms_over_temperature_warning", FaultGroup.TEMPERATURE, Severity.WARNING),
        ("goodwe_bms_warning:8", "bms_voltage_imbalance_warning", FaultGroup.BATTERY, Severity.WARNING),
        ("sunspec_802_evt1:0", "bms_communication_alarm", FaultGroup.COMMUNICATION, Severity.FAULT),
        ("goodwe_bms_alarm:12", "bms_communication_alarm", FaultGroup.COMMUNICATION, Severity.FAULT),
        ("sunspec_meter_evt:7", "meter_sensor_missing", FaultGroup.COMMUNICATION, Severity.FAULT),
        ("goodwe_meter_test:2", "meter_wiring_reversed", FaultGroup.COMMUNICATION, Severity.WARNING),
        ("sunspec_alrm:16", "manufacturer_alarm", FaultGroup.OTHER, Severity.WARNING),
        ("sunspec_evt1:6", "manual_shutdown", FaultGroup.OTHER, Severity.WARNING),
    ],
)
def test_shared_meanings_land_on_shared_codes(
    raw: str, code: str, group: FaultGroup, severity: Severity
) -> None:
    assert to_fault(raw) == Fault(code, group, severity, RawFault(*_split(raw)))


def _split(raw: str) -> tuple[str, int]:
    source, _, bit = raw.partition(":")
    return source, int(bit)


def test_sunspec_802_warning_bits_are_warnings_and_alarm_bits_are_faults() -> None:
    # 802 Evt1 pairs: odd bit = alarm, even bit = warning for 1-16 and 18/19, 28/29; 17, 24, 26 are warnings.
    warnings = {2, 4, 6, 8, 10, 12, 14, 16, 17, 19, 24, 26, 29}
    alarms = {1, 3, 5, 7, 9, 11, 13, 15, 18, 25, 28}
    for bit in warnings:
        assert to_fault(f"sunspec_802_evt1:{bit}").severity is Severity.WARNING, bit
    for bit in alarms:
        assert to_fault(f"sunspec_802_evt1:{bit}").severity is Severity.FAULT, bit
    for bit in DOCUMENTED_BITS["goodwe_bms_warning"]:
        assert to_fault(f"goodwe_bms_warning:{bit}").severity is Severity.WARNING, bit
    for bit in DOCUMENTED_BITS["goodwe_bms_alarm"]:
        assert to_fault(f"goodwe_bms_alarm:{bit}").severity is Severity.FAULT, bit


def test_goodwe_warning_word_bits_stay_warnings() -> None:
    # No bit table is published for warning_code, so every bit is an unspecified inverter warning.
    faults = resolved([f"goodwe_warning:{bit}" for bit in range(16)])
    assert len(faults) == 16
    assert {(f.code, f.group, f.severity) for f in faults} == {
        ("inverter_warning", FaultGroup.OTHER, Severity.WARNING)
    }


def test_alarm_and_warning_codes_are_named_consistently() -> None:
    for code, definition in FAULT_DEFINITIONS.items():
        if code.endswith("_alarm") and code != "manufacturer_alarm":
            assert definition.severity is Severity.FAULT, code
        if code.endswith("_warning"):
            assert definition.severity is Severity.WARNING, code


def test_codes_are_translation_keys_with_unique_names() -> None:
    assert len(FAULT_CODES) == len(set(FAULT_CODES))
    assert all(re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", code) for code in FAULT_CODES)
    assert set(FAULT_NAMES) == set(FAULT_CODES)
    assert len(set(FAULT_NAMES.values())) == len(FAULT_NAMES)  # two codes with one name would be ambiguous


def test_every_canonical_code_is_reachable() -> None:
    # A defined code no raw bit maps to would be a translation nobody ever sees.
    reachable = {canonical_code(raw) for raw in CATALOGUE}
    reachable |= {UNKNOWN_FAULT, canonical_code("goodwe_warning:0")}
    assert reachable == set(FAULT_CODES)


def test_translations_json_is_the_code_to_name_block() -> None:
    block = json.loads(translations_json())
    assert block == dict(FAULT_NAMES)
    assert list(block) == list(FAULT_CODES)
    assert block["ground_fault"] == "Ground fault"


def test_resolve_orders_faults_first_then_by_code_and_numeric_bit() -> None:
    raws = ["goodwe_bms_warning:2", "goodwe_error:26", "goodwe_error:13", "goodwe_error:2", "sunspec_evt1:7"]
    assert [(f.code, str(f.raw)) for f in resolved(raws)] == [
        ("over_temperature", "goodwe_error:13"),
        ("over_temperature", "sunspec_evt1:7"),
        (UNKNOWN_FAULT, "goodwe_error:2"),
        (UNKNOWN_FAULT, "goodwe_error:26"),
        ("bms_over_temperature_warning", "goodwe_bms_warning:2"),
    ]


def test_goodwe_profile_codes_resolve() -> None:
    # The GoodWe profile's own bit splitter produces codes the catalogue knows: all 32 error bits set.
    faults = resolve(goodwe_faults.ERROR.faults(0xFFFF_FFFF))
    unknown = {str(f.raw) for f in faults if f.code == UNKNOWN_FAULT}
    assert len(faults) == 32
    assert unknown == {f"goodwe_error:{bit}" for bit in UNDEFINED_BITS["goodwe_error"]}


faults = st.builds(lambda source, bit: source.fault(bit), st.sampled_from(FAULT_SOURCES), st.integers(0, 40))


@given(st.lists(faults, max_size=20))
def test_resolve_never_drops_and_ignores_input_order(found: list[Fault]) -> None:
    ordered = resolve(found)
    assert set(ordered) == set(found)
    assert len(ordered) == len(set(found))
    assert resolve(reversed(found)) == ordered
    assert all(f.code in FAULT_DEFINITIONS for f in ordered)
