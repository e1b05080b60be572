"""GoodWe inverters over Modbus: ET/EH/BT/BH hybrids (with battery and meter) and DT/MS/NS PV inverters.

The same register map answers on Modbus TCP (LAN dongle), on GoodWe's UDP port 8899 (RTU request,
``AA55``-prefixed reply) and on RS485, so these profiles work on every transport.

Register facts: protocols.md §3 (GoodWe's map as read by the ``goodwe`` library, learned from, not copied).
Sign conversions happen here and only here:
- GoodWe's grid active power is + = export; canonical ``grid_power`` is + = import, so it is negated.
- GoodWe's battery power is + = discharge, the same as canonical ``battery_power``.

Which identity carries what:
- ``goodwe_et``: PV, AC output, house load, inverter temperature, PV and load energy. It also carries
  ``grid_power`` and the grid energy totals, but only when no meter identity was found (then its own
  counters are all there is). With a meter, the grid quantities live on the meter identity alone, so
  the plant never sees two grid figures for one connection point.
- ``goodwe_et_battery``: battery power, voltage, current, SOC/SOH, temperature, charge/discharge totals.
- ``goodwe_et_meter``: grid power (total and per phase), frequency, import/export totals.
- ``goodwe_dt``: PV-only inverter; PV, AC output, grid phases, temperature, PV energy.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum

from ..exceptions import ModbusExceptionError, UnsupportedDeviceError
from ..model import DeviceIdentity, DeviceReading, DeviceStatus, Quantity, Role
from ..planner import MAX_REGISTERS_PER_READ, PlanLimits
from ..registers import DataType, Point, RawValue, RegisterKind, Sentinel, decode, scaled
from ..transport.base import TransportType
from .base import DhcpHint, Profile, UnitSession, Vendor

_LOGGER = logging.getLogger(__name__)

MANUFACTURER = "GoodWe"
ET_UNIT_ID = 0xF7  # GoodWe's default communication address of hybrids (also the Modbus TCP unit id)
DT_UNIT_ID = 0x7F  # ... and of PV-only inverters

# Frequent polling over the Wi-Fi kit starves the dongle's own upload to the SEMS cloud, and the portal then
# shows the plant offline (protocols.md §3.5: 127 s was too short for one user, the V2.0/LAN dongle copes
# with 1 s). Hence a slower default than other brands, and never parallel pollers on one dongle; users whose
# portal still drops out raise the interval, LAN-dongle users may lower it.
GOODWE_POLL_SECONDS = 30

# GoodWe serves fixed blocks (35100x125, 36000x45, 37000x24, 30100x73) hundreds of registers apart. Any gap
# inside one block may be bridged, and no gap may reach the next block, so one request covers each block.
GOODWE_LIMITS = PlanLimits(max_registers=MAX_REGISTERS_PER_READ, max_gap=MAX_REGISTERS_PER_READ - 1)

# The same register map answers on every framing GoodWe devices speak (LAN/TCP, UDP 8899, RS485).
ALL_TRANSPORTS: frozenset[TransportType] = frozenset(
    {TransportType.TCP, TransportType.RTU_OVER_TCP, TransportType.UDP, TransportType.SERIAL}
)

# Temperatures GoodWe reports when a sensor is absent (read as int16).
_NO_TEMPERATURE = (-1, 32767)


class Family(StrEnum):
    """GoodWe protocol families, told apart by a tag inside the serial number."""

    ET = "et"  # ET/EH/BT/BH hybrids and their rebrands: Modbus map at 35000+
    ES = "es"  # ES/EM/BP: legacy AA55 protocol only (no Modbus register map; not supported here)
    DT = "dt"  # DT/MS/NS/XS PV-only: Modbus map at 30000+


def _tags(words: str) -> frozenset[str]:
    return frozenset(words.split())


# The three letters after the five-character rating prefix, e.g. "9010K" + "ETU" + "..." (protocols.md §3.1).
_FAMILY_TAGS: dict[Family, frozenset[str]] = {
    Family.ET: _tags(
        "ETU ETL ETR ETC ETT ETF EHU EHR EHB BTU BTN BTC BTT BHU BHN HSB HUA CUA AES ABP HHI HTA HUB "
        "ESN EBN EMN ERN ESC SPN HLB HMB HBB"  # the last row: ES "gen 2", which speaks the ET map
    ),
    Family.ES: _tags("ESU EMU ESA BPS BPU EMJ IJL"),
    Family.DT: _tags("DTU DTS DTN DSN DST MSU MST MSC NSU SSN SST SSX SSY PSB PSC KMT"),
}
_TAG_START = 5  # "9010K" | "ETU" | "000W0000"

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


# -- register points ------------------------------------------------------------------------------------

_UNSIGNED = frozenset({DataType.U16, DataType.U32, DataType.U64})


def _reg(key: str, address: int, dtype: DataType, scale: float = 1.0) -> Point:
    """A holding register; unsigned values use GoodWe's all-ones 'undefined' marker (0xFFFF, 0xFFFFFFFF).

    Signed values have no marker: 0xFFFF is a real -1 W there. Floats decode NaN to None by themselves.
    """
    sentinel = Sentinel.ALL_ONES if dtype in _UNSIGNED else Sentinel.NONE
    return Point(key, address, dtype, RegisterKind.HOLDING, sentinel=sentinel, scale=scale)


def _text(key: str, address: int, length: int) -> Point:
    return Point(key, address, DataType.STRING, RegisterKind.HOLDING, length=length)


U16, S16, U32, S32, F32 = DataType.U16, DataType.S16, DataType.U32, DataType.S32, DataType.F32


class EtInfo:
    """ET device information block 35000..35032 (read once, while identifying)."""

    START, COUNT = 35000, 33
    RATED_POWER = _reg("rated_power", 35001, U16)  # W
    AC_TYPE = _reg("ac_type", 35002, U16)  # 0 single phase, 1 three phase 4 wire, 2 three phase 3 wire
    SERIAL = _text("serial", 35003, 8)
    MODEL = _text("model_name", 35011, 5)
    DSP1_VERSION = _reg("dsp1_version", 35016, U16)
    DSP2_VERSION = _reg("dsp2_version", 35017, U16)
    ARM_VERSION = _reg("arm_version", 35019, U16)
    FIRMWARE = _text("firmware", 35021, 6)  # e.g. "04029-06-S11" (DSP)
    ARM_FIRMWARE = _text("arm_firmware", 35027, 6)  # e.g. "02041-17-S00"


class EtRun:
    """ET running-data block 35100..35224."""

    START, COUNT = 35100, 125
    TIMESTAMP = 35100  # 3 registers: YY MM DD hh mm ss bytes (written by the simulator, not decoded)
    VPV1 = _reg("vpv1", 35103, U16, 0.1)
    IPV1 = _reg("ipv1", 35104, U16, 0.1)
    PPV1 = _reg("ppv1", 35105, U32)
    VPV2 = _reg("vpv2", 35107, U16, 0.1)
    IPV2 = _reg("ipv2", 35108, U16, 0.1)
    PPV2 = _reg("ppv2", 35109, U32)
    VPV3 = _reg("vpv3", 35111, U16, 0.1)
    IPV3 = _reg("ipv3", 35112, U16, 0.1)
    PPV3 = _reg("ppv3", 35113, U32)
    VPV4 = _reg("vpv4", 35115, U16, 0.1)
    IPV4 = _reg("ipv4", 35116, U16, 0.1)
    PPV4 = _reg("ppv4", 35117, U32)
    VGRID1 = _reg("vgrid1", 35121, U16, 0.1)
    IGRID1 = _reg("igrid1", 35122, U16, 0.1)
    FGRID1 = _reg("fgrid1", 35123, U16, 0.01)
    PGRID1 = _reg("pgrid1", 35125, S16)  # inverter output per phase, not grid exchange
    VGRID2 = _reg("vgrid2", 35126, U16, 0.1)
    IGRID2 = _reg("igrid2", 35127, U16, 0.1)
    FGRID2 = _reg("fgrid2", 35128, U16, 0.01)
    PGRID2 = _reg("pgrid2", 35130, S16)
    VGRID3 = _reg("vgrid3", 35131, U16, 0.1)
    IGRID3 = _reg("igrid3", 35132, U16, 0.1)
    FGRID3 = _reg("fgrid3", 35133, U16, 0.01)
    PGRID3 = _reg("pgrid3", 35135, S16)
    GRID_MODE = _reg("grid_mode", 35136, U16)  # 0 disconnected, 1 connected, 2 fault
    TOTAL_INVERTER_POWER = _reg("total_inverter_power", 35138, S16)
    ACTIVE_POWER = _reg("active_power", 35140, S16)  # grid exchange, GoodWe sign: + = export
    LOAD_PTOTAL = _reg("load_ptotal", 35172, S16)
    TEMPERATURE_AIR = _reg("temperature_air", 35174, S16, 0.1)
    TEMPERATURE_MODULE = _reg("temperature_module", 35175, S16, 0.1)
    TEMPERATURE_RADIATOR = _reg("temperature_radiator", 35176, S16, 0.1)
    VBATTERY1 = _reg("vbattery1", 35180, U16, 0.1)
    IBATTERY1 = _reg("ibattery1", 35181, S16, 0.1)  # + = discharge, like the power
    PBATTERY1 = _reg("pbattery1", 35182, S32)  # + = discharge, - = charge (canonical already)
    BATTERY_MODE = _reg("battery_mode", 35184, U16)
    WARNING_CODE = _reg("warning_code", 35185, U16)
    WORK_MODE = _reg("work_mode", 35187, U16)
    ERROR_CODES = _reg("error_codes", 35189, U32)
    E_TOTAL = _reg("e_total", 35191, U32, 0.1)  # PV generation, kWh
    E_DAY = _reg("e_day", 35193, U32, 0.1)
    E_TOTAL_EXP = _reg("e_total_exp", 35195, U32, 0.1)
    E_TOTAL_IMP = _reg("e_total_imp", 35200, U32, 0.1)
    E_LOAD_TOTAL = _reg("e_load_total", 35203, U32, 0.1)
    E_BAT_CHARGE_TOTAL = _reg("e_bat_charge_total", 35206, U32, 0.1)
    E_BAT_DISCHARGE_TOTAL = _reg("e_bat_discharge_total", 35209, U32, 0.1)


class EtMeter:
    """The ET's view of its smart meter, block 36000..36044 (same sign as 35140: + = export)."""

    START, COUNT = 36000, 45
    TEST_STATUS = _reg("meter_test_status", 36003, U16)  # 0 unchecked, 1 correct, 2 reversed, 3 incorrect
    COMM_STATUS = _reg("meter_comm_status", 36004, U16)  # 1 OK
    FREQUENCY = _reg("meter_frequency", 36014, U16, 0.01)
    E_TOTAL_EXP = _reg("meter_e_total_exp", 36015, F32, 0.001)  # float Wh -> kWh
    E_TOTAL_IMP = _reg("meter_e_total_imp", 36017, F32, 0.001)
    ACTIVE_POWER1 = _reg("meter_active_power1", 36019, S32)
    ACTIVE_POWER2 = _reg("meter_active_power2", 36021, S32)
    ACTIVE_POWER3 = _reg("meter_active_power3", 36023, S32)
    ACTIVE_POWER_TOTAL = _reg("meter_active_power_total", 36025, S32)
    METER_TYPE = _reg("meter_type", 36043, U16)  # 0 single phase, 1 3P3W, 2 3P4W, 3 HomeKit
    SW_VERSION = _reg("meter_sw_version", 36044, U16)


