"""Eastron SDM energy meters (SDM630, SDM120/SDM230, SDM72D-M): standalone grid meters on RS485.

Identification, in the fewest requests (one when the unit is no Eastron meter):
1. Frequency, import kWh and export kWh (input 0x0046..0x004B). A refusal, a frequency outside
   45..65 Hz or an implausible counter means "not an Eastron meter".
2. Serial (holding 0xFC00, u32) and meter code (0xFC02): 0x0020 = SDM120, 0x0070 = SDM630,
   0x0084 = SDM72D-M (V1), 0x0089 = SDM72D-M-V2.
3. Without a known meter code (older firmware, SDM230, unknown code) the phase count decides: L2 and
   L3 voltage both zero (or refused) = single phase, read like an SDM120; otherwise three phases, read
   with the SDM72's smaller request limit, which every three-phase SDM accepts.
Without a readable serial the identity falls back to ``sdm-unit<N>``, unique only per endpoint.

The SDM630 profile does the probing and returns the identity of whichever model it finds; the SDM120 and
SDM72 profiles are decode-only so a unit is never probed three times.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...energy.spec import CounterWidth
from ...exceptions import ModbusExceptionError, UnsupportedDeviceError
from ...model import (
    Details,
    DeviceIdentity,
    DeviceReading,
    DeviceStatus,
    Quantity,
    Role,
    legacy_details,
    placeholder_serial,
)
from ...planner import PlanLimits
from ...registers import DataType, Point, RawValue, RegisterKind, decode
from ..base import Profile, UnitSession
from ..table import Field, Table
from .registers import (
    EXPORT_ENERGY,
    FREQUENCY,
    IMPORT_ENERGY,
    METER_CODE,
    SERIAL_NUMBER,
    SINGLE_PHASE,
    THREE_PHASE,
    VOLTAGE_L1,
)

MANUFACTURER = "Eastron"
FREQUENCY_RANGE = (45.0, 65.0)
MAX_PLAUSIBLE_KWH = 1e9  # the meters roll over far below this; larger values mean "not an energy counter"
PHASE_PRESENT_VOLTS = 1.0

# Modbus exceptions that mean "no such register here" on the meters we know.
_REFUSALS = (
    ModbusExceptionError.ILLEGAL_FUNCTION,
    ModbusExceptionError.ILLEGAL_DATA_ADDRESS,
    ModbusExceptionError.ILLEGAL_DATA_VALUE,
)


@dataclass(frozen=True, slots=True)
class EastronDetails(Details):
    """What identified the meter: its meter code (None: it has none) and its phase count."""

    meter_code: int | None
    phases: int


@dataclass(frozen=True, slots=True)
class MeterLayout:
    """What differs between the models as far as our canonical values go."""

    profile: str
    phases: int
    table: Table
    limits: PlanLimits


# Every field is a float32 pair on an even address, so the planner only ever asks for even spans.
# A wide max_gap is free here: the meters return zero for unused parameters inside their blocks.
SDM630 = MeterLayout("eastron_sdm630", 3, THREE_PHASE, PlanLimits(max_registers=80, max_gap=60))
SDM72 = MeterLayout("eastron_sdm72", 3, THREE_PHASE, PlanLimits(max_registers=60, max_gap=60))
SDM120 = MeterLayout("eastron_sdm120", 1, SINGLE_PHASE, PlanLimits(max_registers=60, max_gap=60))

# Meter code (holding 0xFC02) -> model name and layout.
METER_CODES: dict[int, tuple[str, MeterLayout]] = {
    0x0020: ("SDM120", SDM120),
    0x0070: ("SDM630", SDM630),
    0x0084: ("SDM72D-M", SDM72),
    0x0089: ("SDM72D-M-V2", SDM72),
}


class EastronMeterProfile(Profile):
    """One SDM model. Only the profile built with ``identifies=True`` probes."""

    role = Role.METER
    default_poll_seconds = 10

    def __init__(self, layout: MeterLayout, *, identifies: bool = False) -> None:
        self.layout = layout
        self.name = layout.profile
        self.limits = layout.limits
        self.identifies = identifies
        # Meters answer at unit 1 out of the box; a second meter on the same bus is usually unit 2.
        # Decode-only profiles have no units of their own, so a default probe never calls them.
        self.default_units = (1, 2) if identifies else ()

    async def identify(self, session: UnitSession) -> list[DeviceIdentity]:
        if not self.identifies:
            raise UnsupportedDeviceError(f"{self.name} is found through eastron_sdm630's probe")
        await _check_measurements(session)
        serial = await _read_optional(session, SERIAL_NUMBER)
        code = await _read_optional(session, METER_CODE)
        if isinstance(code, int) and code in METER_CODES:
            model, layout = METER_CODES[code]
        else:
            layout = SDM72 if await _has_three_phases(session) else SDM120
            model = "SDM (3-phase)" if layout.phases == 3 else "SDM (1-phase)"
        has_serial = isinstance(serial, int) and serial > 0
        return [
            DeviceIdentity(
                role=Role.METER,
                profile=layout.profile,
                unit_id=session.unit_id,
                manufacturer=MANUFACTURER,
                model=model,
                serial=str(serial) if has_serial else placeholder_serial("sdm", session.unit_id),
                details=EastronDetails(code if isinstance(code, int) else None, layout.phases),
            )
        ]

    def details_from(self, data: Any) -> Details:
        stored = legacy_details(data)
        code = stored.get("meter_code")
        return EastronDetails(
            None if code is None else int(code), int(stored.get("phases", self.layout.phases))
        )

    def points(self, identity: DeviceIdentity) -> Sequence[Point]:
        return self.layout.table.points

    def counter_widths(self, identity: DeviceIdentity) -> dict[Quantity, CounterWidth]:
        return self.layout.table.counter_widths()

    def decode(self, identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> DeviceReading:
        values = self.layout.table.values(raw)
        if self.layout.phases == 1:
            values[Quantity.GRID_POWER] = values[Quantity.GRID_POWER_L1]
        status = DeviceStatus.RUNNING if values[Quantity.GRID_POWER] is not None else DeviceStatus.UNKNOWN
        return DeviceReading(identity=identity, values=values, status=status)


async def _check_measurements(session: UnitSession) -> None:
    """Frequency and both energy counters must be where and what an Eastron meter has."""
    start = FREQUENCY.address
    try:
        words = await session.read(RegisterKind.INPUT, start, EXPORT_ENERGY.point.end - start)
    except ModbusExceptionError as err:
        if err.code not in _REFUSALS:
            raise
        raise UnsupportedDeviceError(
            f"unit {session.unit_id} has no Eastron measurement registers ({err})"
        ) from err
    frequency, imported, exported = (
        _float(words, field.address - start) for field in (FREQUENCY, IMPORT_ENERGY, EXPORT_ENERGY)
    )
    low, high = FREQUENCY_RANGE
    if frequency is None or not low <= frequency <= high:
        raise UnsupportedDeviceError(f"unit {session.unit_id}: {frequency} Hz is no grid frequency")
    for counter in (imported, exported):
        if counter is None or not 0.0 <= counter < MAX_PLAUSIBLE_KWH:
            raise UnsupportedDeviceError(f"unit {session.unit_id}: {counter} is no energy counter")


async def _read_optional(session: UnitSession, field: Field) -> RawValue:
    """An identity register, or None when this meter does not have it."""
    try:
        words = await session.read(field.kind, field.address, field.point.count)
    except ModbusExceptionError as err:
        if err.code not in _REFUSALS:
            raise
        return None
    return decode(field.point, words)


async def _has_three_phases(session: UnitSession) -> bool:
    """True when L2 or L3 carries voltage (single-phase meters read those parameters as zero)."""
    try:
        words = await session.read(RegisterKind.INPUT, VOLTAGE_L1.address, 6)
    except ModbusExceptionError as err:
        if err.code not in _REFUSALS:
            raise
        return False
    return any((_float(words, offset) or 0.0) >= PHASE_PRESENT_VOLTS for offset in (2, 4))


def _float(words: Sequence[int], offset: int) -> float | None:
    value = decode(Point("f32", 0, DataType.F32), words[offset : offset + 2])
    return value if isinstance(value, float) and math.isfinite(value) else None


# The identifying profile comes last, so when nothing matches, the probe's last error is its finding.
EASTRON_PROFILES: tuple[Profile, ...] = (
    EastronMeterProfile(SDM120),
    EastronMeterProfile(SDM72),
    EastronMeterProfile(SDM630, identifies=True),
)
