"""Eastron SDM energy meters (SDM630, SDM120/SDM230, SDM72D-M): standalone grid meters on RS485.

Register facts (Eastron protocol documents SDM630 v1.8, SDM120 v2.5, SDM72D-M-V2 v1.1, as shipped in
nmakel/sdm_modbus; Tinkerforge evse-v2-bricklet ``sdm.c`` for the SDM630 meter code):
- Measurements are IEEE-754 float32 input registers (FC04), high word first.
- Requests must start at an even address and ask for an even number of registers (a single-register
  read is the one exception). The SDM630 serves at most 40 values (80 registers) per request; the
  SDM72D-M and SDM230 at most 30 values (60 registers).
- Parameters a model does not measure read as zero inside its blocks (e.g. phase 2 on an SDM120).
- Signed powers: + = import (forward), which is our canonical grid sign, so nothing is inverted.

Identification, in the fewest requests (one when the unit is no Eastron meter):
1. Input registers 0x0046..0x004B: frequency, import kWh, export kWh. A refusal, a frequency outside
   45..65 Hz or an implausible counter means "not an Eastron meter".
2. Holding 0xFC00 (u32 serial) and 0xFC02 (u16 meter code), both read-only identity registers:
   meter code 0x0020 = SDM120, 0x0070 = SDM630, 0x0084 = SDM72D-M (V1), 0x0089 = SDM72D-M-V2.
3. Without a known meter code (older firmware, SDM230, unknown code) the phase count decides: L2 and
   L3 voltage both zero (or refused) = single phase, read like an SDM120; otherwise three phases, read
   with the SDM72's smaller request limit, which every three-phase SDM accepts.
Without a readable serial the identity falls back to ``sdm-unit<N>``, unique only per endpoint.

The SDM630 profile does the probing and returns the identity of whichever model it finds; the SDM120 and
SDM72 profiles are decode-only so a unit is never probed three times.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..exceptions import ModbusExceptionError, UnsupportedDeviceError
from ..model import DeviceIdentity, DeviceReading, DeviceStatus, Quantity, Role
from ..planner import PlanLimits
from ..registers import DataType, Point, RawValue, RegisterKind, decode
from .base import Profile, UnitSession

MANUFACTURER = "Eastron"

# Input registers (0-based PDU addresses; the manuals print them 1-based as 3xxxx).
VOLTAGE_L1 = 0x0000
CURRENT_L1 = 0x0006
POWER_L1 = 0x000C
TOTAL_SYSTEM_POWER = 0x0034
FREQUENCY = 0x0046
IMPORT_ENERGY = 0x0048
EXPORT_ENERGY = 0x004A

# Holding registers (read-only identity).
SERIAL_NUMBER = 0xFC00
METER_CODE = 0xFC02

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
class MeterLayout:
    """What differs between the models as far as our canonical values go."""

    profile: str
    phases: int
    power_address: int  # the meter's total active power
    limits: PlanLimits


# Every point is a float32 pair on an even address, so the planner only ever asks for even spans.
# A wide max_gap is free here: the meters return zero for unused parameters inside their blocks.
SDM630 = MeterLayout("eastron_sdm630", 3, TOTAL_SYSTEM_POWER, PlanLimits(max_registers=80, max_gap=60))
SDM72 = MeterLayout("eastron_sdm72", 3, TOTAL_SYSTEM_POWER, PlanLimits(max_registers=60, max_gap=60))
# The SDM120 manual gives no request limit; the SDM230 (same map) allows 60 registers: use that.
SDM120 = MeterLayout("eastron_sdm120", 1, POWER_L1, PlanLimits(max_registers=60, max_gap=60))

# Meter code (holding 0xFC02) -> model name and layout.
METER_CODES: dict[int, tuple[str, MeterLayout]] = {
    0x0020: ("SDM120", SDM120),
    0x0070: ("SDM630", SDM630),
    0x0084: ("SDM72D-M", SDM72),
    0x0089: ("SDM72D-M-V2", SDM72),
}


def _f32(quantity: Quantity, address: int) -> Point:
    return Point(str(quantity), address, DataType.F32, RegisterKind.INPUT)


_PHASE_POINTS = {
    1: (
        (Quantity.GRID_VOLTAGE_L1, 0x0000),
        (Quantity.GRID_CURRENT_L1, 0x0006),
        (Quantity.GRID_POWER_L1, 0x000C),
    ),
    3: (
        (Quantity.GRID_VOLTAGE_L1, 0x0000),
        (Quantity.GRID_VOLTAGE_L2, 0x0002),
        (Quantity.GRID_VOLTAGE_L3, 0x0004),
        (Quantity.GRID_CURRENT_L1, 0x0006),
        (Quantity.GRID_CURRENT_L2, 0x0008),
        (Quantity.GRID_CURRENT_L3, 0x000A),
        (Quantity.GRID_POWER_L1, 0x000C),
        (Quantity.GRID_POWER_L2, 0x000E),
        (Quantity.GRID_POWER_L3, 0x0010),
    ),
}


def meter_points(layout: MeterLayout) -> tuple[Point, ...]:
    """The points of one layout: totals, counters, frequency and per-phase values."""
    return (
        _f32(Quantity.GRID_POWER, layout.power_address),
        _f32(Quantity.GRID_FREQUENCY, FREQUENCY),
        _f32(Quantity.GRID_IMPORT_ENERGY_TOTAL, IMPORT_ENERGY),
        _f32(Quantity.GRID_EXPORT_ENERGY_TOTAL, EXPORT_ENERGY),
        *(_f32(quantity, address) for quantity, address in _PHASE_POINTS[layout.phases]),
    )


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
        self._points = meter_points(layout)

    async def identify(self, session: UnitSession) -> list[DeviceIdentity]:
        if not self.identifies:
            raise UnsupportedDeviceError(f"{self.name} is found through eastron_sdm630's probe")
        await _check_measurements(session)
        serial = await _read_optional(session, SERIAL_NUMBER, 2, DataType.U32)
        code = await _read_optional(session, METER_CODE, 1, DataType.U16)
        details: list[tuple[str, str | int]] = []
        if isinstance(code, int):
            details.append(("meter_code", code))
        if isinstance(code, int) and code in METER_CODES:
            model, layout = METER_CODES[code]
        else:
            layout = SDM72 if await _has_three_phases(session) else SDM120
            model = "SDM (3-phase)" if layout.phases == 3 else "SDM (1-phase)"
        details.append(("phases", layout.phases))
        has_serial = isinstance(serial, int) and serial > 0
        return [
            DeviceIdentity(
                role=Role.METER,
                profile=layout.profile,
                unit_id=session.unit_id,
                manufacturer=MANUFACTURER,
                model=model,
                serial=str(serial) if has_serial else f"sdm-unit{session.unit_id}",
                details=tuple(details),
            )
        ]

    def points(self, identity: DeviceIdentity) -> Sequence[Point]:
        return self._points

    def decode(self, identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> DeviceReading:
        values: dict[Quantity, float | None] = {}
        for point in self._points:
            value = raw.get(point.key)
            values[Quantity(point.key)] = _shortest(value) if isinstance(value, int | float) else None
        status = DeviceStatus.RUNNING if values[Quantity.GRID_POWER] is not None else DeviceStatus.UNKNOWN
        return DeviceReading(identity=identity, values=values, status=status)


async def _check_measurements(session: UnitSession) -> None:
    """Frequency and both energy counters must be where and what an Eastron meter has."""
    try:
        words = await session.read(RegisterKind.INPUT, FREQUENCY, 6)
    except ModbusExceptionError as err:
        if err.code not in _REFUSALS:
            raise
        raise UnsupportedDeviceError(
            f"unit {session.unit_id} has no Eastron measurement registers ({err})"
        ) from err
    frequency, imported, exported = (_float(words[i : i + 2]) for i in (0, 2, 4))
    low, high = FREQUENCY_RANGE
    if frequency is None or not low <= frequency <= high:
        raise UnsupportedDeviceError(f"unit {session.unit_id}: {frequency} Hz is no grid frequency")
    for counter in (imported, exported):
        if counter is None or not 0.0 <= counter < MAX_PLAUSIBLE_KWH:
            raise UnsupportedDeviceError(f"unit {session.unit_id}: {counter} is no energy counter")


async def _read_optional(session: UnitSession, address: int, count: int, dtype: DataType) -> RawValue:
    """An identity register, or None when this meter does not have it."""
    try:
        words = await session.read(RegisterKind.HOLDING, address, count)
    except ModbusExceptionError as err:
        if err.code not in _REFUSALS:
            raise
        return None
    return decode(Point("identity", address, dtype), words)


async def _has_three_phases(session: UnitSession) -> bool:
    """True when L2 or L3 carries voltage (single-phase meters read those parameters as zero)."""
    try:
        words = await session.read(RegisterKind.INPUT, VOLTAGE_L1, 6)
    except ModbusExceptionError as err:
        if err.code not in _REFUSALS:
            raise
        return False
    return any((_float(words[i : i + 2]) or 0.0) >= PHASE_PRESENT_VOLTS for i in (2, 4))


def _shortest(value: float) -> float:
    """The shortest decimal that is the same float32, so 1054.300048828125 reads as the meter's 1054.3."""
    exact = struct.pack(">f", value)
    for digits in range(1, 10):
        candidate = float(f"{value:.{digits}g}")
        if struct.pack(">f", candidate) == exact:
            return candidate
    return float(value)


def _float(words: Sequence[int]) -> float | None:
    value = decode(Point("f32", 0, DataType.F32), words)
    return value if isinstance(value, float) and math.isfinite(value) else None


# The identifying profile comes last, so when nothing matches, the probe's last error is its finding.
EASTRON_PROFILES: tuple[Profile, ...] = (
    EastronMeterProfile(SDM120),
    EastronMeterProfile(SDM72),
    EastronMeterProfile(SDM630, identifies=True),
)