class EtBattery:
    """BMS block 37000..37023 (first battery)."""

    START, COUNT = 37000, 24
    BMS = _reg("battery_bms", 37000, U16)
    TEMPERATURE = _reg("battery_temperature", 37003, S16, 0.1)
    ERROR_L = _reg("battery_error_l", 37006, U16)
    SOC = _reg("battery_soc", 37007, U16)
    SOH = _reg("battery_soh", 37008, U16)
    WARNING_L = _reg("battery_warning_l", 37010, U16)
    PROTOCOL = _reg("battery_protocol", 37011, U16)
    ERROR_H = _reg("battery_error_h", 37012, U16)
    WARNING_H = _reg("battery_warning_h", 37013, U16)
    SW_VERSION = _reg("battery_sw_version", 37014, U16)


class DtInfo:
    """DT device information block 30001..30040."""

    START, COUNT = 30001, 40
    SERIAL = _text("serial", 30004, 8)
    MODEL = _text("model_name", 30012, 5)
    DSP1_VERSION = _reg("dsp1_version", 30034, U16)
    DSP2_VERSION = _reg("dsp2_version", 30035, U16)
    ARM_VERSION = _reg("arm_version", 30036, U16)


class DtRun:
    """DT running-data block 30100..30172. PV string power is not a register: it is V x I."""

    START, COUNT = 30100, 73
    TIMESTAMP = 30100
    VPV1 = _reg("vpv1", 30103, U16, 0.1)
    IPV1 = _reg("ipv1", 30104, U16, 0.1)
    VPV2 = _reg("vpv2", 30105, U16, 0.1)
    IPV2 = _reg("ipv2", 30106, U16, 0.1)
    VPV3 = _reg("vpv3", 30107, U16, 0.1)
    IPV3 = _reg("ipv3", 30108, U16, 0.1)
    VPV4 = _reg("vpv4", 30109, U16, 0.1)
    IPV4 = _reg("ipv4", 30110, U16, 0.1)
    VGRID1 = _reg("vgrid1", 30118, U16, 0.1)
    VGRID2 = _reg("vgrid2", 30119, U16, 0.1)
    VGRID3 = _reg("vgrid3", 30120, U16, 0.1)
    IGRID1 = _reg("igrid1", 30121, U16, 0.1)
    IGRID2 = _reg("igrid2", 30122, U16, 0.1)
    IGRID3 = _reg("igrid3", 30123, U16, 0.1)
    FGRID1 = _reg("fgrid1", 30124, U16, 0.01)
    TOTAL_INVERTER_POWER = _reg("total_inverter_power", 30127, U32)
    WORK_MODE = _reg("work_mode", 30129, U16)  # 0 Wait, 1 Normal, 2 Error, 4 Check
    ERROR_CODES = _reg("error_codes", 30130, U32)
    WARNING_CODE = _reg("warning_code", 30132, U16)
    TEMPERATURE = _reg("temperature", 30141, S16, 0.1)
    E_DAY = _reg("e_day", 30144, U16, 0.1)
    E_TOTAL = _reg("e_total", 30145, U32, 0.1)


