"""Huawei SUN2000 inverters over Modbus TCP, with the power meter and the LUNA2000 battery they report.

They are reached through the SDongle (port 502; the unit id is the inverter's communication address,
usually 1) or through the inverter's own access point (port 6607 on older firmware, unit id 0). Both drop
requests sent right after the TCP connect, so the profiles ask young connections to wait
``CONNECT_DELAY`` (``Profile.connect_delay``). Register facts are in ``registers``, alarm bits in ``faults``,
the battery and export controls in ``controls``.

Identification, in four to eight reads:
1. Model (30000, STR) and serial number (30015, STR). The model must be a Huawei inverter's name
   ("SUN2000-10KTL-M1", "SUN2000L-5KTL", "SUN8000-500KTL"); anything else is no Huawei inverter.
2. Model ID (30070), number of PV strings (30071) and rated power (30073); a device without them keeps
   its name and serial.
3. Battery: the energy storage's running status (37762) answers and is not 0 (offline). Its serial is
   energy storage unit 1's (37052); its product model (47000) names it.
4. Meter: the meter status (37100) answers and is 1 (normal); the meter type (37125) gives its phases.

Which identity carries what:
- ``huawei_sun2000``: PV power (total, strings 1-2), AC output, the grid phases as the inverter measures
  them, frequency, temperature, PV energy (total and today), device status (32089), alarms 1-3.
- ``huawei_sun2000_battery``: SOC, power, bus voltage, charge/discharge totals, temperature (unit 1),
  status (37762) and the battery bits of the alarm words.
- ``huawei_sun2000_meter``: grid power (total and per phase), voltages, currents, frequency, import and
  export totals; it sits at the grid connection point.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...control import ControlBinding
from ...exceptions import ModbusExceptionError, UnsupportedDeviceError
from ...model import (
    Details,
    DeviceIdentity,
    DeviceReading,
    DeviceStatus,
    MeterLocation,
    Quantity,
    Role,
    legacy_details,
)
from ...registers import RawValue, RegisterKind, decode
from ...transport.base import TransportType
from ..base import Profile, UnitSession
from ..table import Field, Table, TableProfile
from . import controls, faults
from .registers import (
    ALARM_2,
    ALARM_3,
    BATTERY,
    DEVICE_STATUS,
    INFO,
    INFO_COUNT,
    INFO_START,
    INVERTER,
    METER,
    METER_PHASES_B_C,
    METER_STATUS,
    METER_TYPE,
    PV2,
    RATING,
    RATING_COUNT,
    RATING_START,
    SINGLE_PHASE_OUTPUT,
    STORAGE_STATUS,
    THREE_PHASE_OUTPUT,
    UNDIRECTED_CURRENTS,
    UNIT1_PRODUCT_MODEL,
    UNIT1_SERIAL,
)

MANUFACTURER = "Huawei"
SDONGLE_UNIT_ID = 1  # the inverter's communication address behind the SDongle (factory setting)
ACCESS_POINT_UNIT_ID = 0  # the inverter's own access point answers unit 0
# Seconds between the TCP connect and the first request. Huawei's dongle and access point drop what comes
# sooner; 1 s is what other Modbus clients settled on (grid-x/modbus#44, openhab-core#2926, evcc), some
# older firmware needs 2 s, which the transport's retry then covers.
CONNECT_DELAY = 1.0

H = RegisterKind.HOLDING
HOLDING_TCP: frozenset[TransportType] = frozenset({TransportType.TCP})

_MODEL_NAME = re.compile(r"SUN\d{4}[A-Z]*-")  # SUN2000-, SUN2000L-, SUN8000-: the document's model names
# Single-phase output (L/N, L1/L2): the L-series names, e.g. SUN2000L-5KTL, SUN2000-6KTL-L1, -USL0, -JPL1.
_SINGLE_PHASE_MODEL = re.compile(r"^SUN2000L-|KTL-[A-Z]*L\d")

# Device status 32089 (the document's codes, in hex as Huawei groups them).
DEVICE_STATUSES: Mapping[int, DeviceStatus] = {
    0x0000: DeviceStatus.STANDBY,  # Standby: initializing
    0x0001: DeviceStatus.STARTING,  # Standby: detecting insulation resistance
    0x0002: DeviceStatus.STANDBY,  # Standby: detecting irradiation
    0x0003: DeviceStatus.STARTING,  # Standby: grid detecting
    0x0100: DeviceStatus.STARTING,  # Starting
    0x0200: DeviceStatus.RUNNING,  # On-grid: running
    0x0201: DeviceStatus.THROTTLED,  # Grid connection: power limited
    0x0202: DeviceStatus.THROTTLED,  # Grid connection: self-derating
    0x0203: DeviceStatus.RUNNING,  # Off-grid running
    0x0300: DeviceStatus.FAULT,  # Shutdown: fault
    0x0301: DeviceStatus.OFF,  # Shutdown: command
    0x0302: DeviceStatus.OFF,  # Shutdown: OVGR
    0x0303: DeviceStatus.OFF,  # Shutdown: communication disconnected
    0x0304: DeviceStatus.OFF,  # Shutdown: power limited
    0x0305: DeviceStatus.OFF,  # Shutdown: manual startup required
    0x0306: DeviceStatus.OFF,  # Shutdown: DC switches disconnected
    0x0307: DeviceStatus.OFF,  # Shutdown: rapid cutoff
    0x0308: DeviceStatus.SLEEPING,  # Shutdown: input underpower (not enough sun)
    0x0401: DeviceStatus.RUNNING,  # Grid scheduling: cosphi-P curve
    0x0402: DeviceStatus.RUNNING,  # Grid scheduling: Q-U curve
    0x0403: DeviceStatus.RUNNING,  # Grid scheduling: PF-U curve
    0x0404: DeviceStatus.RUNNING,  # Grid scheduling: dry contact
    0x0405: DeviceStatus.RUNNING,  # Grid scheduling: Q-P curve
    0x0500: DeviceStatus.STANDBY,  # Spot-check ready
    0x0501: DeviceStatus.STARTING,  # Spot-checking
    0x0600: DeviceStatus.STARTING,  # Inspecting
    0x0700: DeviceStatus.STARTING,  # AFCI self check
    0x0800: DeviceStatus.RUNNING,  # I-V scanning
    0x0900: DeviceStatus.STARTING,  # DC input detection
    0x0A00: DeviceStatus.RUNNING,  # Running: off-grid charging
    0xA000: DeviceStatus.SLEEPING,  # Standby: no irradiation
}
# Energy storage running status 37762.
STORAGE_STATUSES: Mapping[int, DeviceStatus] = {
    0: DeviceStatus.OFF,  # offline
    1: DeviceStatus.STANDBY,
    2: DeviceStatus.RUNNING,
    3: DeviceStatus.FAULT,
    4: DeviceStatus.SLEEPING,  # sleep mode
}
STORAGE_OFFLINE = 0
METER_NORMAL = 1  # meter status 37100: 0 offline, 1 normal
METER_SINGLE_PHASE = 0  # meter type 37125: 0 single-phase, 1 three-phase
# Energy storage unit 1 product model 47000.
PRODUCT_MODELS: Mapping[int, str] = {1: "LG RESU", 2: "LUNA2000"}


def _status(table: Mapping[int, DeviceStatus], code: int | None) -> DeviceStatus:
    return DeviceStatus.UNKNOWN if code is None else table.get(code, DeviceStatus.UNKNOWN)


def _text(value: RawValue) -> str | None:
    """Printable ASCII text, or None (blank, or bytes an unprogrammed field holds)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text if text and text.isascii() and text.isprintable() else None


