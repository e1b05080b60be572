"""GoodWe inverters over Modbus: ET/EH/BT/BH hybrids (with battery and meter) and DT/MS/NS PV inverters.

The same register map answers on Modbus TCP (LAN dongle), on GoodWe's UDP port 8899 (RTU request,
``AA55``-prefixed reply) and on RS485, so these profiles work on every transport.

Which identity carries what:
- ``goodwe_et``: PV, AC output, house load, inverter temperature, PV and load energy. It also carries
  ``grid_power`` and the grid energy totals, but only when no meter identity was found (then its own
  counters are all there is). With a meter, the grid quantities live on the meter identity alone, so
  the plant never sees two grid figures for one connection point.
- ``goodwe_et_battery``: battery power, voltage, current, SOC/SOH, temperature, charge/discharge totals.
- ``goodwe_et_meter``: grid power (total and per phase), frequency, import/export totals; its totals come
  from the float registers or the 64-bit counters, by platform.
- ``goodwe_dt``: PV-only inverter; PV, AC output, grid phases, temperature, PV energy.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ...control import ControlBinding
from ...exceptions import UnsupportedDeviceError
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
from ...planner import MAX_REGISTERS_PER_READ, PlanLimits
from ...registers import RawValue, RegisterKind, decode
from ...transport.base import TransportType
from ..base import Profile, UnitSession
from ..table import Table, TableProfile, first_of, sum_of
from . import controls, faults
from .registers import (
    BATTERY_MODE,
    BMS_COUNT,
    BMS_INFO,
    BMS_START,
    DT_INFO,
    DT_INFO_COUNT,
    DT_INFO_START,
    DT_INVERTER,
    DT_INVERTER_L2_L3,
    ET_BATTERY,
    ET_INFO,
    ET_INFO_COUNT,
    ET_INFO_START,
    ET_INVERTER,
    ET_INVERTER_GRID,
    ET_INVERTER_L2_L3,
    ET_METER,
    ET_METER_FLOAT_TOTALS,
    ET_METER_U64_TOTALS,
    METER_COUNT,
    METER_EXTENDED_COUNT,
    METER_INFO,
    METER_START,
)

_LOGGER = logging.getLogger(__name__)

MANUFACTURER = "GoodWe"
ET_UNIT_ID = 0xF7  # GoodWe's default communication address of hybrids (also the Modbus TCP unit id)
DT_UNIT_ID = 0x7F  # ... and of PV-only inverters

# Frequent polling over the Wi-Fi kit starves the dongle's own upload to the SEMS cloud, and the portal then
# shows the plant offline (protocols.md §3.5: 127 s was too short for one user, the V2.0/LAN dongle copes
# with 1 s). Hence a slower default than other brands, and never parallel pollers on one dongle; users whose
# portal still drops out raise the interval, LAN-dongle users may lower it.
GOODWE_POLL_SECONDS = 30

# GoodWe serves fixed blocks hundreds of registers apart. Any gap inside one block may be bridged, and no
# gap may reach the next block, so one request covers each block.
GOODWE_LIMITS = PlanLimits(max_registers=MAX_REGISTERS_PER_READ, max_gap=MAX_REGISTERS_PER_READ - 1)

# The same register map answers on every framing GoodWe devices speak (LAN/TCP, UDP 8899, RS485).
ALL_TRANSPORTS: frozenset[TransportType] = frozenset(
    {TransportType.TCP, TransportType.RTU_OVER_TCP, TransportType.UDP, TransportType.SERIAL}
)


class Family(StrEnum):
    """GoodWe protocol families, told apart by a tag inside the serial number."""

    ET = "et"  # ET/EH/BT/BH hybrids and their rebrands: Modbus map at 35000+
    ES = "es"  # ES/EM/BP: legacy AA55 protocol only (no Modbus register map; not supported here)
    DT = "dt"  # DT/MS/NS/XS PV-only: Modbus map at 30000+


def _tags(words: str) -> frozenset[str]:
    return frozenset(words.split())


# The three letters after the five-character rating prefix, e.g. "9010K" + "ETU" + "..." (protocols.md §3.1).
# Platform 745 (and 753) hybrids keep the ET register map with an extended meter block.
PLATFORM_745_TAGS = _tags(
    "ESN EBN EMN SPN ERN ESC HLB HMB HBB EOA "  # low voltage battery
    "ETT HTA HUB AEB SPB CUB EUB HEB ERB BTT ETF ARB URB EBR NAH"  # high voltage battery
)
_FAMILY_TAGS: dict[Family, frozenset[str]] = {
    Family.ET: _tags("ETU ETL ETR ETC EHU EHR EHB BTU BTN BTC BHU BHN HSB HUA CUA AES ABP HHI")
    | PLATFORM_745_TAGS,
    Family.ES: _tags("ESU EMU ESA BPS BPU EMJ IJL"),
    Family.DT: _tags("DTU DTS DTN DSN DST MSU MST MSC NSU SSN SST SSX SSY PSB PSC KMT"),
}
_TAG_START = 5  # "9010K" | "ETU" | "000W0000"
# Hybrids of this rating or more keep the meter totals in the extended block, whatever their tag.
EXTENDED_METER_MIN_POWER = 15_000

# Single-phase DT-family models (the DT device block has no AC-type register, unlike the ET's 35002).
_SINGLE_PHASE_DT_TAGS = _tags("DSN DST NSU SSN SST SSX SSY MSU MST MSC PSB PSC")


def family_tag(serial: str) -> str | None:
    """The known family tag of a serial: at its usual place first, else anywhere (as GoodWe's tools do)."""
    tag = serial[_TAG_START : _TAG_START + 3]
    if any(tag in tags for tags in _FAMILY_TAGS.values()):
        return tag
    for tags in _FAMILY_TAGS.values():
        for known in sorted(tags):
            if known in serial:
                return known
    return None


def family_of_serial(serial: str) -> Family | None:
    """Which protocol family a serial number belongs to, or None if it carries no known tag."""
    tag = family_tag(serial)
    if tag is None:
        return None
    return next(family for family, tags in _FAMILY_TAGS.items() if tag in tags)


# -- status ---------------------------------------------------------------------------------------------

# ET work_mode 35187. "Wait" means the inverter is up but waiting for grid/PV conditions to connect, which
# is standby rather than sleep (a hybrid stays awake at night). "Check" is the self-test before connecting.
# "Flash" is a firmware update: no canonical state fits, so it stays unknown.
ET_WORK_MODES: dict[int, DeviceStatus] = {
    0: DeviceStatus.STANDBY,
    1: DeviceStatus.RUNNING,  # Normal, on grid
    2: DeviceStatus.RUNNING,  # Normal, off grid (backup supply)
    3: DeviceStatus.FAULT,
    4: DeviceStatus.UNKNOWN,  # Flash
    5: DeviceStatus.STARTING,  # Check
}
# DT work_mode 30129 (3 is not assigned).
DT_WORK_MODES: dict[int, DeviceStatus] = {
    0: DeviceStatus.STANDBY,
    1: DeviceStatus.RUNNING,
    2: DeviceStatus.FAULT,
    4: DeviceStatus.STARTING,
}
# battery_mode 35184: 0 no battery, 1 standby, 2 discharge, 3 charge, 4/5 waiting to charge/discharge.
BATTERY_MODES: dict[int, DeviceStatus] = {
    0: DeviceStatus.OFF,
    1: DeviceStatus.STANDBY,
    2: DeviceStatus.RUNNING,
    3: DeviceStatus.RUNNING,
    4: DeviceStatus.STANDBY,
    5: DeviceStatus.STANDBY,
}
METER_COMM_OK = 1
METER_SINGLE_PHASE = 0
METER_MODELS: dict[int, str] = {
    0: "Smart meter (single phase)",
    1: "Smart meter (three phase, 3 wire)",
    2: "Smart meter (three phase, 4 wire)",
    3: "HomeKit meter",
}


def _status(table: Mapping[int, DeviceStatus], code: int | None) -> DeviceStatus:
    return DeviceStatus.UNKNOWN if code is None else table.get(code, DeviceStatus.UNKNOWN)


# -- typed details ----------------------------------------------------------------------------------------


class MeterTotals(StrEnum):
    """Where a platform keeps the meter's lifetime totals."""

    FLOAT = "float"  # 36015/36017, float Wh
    U64 = "u64"  # 36104/36120, 64-bit 0.01 kWh (platform 745, >= 15 kW)


@dataclass(frozen=True, slots=True)
class GoodWeInverterDetails(Details):
    """What identified an inverter: its serial's family tag, phases, and (ET) whether a meter answers."""

    family_tag: str
    phases: int
    has_meter: bool = False


@dataclass(frozen=True, slots=True)
class GoodWeBatteryDetails(Details):
    """The BMS protocol code the inverter reports (identifies the battery brand/type)."""

    bms_protocol: int | None = None


@dataclass(frozen=True, slots=True)
class GoodWeMeterDetails(Details):
    """The meter type (phases and wiring) and where this platform keeps its totals."""

    meter_type: int | None
    totals: MeterTotals


def _phases_of_ac_type(ac_type: Any) -> int:
    return 1 if ac_type == 0 else 3


# -- identification helpers ------------------------------------------------------------------------------


def _clean_text(value: RawValue) -> str | None:
    """ASCII text as GoodWe pads it; None for blank or junk (unprogrammed fields read 0xFF bytes)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or not text.isascii() or not text.isprintable():
        return None
    return text


def _serial_or_reject(value: RawValue, family: Family) -> tuple[str, str]:
    """The serial and its family tag, or ``UnsupportedDeviceError`` when the block is not this family's."""
    serial = _clean_text(value)
    if serial is None or not serial.isalnum():
        raise UnsupportedDeviceError(f"no GoodWe serial number in the {family.upper()} device block")
    found = family_of_serial(serial)
    if found is not None and found is not family:
        raise UnsupportedDeviceError(f"serial {serial} is a GoodWe {found.upper()}, not {family.upper()}")
    tag = family_tag(serial)
    if tag is None:
        # Unknown tag (new model): GoodWe's own tools then trust whichever family's block answers.
        _LOGGER.debug("GoodWe serial %s has no known family tag; the %s block answered", serial, family)
        return serial, serial[_TAG_START : _TAG_START + 3]
    return serial, tag


async def _device_block(
    session: UnitSession, table: Table, start: int, count: int, family: Family
) -> tuple[list[int], str, str]:
    """Read a family's device-info block and check its serial: (words, serial, family tag)."""
    info = await session.read_or_none(RegisterKind.HOLDING, start, count)
    if info is None:
        raise UnsupportedDeviceError(f"no GoodWe {family.name} device block at {start}")
    serial, tag = _serial_or_reject(table.block_value("serial", start, info), family)
    return info, serial, tag


def _model(table: Table, start: int, info: Sequence[int], family: Family, rated_power: RawValue) -> str:
    """The model name the device reports, else one made from the family and rated power."""
    name = _clean_text(table.block_value("model_name", start, info))
    if name:
        return name
    if isinstance(rated_power, int) and rated_power:
        return f"GoodWe {family.name} {rated_power} W"
    return f"GoodWe {family.name}"


def _numeric_firmware(dsp1: RawValue, dsp2: RawValue, arm: RawValue) -> str | None:
    """GoodWe's app shows numeric versions as ``dsp1.dsp2.arm`` with the ARM version in hex."""
    if not (isinstance(dsp1, int) and isinstance(dsp2, int) and isinstance(arm, int)):
        return None
    return f"{dsp1}.{dsp2}.{arm:02x}"


def _firmware(table: Table, start: int, info: Sequence[int]) -> str | None:
    """DSP firmware string with the ARM firmware; numeric versions when the strings are blank."""
    values = {f.key: table.block_value(f.key, start, info) for f in table.fields}
    dsp, arm = _clean_text(values.get("firmware")), _clean_text(values.get("arm_firmware"))
    if dsp and arm:
        return f"{dsp} (ARM {arm})"
    if dsp or arm:
        return dsp or arm
    return _numeric_firmware(
        values.get("dsp1_version"), values.get("dsp2_version"), values.get("arm_version")
    )


def _word_pair(high: int | None, low: int | None) -> int | None:
    """A 32-bit BMS bitmap kept in two separate registers (low word bits 0-15, high word bits 16-31)."""
    if high is None and low is None:
        return None
    return (high or 0) << 16 | (low or 0)


# -- profiles ---------------------------------------------------------------------------------------------


class _GoodWeProfile(TableProfile):
    limits = GOODWE_LIMITS
    default_poll_seconds = GOODWE_POLL_SECONDS
    transports = ALL_TRANSPORTS


class _DecodeOnlyProfile(_GoodWeProfile):
    """A battery or meter found through its inverter: never probed on its own."""

    default_units = ()

    async def identify(self, session: UnitSession) -> list[DeviceIdentity]:
        raise UnsupportedDeviceError(f"{self.name} is identified through its inverter")


class GoodWeEtProfile(_GoodWeProfile):
    """ET/EH/BT/BH hybrid inverter; identify also returns its battery and meter."""

    name = "goodwe_et"
    role = Role.INVERTER
    default_units = (ET_UNIT_ID,)

    async def identify(self, session: UnitSession) -> list[DeviceIdentity]:
        info, serial, tag = await _device_block(session, ET_INFO, ET_INFO_START, ET_INFO_COUNT, Family.ET)
        rated_power = ET_INFO.block_value("rated_power", ET_INFO_START, info)
        ac_type = ET_INFO.block_value("ac_type", ET_INFO_START, info)
        model = _model(ET_INFO, ET_INFO_START, info, Family.ET, rated_power)
        battery = await self._find_battery(session, serial, model)
        extended = tag in PLATFORM_745_TAGS or (
            isinstance(rated_power, int) and rated_power >= EXTENDED_METER_MIN_POWER
        )
        meter = await self._find_meter(session, serial, extended=extended)
        inverter = DeviceIdentity(
            role=Role.INVERTER,
            profile=self.name,
            unit_id=session.unit_id,
            manufacturer=MANUFACTURER,
            model=model,
            serial=serial,
            firmware=_firmware(ET_INFO, ET_INFO_START, info),
            details=GoodWeInverterDetails(tag, _phases_of_ac_type(ac_type), has_meter=meter is not None),
            rated_power=rated_power if isinstance(rated_power, int) and rated_power else None,
        )
        return [inverter, *(d for d in (battery, meter) if d is not None)]

    async def _find_battery(self, session: UnitSession, serial: str, model: str) -> DeviceIdentity | None:
        """A battery exists when battery_mode is not 0 ("no battery") and the BMS block answers.

        battery_mode 0 is GoodWe's own "no battery" code, which its tools test too. The battery voltage is
        not consulted: a battery input with nothing attached is not guaranteed to read exactly 0 V.
        """
        mode_words = await session.read_or_none(RegisterKind.HOLDING, BATTERY_MODE.address, 1)
        mode = None if mode_words is None else decode(BATTERY_MODE.point, mode_words)
        if not isinstance(mode, int) or mode == 0:
            return None
        bms = await session.read_or_none(RegisterKind.HOLDING, BMS_START, BMS_COUNT)
        if bms is None:
            return None
        version = BMS_INFO.block_value("battery_sw_version", BMS_START, bms)
        protocol = BMS_INFO.block_value("battery_protocol", BMS_START, bms)
        return DeviceIdentity(
            role=Role.BATTERY,
            profile=GoodWeEtBatteryProfile.name,
            unit_id=session.unit_id,
            manufacturer=MANUFACTURER,
            model=f"{model} battery",
            serial=serial,  # the BMS block has no serial of its own; the key adds the role
            firmware=str(version) if isinstance(version, int) and version else None,
            via_serial=serial,
            details=GoodWeBatteryDetails(protocol if isinstance(protocol, int) else None),
        )

    async def _find_meter(
        self, session: UnitSession, serial: str, *, extended: bool
    ) -> DeviceIdentity | None:
        """A meter exists when the meter block answers and reports working communication (36004 == 1).

        Platforms with the extended block keep the totals in its 64-bit counters; a device that refuses the
        extended block after all is read from the float registers.
        """
        totals = MeterTotals.FLOAT
        block = None
        if extended:
            block = await session.read_or_none(RegisterKind.HOLDING, METER_START, METER_EXTENDED_COUNT)
            totals = MeterTotals.U64 if block is not None else MeterTotals.FLOAT
        if block is None:
            block = await session.read_or_none(RegisterKind.HOLDING, METER_START, METER_COUNT)
        if block is None:
            return None
        if ET_METER.block_value("meter_comm_status", METER_START, block) != METER_COMM_OK:
            return None
        meter_type = METER_INFO.block_value("meter_type", METER_START, block)
        version = METER_INFO.block_value("meter_sw_version", METER_START, block)
        return DeviceIdentity(
            role=Role.METER,
            profile=GoodWeEtMeterProfile.name,
            unit_id=session.unit_id,
            manufacturer=MANUFACTURER,
            model=METER_MODELS.get(meter_type if isinstance(meter_type, int) else -1, "Smart meter"),
            serial=serial,
            firmware=str(version) if isinstance(version, int) else None,
            via_serial=serial,
            details=GoodWeMeterDetails(meter_type if isinstance(meter_type, int) else None, totals),
            location=MeterLocation.GRID,  # GoodWe's smart meter sits at the grid connection point
        )

    def details_from(self, data: Any) -> Details:
        return _inverter_details(data)

    def controls(
        self, identity: DeviceIdentity, plant: Sequence[DeviceIdentity]
    ) -> tuple[ControlBinding, ...]:
        return controls.inverter_controls(identity, plant)

    @staticmethod
    def _tables(identity: DeviceIdentity) -> tuple[Table, ...]:
        details = identity.details
        three_phase = not isinstance(details, GoodWeInverterDetails) or details.phases == 3
        has_meter = isinstance(details, GoodWeInverterDetails) and details.has_meter
        return (
            ET_INVERTER,
            *((ET_INVERTER_L2_L3,) if three_phase else ()),
            *(() if has_meter else (ET_INVERTER_GRID,)),
        )

    def decode(self, identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> DeviceReading:
        values = self._values(identity, raw)
        values[Quantity.PV_POWER] = sum_of(
            (ET_INVERTER.value(raw, key) for key in ("ppv1", "ppv2", "ppv3", "ppv4")), floor=0.0
        )
        values[Quantity.INVERTER_TEMPERATURE] = first_of(
            ET_INVERTER.value(raw, "temperature_radiator"), ET_INVERTER.value(raw, "temperature_air")
        )
        found = faults.ERROR.faults(ET_INVERTER.code(raw, "error_codes")) | faults.WARNING.faults(
            ET_INVERTER.code(raw, "warning_code")
        )
        status = _status(ET_WORK_MODES, ET_INVERTER.code(raw, "work_mode"))
        return DeviceReading(identity, values, status, found)


def _inverter_details(data: Any) -> GoodWeInverterDetails:
    stored = legacy_details(data)
    phases = stored.get("phases")
    if phases is None:  # stored by 0.1: the ET's AC type
        phases = _phases_of_ac_type(stored.get("ac_type"))
    return GoodWeInverterDetails(str(stored["family_tag"]), int(phases), bool(stored.get("has_meter")))


class GoodWeEtBatteryProfile(_DecodeOnlyProfile):
    """The battery of an ET hybrid: inverter-side DC values plus the BMS block."""

    name = "goodwe_et_battery"
    role = Role.BATTERY

    def details_from(self, data: Any) -> Details:
        protocol = legacy_details(data).get("bms_protocol")
        return GoodWeBatteryDetails(None if protocol is None else int(protocol))

    def controls(
        self, identity: DeviceIdentity, plant: Sequence[DeviceIdentity]
    ) -> tuple[ControlBinding, ...]:
        return controls.battery_controls(identity, plant)

    @staticmethod
    def _tables(identity: DeviceIdentity) -> tuple[Table, ...]:
        return (ET_BATTERY,)

    def decode(self, identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> DeviceReading:
        values = self._values(identity, raw)
        code = ET_BATTERY.code
        found = faults.BMS_ALARM.faults(
            _word_pair(code(raw, "battery_error_h"), code(raw, "battery_error_l"))
        ) | faults.BMS_WARNING.faults(
            _word_pair(code(raw, "battery_warning_h"), code(raw, "battery_warning_l"))
        )
        status = _status(BATTERY_MODES, code(raw, "battery_mode"))
        return DeviceReading(identity, values, status, found)


class GoodWeEtMeterProfile(_DecodeOnlyProfile):
    """The smart meter of an ET hybrid, as the inverter reports it."""

    name = "goodwe_et_meter"
    role = Role.METER

    def details_from(self, data: Any) -> Details:
        stored = legacy_details(data)
        meter_type = stored.get("meter_type")
        # 0.1 stored no totals source, and read the float registers even where they stay 0: probe again.
        return GoodWeMeterDetails(
            None if meter_type is None else int(meter_type), MeterTotals(stored["totals"])
        )

    @staticmethod
    def _tables(identity: DeviceIdentity) -> tuple[Table, ...]:
        details = identity.details
        extended = isinstance(details, GoodWeMeterDetails) and details.totals is MeterTotals.U64
        return (ET_METER, ET_METER_U64_TOTALS if extended else ET_METER_FLOAT_TOTALS)

    def decode(self, identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> DeviceReading:
        values = self._values(identity, raw)
        details = identity.details
        if isinstance(details, GoodWeMeterDetails) and details.meter_type == METER_SINGLE_PHASE:
            values.pop(Quantity.GRID_POWER_L2, None)
            values.pop(Quantity.GRID_POWER_L3, None)
        comm = ET_METER.code(raw, "meter_comm_status")
        if comm is None:
            status = DeviceStatus.UNKNOWN
        else:
            status = DeviceStatus.RUNNING if comm == METER_COMM_OK else DeviceStatus.FAULT
        found = faults.METER_TEST.faults(ET_METER.code(raw, "meter_test_status"))
        return DeviceReading(identity, values, status, found)


class GoodWeDtProfile(_GoodWeProfile):
    """DT/MS/NS/XS PV-only inverter (no battery; its optional meter block is not read)."""

    name = "goodwe_dt"
    role = Role.INVERTER
    default_units = (DT_UNIT_ID,)

    async def identify(self, session: UnitSession) -> list[DeviceIdentity]:
        info, serial, tag = await _device_block(session, DT_INFO, DT_INFO_START, DT_INFO_COUNT, Family.DT)
        model = _model(DT_INFO, DT_INFO_START, info, Family.DT, None)
        phases = 1 if tag in _SINGLE_PHASE_DT_TAGS else 3
        return [
            DeviceIdentity(
                role=Role.INVERTER,
                profile=self.name,
                unit_id=session.unit_id,
                manufacturer=MANUFACTURER,
                model=model,
                serial=serial,
                firmware=_firmware(DT_INFO, DT_INFO_START, info),
                details=GoodWeInverterDetails(tag, phases),
            )
        ]

    def details_from(self, data: Any) -> Details:
        return _inverter_details(data)

    @staticmethod
    def _tables(identity: DeviceIdentity) -> tuple[Table, ...]:
        details = identity.details
        single = isinstance(details, GoodWeInverterDetails) and details.phases == 1
        return (DT_INVERTER,) if single else (DT_INVERTER, DT_INVERTER_L2_L3)

    def decode(self, identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> DeviceReading:
        values = self._values(identity, raw)
        strings = [_product(raw, f"vpv{n}", f"ipv{n}") for n in range(1, 5)]
        values[Quantity.PV_POWER] = sum_of(strings, floor=0.0)
        values[Quantity.PV1_POWER], values[Quantity.PV2_POWER] = strings[0], strings[1]
        # The DT's bitmaps have their own sources: no document says their bits mean what the ET's table says.
        found = faults.DT_ERROR.faults(DT_INVERTER.code(raw, "error_codes")) | faults.DT_WARNING.faults(
            DT_INVERTER.code(raw, "warning_code")
        )
        status = _status(DT_WORK_MODES, DT_INVERTER.code(raw, "work_mode"))
        return DeviceReading(identity, values, status, found)


def _product(raw: Mapping[str, RawValue], voltage: str, current: str) -> float | None:
    """A PV string's power: its voltage times its current (the DT has no power register per string)."""
    v, i = DT_INVERTER.value(raw, voltage), DT_INVERTER.value(raw, current)
    return None if v is None or i is None else v * i


GOODWE_PROFILES: tuple[Profile, ...] = (
    GoodWeEtProfile(),
    GoodWeDtProfile(),
    GoodWeEtBatteryProfile(),
    GoodWeEtMeterProfile(),
)