ET_INVERTER_POINTS: tuple[Point, ...] = (
    EtRun.VPV1, EtRun.IPV1, EtRun.PPV1, EtRun.VPV2, EtRun.IPV2, EtRun.PPV2, EtRun.PPV3, EtRun.PPV4,
    EtRun.VGRID1, EtRun.IGRID1, EtRun.FGRID1, EtRun.VGRID2, EtRun.IGRID2, EtRun.VGRID3, EtRun.IGRID3,
    EtRun.TOTAL_INVERTER_POWER, EtRun.ACTIVE_POWER, EtRun.LOAD_PTOTAL,
    EtRun.TEMPERATURE_AIR, EtRun.TEMPERATURE_RADIATOR,
    EtRun.WARNING_CODE, EtRun.WORK_MODE, EtRun.ERROR_CODES,
    EtRun.E_TOTAL, EtRun.E_DAY, EtRun.E_TOTAL_EXP, EtRun.E_TOTAL_IMP, EtRun.E_LOAD_TOTAL,
)  # fmt: skip

ET_BATTERY_POINTS: tuple[Point, ...] = (
    EtRun.VBATTERY1, EtRun.IBATTERY1, EtRun.PBATTERY1, EtRun.BATTERY_MODE,
    EtRun.E_BAT_CHARGE_TOTAL, EtRun.E_BAT_DISCHARGE_TOTAL,
    EtBattery.TEMPERATURE, EtBattery.ERROR_L, EtBattery.SOC, EtBattery.SOH, EtBattery.WARNING_L,
    EtBattery.ERROR_H, EtBattery.WARNING_H,
)  # fmt: skip