def phases_of_model(model: str) -> int:
    """1 for the single-phase (L-series) models, else 3."""
    return 1 if _SINGLE_PHASE_MODEL.search(model) else 3


# -- typed details ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HuaweiInverterDetails(Details):
    """What identified the inverter: model ID, phases, PV strings, and whether a battery answers."""

    model_id: int | None
    phases: int
    pv_strings: int
    has_battery: bool = False


@dataclass(frozen=True, slots=True)
class HuaweiBatteryDetails(Details):
    """The product model of energy storage unit 1 (1 LG RESU, 2 LUNA2000; None: not readable)."""

    product_model: int | None


@dataclass(frozen=True, slots=True)
class HuaweiMeterDetails(Details):
    """The meter's phases, from its type register."""

    phases: int


# -- profiles --------------------------------------------------------------------------------------------


class _HuaweiProfile(TableProfile):
    transports = HOLDING_TCP
    connect_delay = CONNECT_DELAY

    def _values(self, identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> dict[Quantity, float | None]:
        values = super()._values(identity, raw)
        for quantity in UNDIRECTED_CURRENTS & values.keys():
            current = values[quantity]
            values[quantity] = None if current is None else abs(current)
        return values


class HuaweiInverterProfile(_HuaweiProfile):
    """SUN2000 inverter; identify also returns its battery and meter."""

    name = "huawei_sun2000"
    role = Role.INVERTER
    default_units = (SDONGLE_UNIT_ID, ACCESS_POINT_UNIT_ID)

    async def identify(self, session: UnitSession) -> list[DeviceIdentity]:
        try:
            info = await session.read(H, INFO_START, INFO_COUNT)
        except ModbusExceptionError as err:
            if not err.refuses_registers:
                raise
            raise UnsupportedDeviceError(f"unit {session.unit_id} has no Huawei model register") from err
        model = _text(INFO.block_value("model", INFO_START, info))
        serial = _text(INFO.block_value("serial", INFO_START, info))
        if model is None or not _MODEL_NAME.match(model) or serial is None:
            raise UnsupportedDeviceError(f"unit {session.unit_id}: {model!r} is no Huawei inverter model")
        rating = await session.read_or_none(H, RATING_START, RATING_COUNT)
        model_id = strings = rated = None
        if rating is not None:
            model_id = RATING.block_value("model_id", RATING_START, rating)
            strings = RATING.block_value("pv_strings", RATING_START, rating)
            rated = RATING["rated_power"].value(RATING.block_value("rated_power", RATING_START, rating))
        battery = await self._find_battery(session, serial, model)
        meter = await self._find_meter(session, serial)
        inverter = DeviceIdentity(
            role=Role.INVERTER,
            profile=self.name,
            unit_id=session.unit_id,
            manufacturer=MANUFACTURER,
            model=model,
            serial=serial,
            details=HuaweiInverterDetails(
                model_id if isinstance(model_id, int) else None,
                phases_of_model(model),
                strings if isinstance(strings, int) and strings > 0 else 2,
                has_battery=battery is not None,
            ),
            rated_power=int(rated) if rated else None,
        )
        return [inverter, *(d for d in (battery, meter) if d is not None)]

    async def _find_battery(self, session: UnitSession, serial: str, model: str) -> DeviceIdentity | None:
        """A battery exists when the energy storage's running status answers and is not "offline"."""
        status = await _read_field(session, STORAGE_STATUS)
        if not isinstance(status, int) or status == STORAGE_OFFLINE:
            return None
        own_serial = _text(await _read_field(session, UNIT1_SERIAL))
        product = await _read_field(session, UNIT1_PRODUCT_MODEL)
        product_model = product if isinstance(product, int) else None
        return DeviceIdentity(
            role=Role.BATTERY,
            profile=HuaweiBatteryProfile.name,
            unit_id=session.unit_id,
            manufacturer=MANUFACTURER,
            model=PRODUCT_MODELS.get(product_model or -1, f"{model} energy storage"),
            serial=own_serial or serial,  # the key adds the role, so the inverter's serial is unique too
            via_serial=serial,
            details=HuaweiBatteryDetails(product_model),
        )

    async def _find_meter(self, session: UnitSession, serial: str) -> DeviceIdentity | None:
        """A meter exists when the meter status answers "normal"; the inverter reports no meter serial."""
        if await _read_field(session, METER_STATUS) != METER_NORMAL:
            return None
        phases = 1 if await _read_field(session, METER_TYPE) == METER_SINGLE_PHASE else 3
        return DeviceIdentity(
            role=Role.METER,
            profile=HuaweiMeterProfile.name,
            unit_id=session.unit_id,
            manufacturer=MANUFACTURER,
            model="Power meter (single-phase)" if phases == 1 else "Power meter (three-phase)",
            serial=serial,
            via_serial=serial,
            details=HuaweiMeterDetails(phases),
            location=MeterLocation.GRID,  # the inverter's meter measures at the grid connection point
        )

    def details_from(self, data: Any) -> Details:
        stored = legacy_details(data)
        model_id = stored.get("model_id")
        return HuaweiInverterDetails(
            None if model_id is None else int(model_id),
            int(stored["phases"]),
            int(stored["pv_strings"]),
            bool(stored.get("has_battery")),
        )

    def controls(
        self, identity: DeviceIdentity, plant: Sequence[DeviceIdentity]
    ) -> tuple[ControlBinding, ...]:
        return controls.inverter_controls(identity, plant)

    def _tables(self, identity: DeviceIdentity) -> tuple[Table, ...]:
        details = identity.details
        single = isinstance(details, HuaweiInverterDetails) and details.phases == 1
        one_string = isinstance(details, HuaweiInverterDetails) and details.pv_strings < 2
        return (
            INVERTER,
            *(() if one_string else (PV2,)),
            SINGLE_PHASE_OUTPUT if single else THREE_PHASE_OUTPUT,
        )

    def decode(self, identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> DeviceReading:
        values = self._values(identity, raw)
        # The document has no power register per string: a string's power is its voltage times its current.
        values[Quantity.PV1_POWER] = _product(values, Quantity.PV1_VOLTAGE, Quantity.PV1_CURRENT)
        if Quantity.PV2_VOLTAGE in values:
            values[Quantity.PV2_POWER] = _product(values, Quantity.PV2_VOLTAGE, Quantity.PV2_CURRENT)
        details = identity.details
        # With a battery device, the battery's alarm bits are its faults; without one they stay here.
        battery = isinstance(details, HuaweiInverterDetails) and details.has_battery
        alarm_2, alarm_3 = INVERTER.code(raw, "alarm_2"), INVERTER.code(raw, "alarm_3")
        if battery and alarm_2 is not None:
            alarm_2 &= ~faults.BATTERY_MASK_2
        if battery and alarm_3 is not None:
            alarm_3 &= ~faults.BATTERY_MASK_3
        found = (
            faults.ALARM_1.faults(INVERTER.code(raw, "alarm_1"))
            | faults.ALARM_2.faults(alarm_2)
            | faults.ALARM_3.faults(alarm_3)
        )
        status = _status(DEVICE_STATUSES, INVERTER.code(raw, DEVICE_STATUS.key))
        return DeviceReading(identity, values, status, found)


class _DecodeOnlyProfile(_HuaweiProfile):
    """A battery or meter found through its inverter: never probed on its own."""

    default_units = ()

    async def identify(self, session: UnitSession) -> list[DeviceIdentity]:
        raise UnsupportedDeviceError(f"{self.name} is identified through its inverter")


# The battery's own alarm bits live in the inverter's alarm words 2 and 3.
_BATTERY_ALARMS = Table((ALARM_2, ALARM_3))


class HuaweiBatteryProfile(_DecodeOnlyProfile):
    """The energy storage (LUNA2000) as the inverter reports it."""

    name = "huawei_sun2000_battery"
    role = Role.BATTERY

    def details_from(self, data: Any) -> Details:
        product = legacy_details(data).get("product_model")
        return HuaweiBatteryDetails(None if product is None else int(product))

    def controls(
        self, identity: DeviceIdentity, plant: Sequence[DeviceIdentity]
    ) -> tuple[ControlBinding, ...]:
        return controls.battery_controls(identity, plant)

    def _tables(self, identity: DeviceIdentity) -> tuple[Table, ...]:
        return (BATTERY, _BATTERY_ALARMS)

    def decode(self, identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> DeviceReading:
        values = self._values(identity, raw)
        alarm_2, alarm_3 = _BATTERY_ALARMS.code(raw, "alarm_2"), _BATTERY_ALARMS.code(raw, "alarm_3")
        found = faults.BATTERY_ALARM_2.faults(
            None if alarm_2 is None else alarm_2 & faults.BATTERY_MASK_2
        ) | faults.BATTERY_ALARM_3.faults(None if alarm_3 is None else alarm_3 & faults.BATTERY_MASK_3)
        status = _status(STORAGE_STATUSES, BATTERY.code(raw, STORAGE_STATUS.key))
        return DeviceReading(identity, values, status, found)


class HuaweiMeterProfile(_DecodeOnlyProfile):
    """The power meter (DTSU666-H three-phase, DDSU666-H single-phase) as the inverter reports it."""

    name = "huawei_sun2000_meter"
    role = Role.METER

    def details_from(self, data: Any) -> Details:
        return HuaweiMeterDetails(int(legacy_details(data)["phases"]))

    def _tables(self, identity: DeviceIdentity) -> tuple[Table, ...]:
        details = identity.details
        single = isinstance(details, HuaweiMeterDetails) and details.phases == 1
        return (METER,) if single else (METER, METER_PHASES_B_C)

    def decode(self, identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> DeviceReading:
        values = self._values(identity, raw)
        meter_status = METER.code(raw, METER_STATUS.key)
        if meter_status is None:
            status = DeviceStatus.UNKNOWN
        else:
            status = DeviceStatus.RUNNING if meter_status == METER_NORMAL else DeviceStatus.FAULT
        return DeviceReading(identity, values, status)


async def _read_field(session: UnitSession, field: Field) -> RawValue:
    """One identification register's raw value, or None when the device refuses it."""
    words = await session.read_or_none(field.kind, field.address, field.point.count)
    return None if words is None else decode(field.point, words)


def _product(values: Mapping[Quantity, float | None], voltage: Quantity, current: Quantity) -> float | None:
    v, i = values.get(voltage), values.get(current)
    return None if v is None or i is None else v * i


# The inverter probes; battery and meter come with it and are decode-only.
HUAWEI_PROFILES: tuple[Profile, ...] = (
    HuaweiInverterProfile(),
    HuaweiBatteryProfile(),
    HuaweiMeterProfile(),
)