ET_METER_POINTS: tuple[Point, ...] = (
    EtMeter.TEST_STATUS, EtMeter.COMM_STATUS, EtMeter.FREQUENCY, EtMeter.E_TOTAL_EXP, EtMeter.E_TOTAL_IMP,
    EtMeter.ACTIVE_POWER1, EtMeter.ACTIVE_POWER2, EtMeter.ACTIVE_POWER3, EtMeter.ACTIVE_POWER_TOTAL,
)  # fmt: skip

DT_POINTS: tuple[Point, ...] = (
    DtRun.VPV1, DtRun.IPV1, DtRun.VPV2, DtRun.IPV2, DtRun.VPV3, DtRun.IPV3, DtRun.VPV4, DtRun.IPV4,
    DtRun.VGRID1, DtRun.VGRID2, DtRun.VGRID3, DtRun.IGRID1, DtRun.IGRID2, DtRun.IGRID3, DtRun.FGRID1,
    DtRun.TOTAL_INVERTER_POWER, DtRun.WORK_MODE, DtRun.ERROR_CODES, DtRun.WARNING_CODE,
    DtRun.TEMPERATURE, DtRun.E_DAY, DtRun.E_TOTAL,
)  # fmt: skip


# -- status and faults ------------------------------------------------------------------------------------

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
METER_TEST_FAULTS = frozenset({2, 3})  # CT/meter reversed, wiring incorrect


def set_bits(value: int | None) -> list[int]:
    """Bit numbers set in a bitmap (none when the bitmap is unavailable)."""
    if value is None:
        return []
    return [bit for bit in range(value.bit_length()) if value >> bit & 1]


def fault_codes(prefix: str, value: int | None) -> set[str]:
    """Raw fault codes, one per set bit, e.g. ``goodwe_error:13``; translation happens upstream."""
    return {f"{prefix}:{bit}" for bit in set_bits(value)}


def _status(table: Mapping[int, DeviceStatus], code: RawValue) -> DeviceStatus:
    if not isinstance(code, int):
        return DeviceStatus.UNKNOWN
    return table.get(code, DeviceStatus.UNKNOWN)


# -- decoding helpers -------------------------------------------------------------------------------------


class _Raw:
    """Typed access to one read's raw point values."""

    def __init__(self, raw: Mapping[str, RawValue]) -> None:
        self.raw = dict(raw)

    def code(self, point: Point) -> int | None:
        value = self.raw.get(point.key)
        return value if isinstance(value, int) else None

    def value(self, point: Point) -> float | None:
        """The scaled value (None when unavailable)."""
        return scaled(point, self.raw.get(point.key), self.raw)

    def negated(self, point: Point) -> float | None:
        """GoodWe's export-positive power as canonical import-positive."""
        value = self.value(point)
        return None if value is None else 0.0 - value  # not -value: -0.0 would show as "-0 W"

    def temperature(self, point: Point) -> float | None:
        """Temperatures: -1 and 32767 mean 'no sensor'."""
        return None if self.code(point) in _NO_TEMPERATURE else self.value(point)

    def product(self, a: Point, b: Point) -> float | None:
        x, y = self.value(a), self.value(b)
        return None if x is None or y is None else x * y


def _sum_positive(values: Iterable[float | None]) -> float | None:
    """Sum of the available values (None: string undefined), each floored at 0; None if none is available."""
    present = [max(0.0, v) for v in values if v is not None]
    return sum(present) if present else None


def _clean_text(value: RawValue) -> str | None:
    """ASCII text as GoodWe pads it; None for blank or junk (unprogrammed fields read 0xFF bytes)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or not text.isascii() or not text.isprintable():
        return None
    return text


def _block_value(point: Point, start: int, words: Sequence[int]) -> RawValue:
    """Decode one point out of a block read starting at ``start``."""
    offset = point.address - start
    return decode(point, words[offset : offset + point.count])


async def _read_block(session: UnitSession, start: int, count: int) -> list[int] | None:
    """Read a block; None when the device says it does not have it."""
    try:
        return await session.read(RegisterKind.HOLDING, start, count)
    except ModbusExceptionError as err:
        if err.refuses_registers:
            return None
        raise


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


def _drop(values: dict[Quantity, float | None], quantities: Iterable[Quantity]) -> None:
    for quantity in quantities:
        values.pop(quantity, None)


_L2_L3 = (
    Quantity.GRID_VOLTAGE_L2,
    Quantity.GRID_VOLTAGE_L3,
    Quantity.GRID_CURRENT_L2,
    Quantity.GRID_CURRENT_L3,
    Quantity.GRID_POWER_L2,
    Quantity.GRID_POWER_L3,
)


class _GoodWeProfile(Profile):
    limits = GOODWE_LIMITS
    default_poll_seconds = GOODWE_POLL_SECONDS
    transports = ALL_TRANSPORTS


class _DecodeOnlyProfile(_GoodWeProfile):
    """A battery or meter found through its inverter: never probed on its own."""

    default_units = ()

    async def identify(self, session: UnitSession) -> list[DeviceIdentity]:
        raise UnsupportedDeviceError(f"{self.name} is identified through its inverter")


# -- ET hybrid ----------------------------------------------------------------------------------------------


class GoodWeEtProfile(_GoodWeProfile):
    """ET/EH/BT/BH hybrid inverter; identify also returns its battery and meter."""

    name = "goodwe_et"
    role = Role.INVERTER
    default_units = (ET_UNIT_ID,)

    async def identify(self, session: UnitSession) -> list[DeviceIdentity]:
        info, serial, tag = await _device_block(session, EtInfo, Family.ET)
        rated_power = _block_value(EtInfo.RATED_POWER, EtInfo.START, info)
        ac_type = _block_value(EtInfo.AC_TYPE, EtInfo.START, info)
        model = _model(EtInfo, info, Family.ET, rated_power)
        battery = await self._find_battery(session, serial, model)
        meter = await self._find_meter(session, serial)
        details: list[tuple[str, str | int]] = [("family_tag", tag), ("has_meter", int(meter is not None))]
        if isinstance(rated_power, int):
            details.append(("rated_power", rated_power))
        if isinstance(ac_type, int):
            details.append(("ac_type", ac_type))
        inverter = DeviceIdentity(
            role=Role.INVERTER,
            profile=self.name,
            unit_id=session.unit_id,
            manufacturer=MANUFACTURER,
            model=model,
            serial=serial,
            firmware=_et_firmware(info),
            details=tuple(details),
        )
        return [inverter, *(d for d in (battery, meter) if d is not None)]

    async def _find_battery(self, session: UnitSession, serial: str, model: str) -> DeviceIdentity | None:
        """A battery exists when battery_mode is not 0 ("no battery") and the BMS block answers.

        battery_mode 0 is GoodWe's own "no battery" code, which its tools test too. The battery voltage is
        not consulted: a battery input with nothing attached is not guaranteed to read exactly 0 V.
        """
        mode_words = await _read_block(session, EtRun.BATTERY_MODE.address, 1)
        mode = None if mode_words is None else decode(EtRun.BATTERY_MODE, mode_words)
        if not isinstance(mode, int) or mode == 0:
            return None
        bms = await _read_block(session, EtBattery.START, EtBattery.COUNT)
        if bms is None:
            return None
        version = _block_value(EtBattery.SW_VERSION, EtBattery.START, bms)
        protocol = _block_value(EtBattery.PROTOCOL, EtBattery.START, bms)
        details: tuple[tuple[str, str | int], ...] = (
            (("bms_protocol", protocol),) if isinstance(protocol, int) else ()
        )
        return DeviceIdentity(
            role=Role.BATTERY,
            profile=GoodWeEtBatteryProfile.name,
            unit_id=session.unit_id,
            manufacturer=MANUFACTURER,
            model=f"{model} battery",
            serial=serial,  # the BMS block has no serial of its own; the key adds the role
            firmware=str(version) if isinstance(version, int) and version else None,
            via_serial=serial,
            details=details,
        )

    async def _find_meter(self, session: UnitSession, serial: str) -> DeviceIdentity | None:
        """A meter exists when the meter block answers and reports working communication (36004 == 1)."""
        block = await _read_block(session, EtMeter.START, EtMeter.COUNT)
        if block is None:
            return None
        if _block_value(EtMeter.COMM_STATUS, EtMeter.START, block) != METER_COMM_OK:
            return None
        meter_type = _block_value(EtMeter.METER_TYPE, EtMeter.START, block)
        version = _block_value(EtMeter.SW_VERSION, EtMeter.START, block)
        return DeviceIdentity(
            role=Role.METER,
            profile=GoodWeEtMeterProfile.name,
            unit_id=session.unit_id,
            manufacturer=MANUFACTURER,
            model=METER_MODELS.get(meter_type if isinstance(meter_type, int) else -1, "Smart meter"),
            serial=serial,
            firmware=str(version) if isinstance(version, int) else None,
            via_serial=serial,
            details=(("meter_type", meter_type),) if isinstance(meter_type, int) else (),
        )

    def points(self, identity: DeviceIdentity) -> Sequence[Point]:
        return ET_INVERTER_POINTS

    def decode(self, identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> DeviceReading:
        r = _Raw(raw)
        values: dict[Quantity, float | None] = {
            Quantity.PV_POWER: _sum_positive(
                r.value(p) for p in (EtRun.PPV1, EtRun.PPV2, EtRun.PPV3, EtRun.PPV4)
            ),
            Quantity.PV1_VOLTAGE: r.value(EtRun.VPV1),
            Quantity.PV1_CURRENT: r.value(EtRun.IPV1),
            Quantity.PV1_POWER: r.value(EtRun.PPV1),
            Quantity.PV2_VOLTAGE: r.value(EtRun.VPV2),
            Quantity.PV2_CURRENT: r.value(EtRun.IPV2),
            Quantity.PV2_POWER: r.value(EtRun.PPV2),
            Quantity.AC_POWER: r.value(EtRun.TOTAL_INVERTER_POWER),
            Quantity.LOAD_POWER: r.value(EtRun.LOAD_PTOTAL),
            Quantity.GRID_FREQUENCY: r.value(EtRun.FGRID1),
            Quantity.GRID_VOLTAGE_L1: r.value(EtRun.VGRID1),
            Quantity.GRID_VOLTAGE_L2: r.value(EtRun.VGRID2),
            Quantity.GRID_VOLTAGE_L3: r.value(EtRun.VGRID3),
            Quantity.GRID_CURRENT_L1: r.value(EtRun.IGRID1),
            Quantity.GRID_CURRENT_L2: r.value(EtRun.IGRID2),
            Quantity.GRID_CURRENT_L3: r.value(EtRun.IGRID3),
            Quantity.INVERTER_TEMPERATURE: _first(
                r.temperature(EtRun.TEMPERATURE_RADIATOR), r.temperature(EtRun.TEMPERATURE_AIR)
            ),
            Quantity.PV_ENERGY_TOTAL: r.value(EtRun.E_TOTAL),
            Quantity.PV_ENERGY_TODAY: r.value(EtRun.E_DAY),
            Quantity.LOAD_ENERGY_TOTAL: r.value(EtRun.E_LOAD_TOTAL),
        }
        if not identity.detail("has_meter"):
            values[Quantity.GRID_POWER] = r.negated(EtRun.ACTIVE_POWER)
            values[Quantity.GRID_IMPORT_ENERGY_TOTAL] = r.value(EtRun.E_TOTAL_IMP)
            values[Quantity.GRID_EXPORT_ENERGY_TOTAL] = r.value(EtRun.E_TOTAL_EXP)
        if identity.detail("ac_type") == 0:
            _drop(values, _L2_L3)
        faults = fault_codes("goodwe_error", r.code(EtRun.ERROR_CODES)) | fault_codes(
            "goodwe_warning", r.code(EtRun.WARNING_CODE)
        )
        return DeviceReading(
            identity, values, _status(ET_WORK_MODES, raw.get(EtRun.WORK_MODE.key)), frozenset(faults)
        )


METER_MODELS: dict[int, str] = {
    0: "Smart meter (single phase)",
    1: "Smart meter (three phase, 3 wire)",
    2: "Smart meter (three phase, 4 wire)",
    3: "HomeKit meter",
}


def _first(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)


async def _device_block(
    session: UnitSession, block: type[EtInfo] | type[DtInfo], family: Family
) -> tuple[list[int], str, str]:
    """Read a family's device-info block and check its serial: (words, serial, family tag)."""
    info = await _read_block(session, block.START, block.COUNT)
    if info is None:
        raise UnsupportedDeviceError(f"no GoodWe {family.name} device block at {block.START}")
    serial, tag = _serial_or_reject(_block_value(block.SERIAL, block.START, info), family)
    return info, serial, tag


def _model(
    block: type[EtInfo] | type[DtInfo], info: Sequence[int], family: Family, rated_power: RawValue
) -> str:
    """The model name the device reports, else one made from the family and rated power."""
    name = _clean_text(_block_value(block.MODEL, block.START, info))
    if name:
        return name
    if isinstance(rated_power, int) and rated_power:
        return f"GoodWe {family.name} {rated_power} W"
    return f"GoodWe {family.name}"


def _et_firmware(info: Sequence[int]) -> str | None:
    """DSP firmware string with the ARM firmware; numeric versions when the strings are blank."""
    dsp = _clean_text(_block_value(EtInfo.FIRMWARE, EtInfo.START, info))
    arm = _clean_text(_block_value(EtInfo.ARM_FIRMWARE, EtInfo.START, info))
    if dsp and arm:
        return f"{dsp} (ARM {arm})"
    if dsp or arm:
        return dsp or arm
    return _numeric_firmware(
        _block_value(EtInfo.DSP1_VERSION, EtInfo.START, info),
        _block_value(EtInfo.DSP2_VERSION, EtInfo.START, info),
        _block_value(EtInfo.ARM_VERSION, EtInfo.START, info),
    )


def _numeric_firmware(dsp1: RawValue, dsp2: RawValue, arm: RawValue) -> str | None:
    """GoodWe's app shows numeric versions as ``dsp1.dsp2.arm`` with the ARM version in hex."""
    if not (isinstance(dsp1, int) and isinstance(dsp2, int) and isinstance(arm, int)):
        return None
    return f"{dsp1}.{dsp2}.{arm:02x}"


class GoodWeEtBatteryProfile(_DecodeOnlyProfile):
    """The battery of an ET hybrid: inverter-side DC values plus the BMS block."""

    name = "goodwe_et_battery"
    role = Role.BATTERY

    def points(self, identity: DeviceIdentity) -> Sequence[Point]:
        return ET_BATTERY_POINTS

    def decode(self, identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> DeviceReading:
        r = _Raw(raw)
        values: dict[Quantity, float | None] = {
            Quantity.BATTERY_POWER: r.value(EtRun.PBATTERY1),  # GoodWe + = discharge, as canonical
            Quantity.BATTERY_VOLTAGE: r.value(EtRun.VBATTERY1),
            Quantity.BATTERY_CURRENT: r.value(EtRun.IBATTERY1),
            Quantity.BATTERY_SOC: r.value(EtBattery.SOC),
            Quantity.BATTERY_SOH: r.value(EtBattery.SOH),
            Quantity.BATTERY_TEMPERATURE: r.temperature(EtBattery.TEMPERATURE),
            Quantity.BATTERY_CHARGE_ENERGY_TOTAL: r.value(EtRun.E_BAT_CHARGE_TOTAL),
            Quantity.BATTERY_DISCHARGE_ENERGY_TOTAL: r.value(EtRun.E_BAT_DISCHARGE_TOTAL),
        }
        faults = fault_codes(
            "goodwe_bms_alarm", _word_pair(r.code(EtBattery.ERROR_H), r.code(EtBattery.ERROR_L))
        )
        faults |= fault_codes(
            "goodwe_bms_warning", _word_pair(r.code(EtBattery.WARNING_H), r.code(EtBattery.WARNING_L))
        )
        status = _status(BATTERY_MODES, raw.get(EtRun.BATTERY_MODE.key))
        return DeviceReading(identity, values, status, frozenset(faults))


def _word_pair(high: int | None, low: int | None) -> int | None:
    """A 32-bit BMS bitmap kept in two separate registers (low word bits 0-15, high word bits 16-31)."""
    if high is None and low is None:
        return None
    return (high or 0) << 16 | (low or 0)


class GoodWeEtMeterProfile(_DecodeOnlyProfile):
    """The smart meter of an ET hybrid, as the inverter reports it."""

    name = "goodwe_et_meter"
    role = Role.METER

    def points(self, identity: DeviceIdentity) -> Sequence[Point]:
        return ET_METER_POINTS

    def decode(self, identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> DeviceReading:
        r = _Raw(raw)
        values: dict[Quantity, float | None] = {
            Quantity.GRID_POWER: r.negated(EtMeter.ACTIVE_POWER_TOTAL),
            Quantity.GRID_POWER_L1: r.negated(EtMeter.ACTIVE_POWER1),
            Quantity.GRID_POWER_L2: r.negated(EtMeter.ACTIVE_POWER2),
            Quantity.GRID_POWER_L3: r.negated(EtMeter.ACTIVE_POWER3),
            Quantity.GRID_FREQUENCY: r.value(EtMeter.FREQUENCY),
            Quantity.GRID_IMPORT_ENERGY_TOTAL: r.value(EtMeter.E_TOTAL_IMP),
            Quantity.GRID_EXPORT_ENERGY_TOTAL: r.value(EtMeter.E_TOTAL_EXP),
        }
        if identity.detail("meter_type") == 0:
            _drop(values, _L2_L3)
        comm = r.code(EtMeter.COMM_STATUS)
        if comm is None:
            status = DeviceStatus.UNKNOWN
        else:
            status = DeviceStatus.RUNNING if comm == METER_COMM_OK else DeviceStatus.FAULT
        test = r.code(EtMeter.TEST_STATUS)
        faults = frozenset({f"goodwe_meter_test:{test}"} if test in METER_TEST_FAULTS else set())
        return DeviceReading(identity, values, status, faults)


# -- DT PV inverter -----------------------------------------------------------------------------------------


class GoodWeDtProfile(_GoodWeProfile):
    """DT/MS/NS/XS PV-only inverter (no battery; its optional meter block is not read)."""

    name = "goodwe_dt"
    role = Role.INVERTER
    default_units = (DT_UNIT_ID,)

    async def identify(self, session: UnitSession) -> list[DeviceIdentity]:
        info, serial, tag = await _device_block(session, DtInfo, Family.DT)
        model = _model(DtInfo, info, Family.DT, None)
        firmware = _numeric_firmware(
            _block_value(DtInfo.DSP1_VERSION, DtInfo.START, info),
            _block_value(DtInfo.DSP2_VERSION, DtInfo.START, info),
            _block_value(DtInfo.ARM_VERSION, DtInfo.START, info),
        )
        phases = 1 if tag in _SINGLE_PHASE_DT_TAGS else 3
        return [
            DeviceIdentity(
                role=Role.INVERTER,
                profile=self.name,
                unit_id=session.unit_id,
                manufacturer=MANUFACTURER,
                model=model,
                serial=serial,
                firmware=firmware,
                details=(("family_tag", tag), ("phases", phases)),
            )
        ]

    def points(self, identity: DeviceIdentity) -> Sequence[Point]:
        return DT_POINTS

    def decode(self, identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> DeviceReading:
        r = _Raw(raw)
        strings = (
            (DtRun.VPV1, DtRun.IPV1),
            (DtRun.VPV2, DtRun.IPV2),
            (DtRun.VPV3, DtRun.IPV3),
            (DtRun.VPV4, DtRun.IPV4),
        )
        values: dict[Quantity, float | None] = {
            Quantity.PV_POWER: _sum_positive(r.product(v, i) for v, i in strings),
            Quantity.PV1_VOLTAGE: r.value(DtRun.VPV1),
            Quantity.PV1_CURRENT: r.value(DtRun.IPV1),
            Quantity.PV1_POWER: r.product(DtRun.VPV1, DtRun.IPV1),
            Quantity.PV2_VOLTAGE: r.value(DtRun.VPV2),
            Quantity.PV2_CURRENT: r.value(DtRun.IPV2),
            Quantity.PV2_POWER: r.product(DtRun.VPV2, DtRun.IPV2),
            Quantity.AC_POWER: r.value(DtRun.TOTAL_INVERTER_POWER),
            Quantity.GRID_FREQUENCY: r.value(DtRun.FGRID1),
            Quantity.GRID_VOLTAGE_L1: r.value(DtRun.VGRID1),
            Quantity.GRID_VOLTAGE_L2: r.value(DtRun.VGRID2),
            Quantity.GRID_VOLTAGE_L3: r.value(DtRun.VGRID3),
            Quantity.GRID_CURRENT_L1: r.value(DtRun.IGRID1),
            Quantity.GRID_CURRENT_L2: r.value(DtRun.IGRID2),
            Quantity.GRID_CURRENT_L3: r.value(DtRun.IGRID3),
            Quantity.INVERTER_TEMPERATURE: r.temperature(DtRun.TEMPERATURE),
            Quantity.PV_ENERGY_TOTAL: r.value(DtRun.E_TOTAL),
            Quantity.PV_ENERGY_TODAY: r.value(DtRun.E_DAY),
        }
        if identity.detail("phases") == 1:
            _drop(values, _L2_L3)
        # The DT's bitmaps have their own prefixes: no source documents that their bits mean what the ET's
        # error table says, so upstream must not name them from it.
        faults = fault_codes("goodwe_dt_error", r.code(DtRun.ERROR_CODES)) | fault_codes(
            "goodwe_dt_warning", r.code(DtRun.WARNING_CODE)
        )
        return DeviceReading(
            identity, values, _status(DT_WORK_MODES, raw.get(DtRun.WORK_MODE.key)), frozenset(faults)
        )


GOODWE_PROFILES: tuple[Profile, ...] = (
    GoodWeEtProfile(),
    GoodWeDtProfile(),
    GoodWeEtBatteryProfile(),
    GoodWeEtMeterProfile(),
)

# The Hi-Flying Wi-Fi/LAN modules inside GoodWe's dongles have no GoodWe-specific OUI or DHCP host name,
# and the same modules sit in other products (Magic Home LED controllers, Solarman loggers): a match only
# means "probe it". 34EAE7 is the MAC of a GoodWe LAN kit's own discovery reply; ACCF23 and F0FE6B are
# Hi-Flying's other registered OUIs. Dongles speak GoodWe's UDP framing first, Modbus TCP on newer kits.
VENDOR = Vendor(
    name="goodwe",
    profiles=GOODWE_PROFILES,
    tcp_ports=(502,),
    udp_ports=(8899,),
    dhcp=(
        DhcpHint("GoodWe", macaddress="34EAE7*"),
        DhcpHint("GoodWe", macaddress="ACCF23*"),
        DhcpHint("GoodWe", macaddress="F0FE6B*"),
    ),
)
