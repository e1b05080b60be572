"""SunSpec profiles: inverters, batteries and meters that expose the SunSpec Modbus model chain.

One profile identifies (``sunspec_inverter``): it walks the unit's model chain once and returns every
device it finds there: the inverter, a battery behind it, and meters (in the inverter's own models or
in a following Common-model segment, as SolarEdge does). ``sunspec_battery`` and ``sunspec_meter`` only
decode. A unit that holds nothing but a meter (e.g. a SunSpec meter on unit 2) gives a meter identity
with its own serial.

Point tables come from the pysunspec2 model definitions. ``identify`` and ``prepare`` load them off the
event loop (``PlantClient.read`` calls ``prepare`` for devices restored from storage).

Sign conventions (canonical ones in ``model.py``):
- 701 ``W`` is + for generation (model text), the same as canonical ``ac_power``.
- 802 ``W``/``A`` carry no sign rule in the model text ("power flowing to/from the battery bank").
  We read + as discharging: that is the DER generation convention of 701, and evcc's generic SunSpec
  battery template reads 802 W unchanged as battery power, which evcc counts + = discharging.
  714 ESS port ``DCW`` is read the same way (unverified: no device seen).
- Meter 20x/21x ``W``: the model text gives no sign either. Fronius meters at the grid connection
  point report + for import, so it is kept as canonical ``grid_power`` (+ = import).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..exceptions import ModbusExceptionError, PlantProtocolError, UnsupportedDeviceError
from ..model import DeviceIdentity, DeviceReading, DeviceStatus, Quantity, Role
from ..planner import MAX_REGISTERS_PER_READ, PlanLimits
from ..registers import DataType, Point, RawValue, RegisterKind, decode, scaled
from .base import DhcpHint, Profile, UnitSession, Vendor
from .sunspec_models import (
    BASIC_STORAGE_MODEL,
    BATTERY_MODEL,
    COMMON_MODEL,
    DER_AC_MODEL,
    DER_DC_MODEL,
    FLOAT_INVERTER_MODELS,
    FLOAT_METER_MODELS,
    INT_INVERTER_MODELS,
    INT_METER_MODELS,
    MPPT_MODEL,
    STATUS_MODEL,
    STORAGE_CAPACITY_MODEL,
    ensure_models_loaded,
    has_point,
    layout,
    model_point,
    point_key,
    scale_factor_point,
)

BASE_ADDRESSES = (40000, 0, 50000)  # pysunspec2's order; 0-based PDU addresses
SUNS_MARKER = (0x5375, 0x6E53)  # b"SunS"
END_MODEL_ID = 0xFFFF
MAX_MODELS = 64  # a longer chain is garbage, not a device

INVERTER_MODELS = frozenset({*INT_INVERTER_MODELS, *FLOAT_INVERTER_MODELS, DER_AC_MODEL})
BATTERY_MODELS = frozenset({BATTERY_MODEL, STORAGE_CAPACITY_MODEL, BASIC_STORAGE_MODEL})
METER_MODELS = frozenset({*INT_METER_MODELS, *FLOAT_METER_MODELS})

# DER DC (714) port types, and the Fronius naming of battery "modules" in model 160.
PORT_TYPE_PV = 0
PORT_TYPE_ESS = 1
FRONIUS_CHARGE_MODULE = "stcha"
FRONIUS_DISCHARGE_MODULE = "stdischa"

# Every register of a model chain exists, so bridging unused registers costs nothing but bytes, while
# each extra request costs a round trip: let requests span whole 125-register windows.
SUNSPEC_LIMITS = PlanLimits(max_registers=MAX_REGISTERS_PER_READ, max_gap=MAX_REGISTERS_PER_READ)

_INVERTER_ST = {
    1: DeviceStatus.OFF,
    2: DeviceStatus.SLEEPING,
    3: DeviceStatus.STARTING,
    4: DeviceStatus.RUNNING,  # MPPT
    5: DeviceStatus.THROTTLED,
    6: DeviceStatus.STANDBY,  # SHUTTING_DOWN
    7: DeviceStatus.FAULT,
    8: DeviceStatus.STANDBY,
}
_DER_INV_ST = {  # 701 InvSt is 0-based, unlike 10x St
    0: DeviceStatus.OFF,
    1: DeviceStatus.SLEEPING,
    2: DeviceStatus.STARTING,
    3: DeviceStatus.RUNNING,
    4: DeviceStatus.THROTTLED,
    5: DeviceStatus.STANDBY,  # SHUTTING_DOWN
    6: DeviceStatus.FAULT,
    7: DeviceStatus.STANDBY,
}
_BATTERY_STATE = {  # 802 State
    1: DeviceStatus.OFF,  # DISCONNECTED
    2: DeviceStatus.STARTING,  # INITIALIZING
    3: DeviceStatus.RUNNING,  # CONNECTED
    4: DeviceStatus.STANDBY,
    5: DeviceStatus.STANDBY,  # SOC PROTECTION
    6: DeviceStatus.STANDBY,  # SUSPENDING
    99: DeviceStatus.FAULT,
}
_STORAGE_STA = {0: DeviceStatus.RUNNING, 1: DeviceStatus.RUNNING, 2: DeviceStatus.FAULT}  # 713 Sta
_STORAGE_CHA_ST = {  # 124 ChaSt
    1: DeviceStatus.OFF,
    2: DeviceStatus.STANDBY,  # EMPTY
    3: DeviceStatus.RUNNING,  # DISCHARGING
    4: DeviceStatus.RUNNING,  # CHARGING
    5: DeviceStatus.STANDBY,  # FULL
    6: DeviceStatus.STANDBY,  # HOLDING
    7: DeviceStatus.STARTING,  # TESTING
}

_DER_AC_POINTS = ("InvSt", "Alrm", "W", "A", "LNV", "Hz", "TotWhInj", "TmpCab")
_DER_AC_PHASE_POINTS = ("VL1", "VL2", "VL3", "AL1", "AL2", "AL3")
_INVERTER_POINTS = (
    "A",
    "AphA",
    "AphB",
    "AphC",
    "PhVphA",
    "PhVphB",
    "PhVphC",
    "W",
    "Hz",
    "WH",
    "DCA",
    "DCV",
    "DCW",
    "TmpCab",
    "St",
    "Evt1",
)
_MODULE_POINTS = ("IDStr", "DCA", "DCV", "DCW", "DCWH")
_PORT_POINTS = ("PrtTyp", "DCA", "DCV", "DCW", "DCWhInj", "DCWhAbs")
_BATTERY_POINTS = ("SoC", "SoH", "V", "A", "W", "State", "Evt1")
_STORAGE_CAPACITY_POINTS = ("SoC", "SoH", "Sta")
_BASIC_STORAGE_POINTS = ("ChaState", "InBatV", "ChaSt")
_METER_POINTS = (
    "W",
    "WphA",
    "WphB",
    "WphC",
    "Hz",
    "PhVphA",
    "PhVphB",
    "PhVphC",
    "AphA",
    "AphB",
    "AphC",
    "TotWhImp",
    "TotWhExp",
    "Evt",
)


@dataclass(frozen=True, slots=True)
class ModelInstance:
    """One model in a device's chain: its ID, the address of its ID register and its length L."""

    model_id: int
    address: int
    length: int


def encode_chain(models: Iterable[ModelInstance]) -> str:
    """Chain as stored in ``DeviceIdentity.details`` (e.g. ``"103@40070+50 160@40150+48"``)."""
    return " ".join(f"{m.model_id}@{m.address}+{m.length}" for m in models)


def decode_chain(text: str) -> tuple[ModelInstance, ...]:
    """Inverse of ``encode_chain``."""
    models: list[ModelInstance] = []
    for item in text.split():
        model_id, _, rest = item.partition("@")
        address, _, length = rest.partition("+")
        models.append(ModelInstance(int(model_id), int(address), int(length)))
    return tuple(models)


def chain_of(identity: DeviceIdentity) -> dict[int, ModelInstance]:
    """The models of a device by ID (the first instance wins when an ID repeats)."""
    found: dict[int, ModelInstance] = {}
    text = identity.detail("chain")
    for model in decode_chain(text if isinstance(text, str) else ""):
        found.setdefault(model.model_id, model)
    return found


# -- identification ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Segment:
    """A Common model and the models it describes (up to the next Common model)."""

    common: ModelInstance
    models: tuple[ModelInstance, ...]

    @property
    def ids(self) -> frozenset[int]:
        return frozenset(m.model_id for m in self.models)


@dataclass(frozen=True, slots=True)
class _CommonInfo:
    manufacturer: str
    model: str
    serial: str
    firmware: str | None


async def _find_base(session: UnitSession) -> int:
    for base in BASE_ADDRESSES:
        try:
            words = await session.read(RegisterKind.HOLDING, base, 2)
        except ModbusExceptionError as err:
            if err.code in (err.GATEWAY_PATH_UNAVAILABLE, err.GATEWAY_TARGET_NO_RESPONSE):
                raise UnsupportedDeviceError(f"no device at unit {session.unit_id}") from err
            continue  # this base does not exist here; pysunspec2 tries the next one too
        except PlantProtocolError:
            continue
        if tuple(words) == SUNS_MARKER:
            return base
    raise UnsupportedDeviceError(f"unit {session.unit_id}: no SunSpec marker at {BASE_ADDRESSES}")


async def _walk_chain(session: UnitSession, base: int) -> list[ModelInstance]:
    """Follow the model headers from ``base + 2`` to the end marker (or the first unreadable header)."""
    models: list[ModelInstance] = []
    address = base + 2
    while len(models) < MAX_MODELS and address + 2 <= 0x10000:
        try:
            header = await session.read(RegisterKind.HOLDING, address, 2)
        except PlantProtocolError:
            break  # some devices refuse the L after the end marker: a refused header ends the chain too
        if len(header) != 2:
            break
        model_id, length = header
        if model_id in (END_MODEL_ID, 0):  # 0 is no model: zero-filled space after a chain without marker
            break
        models.append(ModelInstance(model_id, address, length))
        address += 2 + length
    return models


def _segments(models: Sequence[ModelInstance]) -> list[_Segment]:
    if not models or models[0].model_id != COMMON_MODEL:
        raise UnsupportedDeviceError("SunSpec chain does not start with the Common model")
    segments: list[_Segment] = []
    start = 0
    for i in range(1, len(models) + 1):
        if i == len(models) or models[i].model_id == COMMON_MODEL:
            segments.append(_Segment(models[start], tuple(models[start + 1 : i])))
            start = i
    return segments


async def _read_common(session: UnitSession, common: ModelInstance) -> _CommonInfo:
    count = min(2 + common.length, MAX_REGISTERS_PER_READ)
    try:
        words = await session.read(RegisterKind.HOLDING, common.address, count)
    except PlantProtocolError as err:
        raise UnsupportedDeviceError(f"unit {session.unit_id}: Common model unreadable") from err

    def text(name: str) -> str:
        point = model_point(COMMON_MODEL, common.address, name)
        start = point.address - common.address
        if point.end - common.address > len(words):
            return ""
        value = decode(point, words[start : start + point.count])
        return value if isinstance(value, str) else ""

    manufacturer, model = text("Mn") or "SunSpec", text("Md") or "unknown"
    serial = text("SN") or f"{manufacturer}-{model}-unit{session.unit_id}"
    return _CommonInfo(manufacturer, model, serial, text("Vr") or None)


def _identity(
    role: Role,
    profile: str,
    session: UnitSession,
    base: int,
    segment: _Segment,
    info: _CommonInfo,
    via: str | None,
) -> DeviceIdentity:
    return DeviceIdentity(
        role=role,
        profile=profile,
        unit_id=session.unit_id,
        manufacturer=info.manufacturer,
        model=info.model,
        serial=info.serial,
        firmware=info.firmware,
        via_serial=via,
        details=(("base", base), ("chain", encode_chain(segment.models))),
    )


async def identify_unit(session: UnitSession) -> list[DeviceIdentity]:
    """Every SunSpec device behind a unit id: inverter, battery and meters."""
    await ensure_models_loaded()
    base = await _find_base(session)
    segments = [
        s
        for s in _segments(await _walk_chain(session, base))
        if s.ids & (INVERTER_MODELS | BATTERY_MODELS | METER_MODELS)
    ]
    infos = [await _read_common(session, s.common) for s in segments]
    inverter_serial = next(
        (i.serial for s, i in zip(segments, infos, strict=True) if s.ids & INVERTER_MODELS), None
    )
    found: list[DeviceIdentity] = []
    for segment, info in zip(segments, infos, strict=True):
        if segment.ids & INVERTER_MODELS:
            found.append(_identity(Role.INVERTER, INVERTER_PROFILE, session, base, segment, info, None))
        # A battery or meter hangs off the unit's inverter, whether it shares its Common model or not.
        if segment.ids & BATTERY_MODELS:
            found.append(
                _identity(Role.BATTERY, BATTERY_PROFILE, session, base, segment, info, inverter_serial)
            )
        if segment.ids & METER_MODELS:
            found.append(_identity(Role.METER, METER_PROFILE, session, base, segment, info, inverter_serial))
    if not found:
        raise UnsupportedDeviceError(
            f"unit {session.unit_id}: SunSpec device without inverter, battery or meter"
        )
    return _unique_keys(found)


def _unique_keys(found: list[DeviceIdentity]) -> list[DeviceIdentity]:
    """Two meters with one serial (copied Common models) would collide: suffix the later ones."""
    seen: set[str] = set()
    unique: list[DeviceIdentity] = []
    for identity in found:
        device = identity
        if device.key in seen:
            chain = decode_chain(str(device.detail("chain")))
            suffix = chain[0].address if chain else len(unique)
            device = dataclasses.replace(device, serial=f"{device.serial}-{suffix}")
        seen.add(device.key)
        unique.append(device)
    return unique


# -- point tables ----------------------------------------------------------------------------------


def _first_model(models: Mapping[int, ModelInstance], ids: Iterable[int]) -> ModelInstance | None:
    return next((models[i] for i in ids if i in models), None)


class _TableBuilder:
    """Collects the points of one device, their scale factors, and one coherence block per model."""

    def __init__(self) -> None:
        self.points: dict[str, Point] = {}
        self._per_model: dict[ModelInstance, list[Point]] = {}

    def add(self, model: ModelInstance | None, names: Iterable[str], index: int | None = None) -> None:
        if model is None:
            return
        for name in names:
            if not has_point(model.model_id, name, in_group=index is not None):
                continue
            point = model_point(model.model_id, model.address, name, index)
            sf_point = scale_factor_point(model.model_id, model.address, name, index)
            for item in (point, sf_point):
                if item is not None and item.key not in self.points:
                    self.points[item.key] = item
                    self._per_model.setdefault(model, []).append(item)

    def add_repeats(self, model: ModelInstance | None, names: Iterable[str]) -> None:
        if model is None:
            return
        model_layout = layout(model.model_id)
        count = model_layout.repetitions(model.length) if model_layout else 0
        for index in range(count):
            self.add(model, names, index)

    def build(self) -> tuple[Point, ...]:
        """The points plus a block point per model that spans its values and their scale factors.

        SunSpec scale factors may change at runtime, so a value must be read in the same request as its
        SF. The planner never splits a point across requests: a string point covering a model's needed
        range (decoded and ignored) makes it keep that range in one request.
        """
        blocks: list[Point] = []
        for model, points in self._per_model.items():
            if not any(p.scale_factor is not None for p in points):
                continue
            start = min(p.address for p in points)
            end = min(max(p.end for p in points), start + MAX_REGISTERS_PER_READ)
            if end - start > 1:
                blocks.append(
                    Point(
                        f"{model.model_id}@{model.address}.block", start, DataType.STRING, length=end - start
                    )
                )
        return (*self.points.values(), *blocks)


def _add_dc_inputs(table: _TableBuilder, models: Mapping[int, ModelInstance]) -> None:
    table.add(models.get(DER_DC_MODEL), ("DCW",))
    table.add_repeats(models.get(DER_DC_MODEL), _PORT_POINTS)
    table.add_repeats(models.get(MPPT_MODEL), _MODULE_POINTS)


@functools.lru_cache(maxsize=64)
def _table(role: Role, chain: str) -> tuple[tuple[Point, ...], Mapping[str, Point]]:
    models: dict[int, ModelInstance] = {}
    for model in decode_chain(chain):
        models.setdefault(model.model_id, model)
    table = _TableBuilder()
    if role is Role.INVERTER:
        der = models.get(DER_AC_MODEL)
        table.add(der, _DER_AC_POINTS + _DER_AC_PHASE_POINTS)
        table.add(_first_model(models, INT_INVERTER_MODELS + FLOAT_INVERTER_MODELS), _INVERTER_POINTS)
        table.add(models.get(STATUS_MODEL), ("ActWh",))
        table.add(models.get(MPPT_MODEL), ("Evt",))
        _add_dc_inputs(table, models)
    elif role is Role.BATTERY:
        table.add(models.get(BATTERY_MODEL), _BATTERY_POINTS)
        table.add(models.get(STORAGE_CAPACITY_MODEL), _STORAGE_CAPACITY_POINTS)
        table.add(models.get(BASIC_STORAGE_MODEL), _BASIC_STORAGE_POINTS)
        _add_dc_inputs(table, models)
    else:
        table.add(_first_model(models, INT_METER_MODELS + FLOAT_METER_MODELS), _METER_POINTS)
    points = table.build()
    return points, {p.key: p for p in points}


def _table_for(role: Role, identity: DeviceIdentity) -> tuple[tuple[Point, ...], Mapping[str, Point]]:
    chain = identity.detail("chain")
    return _table(role, chain if isinstance(chain, str) else "")


# -- decoding --------------------------------------------------------------------------------------


class _Values:
    """Scaled access to one read's raw values by (model, point name, repetition)."""

    def __init__(self, index: Mapping[str, Point], raw: Mapping[str, RawValue]) -> None:
        self._index = index
        self._raw = dict(raw)

    def raw(self, model: ModelInstance | None, name: str, repeat: int | None = None) -> RawValue:
        if model is None:
            return None
        return self._raw.get(point_key(model.model_id, name, repeat))

    def get(self, model: ModelInstance | None, name: str, repeat: int | None = None) -> float | None:
        if model is None:
            return None
        key = point_key(model.model_id, name, repeat)
        point = self._index.get(key)
        if point is None:
            return None
        return scaled(point, self._raw.get(key), self._raw)


def _first(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)


def _kwh(wh: float | None) -> float | None:
    return None if wh is None else wh / 1000.0


def _sum(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _tidy(values: dict[Quantity, float | None]) -> dict[Quantity, float | None]:
    """Drop binary float noise from scaling (493 * 0.1 = 49.300000000000004); no register has 6 decimals."""
    return {q: None if v is None else round(v, 6) for q, v in values.items()}


def _bits(value: RawValue, prefix: str) -> set[str]:
    """Raw fault codes of a bitfield. A set MSB means "ignore the other bits" (SunSpec/SMA rule)."""
    if not isinstance(value, int) or value & 0x8000_0000:
        return set()
    return {f"{prefix}:{bit}" for bit in range(31) if value >> bit & 1}


def _status(value: RawValue, table: Mapping[int, DeviceStatus]) -> DeviceStatus | None:
    return table.get(value, DeviceStatus.UNKNOWN) if isinstance(value, int) else None


@dataclass(frozen=True, slots=True)
class _DcInput:
    voltage: float | None
    current: float | None
    power: float | None
    energy_wh: float | None  # injected (PV: produced; battery: discharged)
    absorbed_wh: float | None = None  # battery ports only: charged


def _ports(v: _Values, model: ModelInstance | None, port_type: int) -> list[_DcInput]:
    model_layout = layout(model.model_id) if model else None
    if model is None or model_layout is None:
        return []
    return [
        _DcInput(
            v.get(model, "DCV", i),
            v.get(model, "DCA", i),
            v.get(model, "DCW", i),
            v.get(model, "DCWhInj", i),
            v.get(model, "DCWhAbs", i),
        )
        for i in range(model_layout.repetitions(model.length))
        if v.raw(model, "PrtTyp", i) == port_type
    ]


def _module_kind(v: _Values, model: ModelInstance, index: int) -> str:
    name = v.raw(model, "IDStr", index)
    label = name.strip().lower() if isinstance(name, str) else ""
    if label.startswith(FRONIUS_DISCHARGE_MODULE):
        return FRONIUS_DISCHARGE_MODULE
    if label.startswith(FRONIUS_CHARGE_MODULE):
        return FRONIUS_CHARGE_MODULE
    return "pv"


def _modules(v: _Values, model: ModelInstance | None, kind: str) -> list[_DcInput]:
    model_layout = layout(model.model_id) if model else None
    if model is None or model_layout is None:
        return []
    return [
        _DcInput(
            v.get(model, "DCV", i), v.get(model, "DCA", i), v.get(model, "DCW", i), v.get(model, "DCWH", i)
        )
        for i in range(model_layout.repetitions(model.length))
        if _module_kind(v, model, i) == kind
    ]


def _decode_inverter(identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> DeviceReading:
    _, index = _table_for(Role.INVERTER, identity)
    models = chain_of(identity)
    v = _Values(index, raw)
    der = models.get(DER_AC_MODEL)
    inv = _first_model(models, INT_INVERTER_MODELS + FLOAT_INVERTER_MODELS)
    values: dict[Quantity, float | None] = {
        Quantity.AC_POWER: _first(v.get(der, "W"), v.get(inv, "W")),
        Quantity.AC_ENERGY_TOTAL: _kwh(
            _first(v.get(der, "TotWhInj"), v.get(inv, "WH"), v.get(models.get(STATUS_MODEL), "ActWh"))
        ),
        Quantity.GRID_FREQUENCY: _first(v.get(der, "Hz"), v.get(inv, "Hz")),
        Quantity.INVERTER_TEMPERATURE: _first(v.get(der, "TmpCab"), v.get(inv, "TmpCab")),
        Quantity.GRID_VOLTAGE_L1: _first(v.get(der, "VL1"), v.get(der, "LNV"), v.get(inv, "PhVphA")),
        Quantity.GRID_VOLTAGE_L2: _first(v.get(der, "VL2"), v.get(inv, "PhVphB")),
        Quantity.GRID_VOLTAGE_L3: _first(v.get(der, "VL3"), v.get(inv, "PhVphC")),
        Quantity.GRID_CURRENT_L1: _first(v.get(der, "AL1"), v.get(inv, "AphA")),
        Quantity.GRID_CURRENT_L2: _first(v.get(der, "AL2"), v.get(inv, "AphB")),
        Quantity.GRID_CURRENT_L3: _first(v.get(der, "AL3"), v.get(inv, "AphC")),
    }
    pv_inputs = _ports(v, models.get(DER_DC_MODEL), PORT_TYPE_PV) or _modules(v, models.get(MPPT_MODEL), "pv")
    values[Quantity.PV_POWER] = _sum(p.power for p in pv_inputs) if pv_inputs else v.get(inv, "DCW")
    if pv_inputs:
        energies = [p.energy_wh for p in pv_inputs]
        values[Quantity.PV_ENERGY_TOTAL] = _kwh(_sum(energies)) if None not in energies else None
    for pv, (voltage, current, power) in zip(
        pv_inputs,
        (
            (Quantity.PV1_VOLTAGE, Quantity.PV1_CURRENT, Quantity.PV1_POWER),
            (Quantity.PV2_VOLTAGE, Quantity.PV2_CURRENT, Quantity.PV2_POWER),
        ),
        strict=False,
    ):
        values[voltage], values[current], values[power] = pv.voltage, pv.current, pv.power
    status = _status(v.raw(der, "InvSt"), _DER_INV_ST) or _status(v.raw(inv, "St"), _INVERTER_ST)
    faults = (
        _bits(v.raw(inv, "Evt1"), "sunspec_evt1")
        | _bits(v.raw(der, "Alrm"), "sunspec_alrm")
        | _bits(v.raw(models.get(MPPT_MODEL), "Evt"), "sunspec_160_evt")
    )
    return DeviceReading(identity, _tidy(values), status or DeviceStatus.UNKNOWN, frozenset(faults))


def _decode_battery(identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> DeviceReading:
    _, index = _table_for(Role.BATTERY, identity)
    models = chain_of(identity)
    v = _Values(index, raw)
    battery = models.get(BATTERY_MODEL)
    capacity = models.get(STORAGE_CAPACITY_MODEL)
    basic = models.get(BASIC_STORAGE_MODEL)
    ess_ports = _ports(v, models.get(DER_DC_MODEL), PORT_TYPE_ESS)
    charge_modules = _modules(v, models.get(MPPT_MODEL), FRONIUS_CHARGE_MODULE)
    discharge_modules = _modules(v, models.get(MPPT_MODEL), FRONIUS_DISCHARGE_MODULE)
    module_power = None
    if charge_modules or discharge_modules:
        charging, discharging = (
            _sum(m.power for m in charge_modules),
            _sum(m.power for m in discharge_modules),
        )
        if charging is not None or discharging is not None:
            module_power = (discharging or 0.0) - (charging or 0.0)
    values: dict[Quantity, float | None] = {
        Quantity.BATTERY_SOC: _first(v.get(battery, "SoC"), v.get(capacity, "SoC"), v.get(basic, "ChaState")),
        Quantity.BATTERY_POWER: _first(
            v.get(battery, "W"), _sum(p.power for p in ess_ports) if ess_ports else None, module_power
        ),
    }
    if battery or capacity:
        values[Quantity.BATTERY_SOH] = _first(v.get(battery, "SoH"), v.get(capacity, "SoH"))
    if battery or basic:
        values[Quantity.BATTERY_VOLTAGE] = _first(v.get(battery, "V"), v.get(basic, "InBatV"))
    if battery:
        values[Quantity.BATTERY_CURRENT] = v.get(battery, "A")
    if ess_ports:
        values[Quantity.BATTERY_DISCHARGE_ENERGY_TOTAL] = _kwh(_sum(p.energy_wh for p in ess_ports))
        values[Quantity.BATTERY_CHARGE_ENERGY_TOTAL] = _kwh(_sum(p.absorbed_wh for p in ess_ports))
    elif charge_modules or discharge_modules:
        values[Quantity.BATTERY_DISCHARGE_ENERGY_TOTAL] = _kwh(_sum(m.energy_wh for m in discharge_modules))
        values[Quantity.BATTERY_CHARGE_ENERGY_TOTAL] = _kwh(_sum(m.energy_wh for m in charge_modules))
    status = (
        _status(v.raw(battery, "State"), _BATTERY_STATE)
        or _status(v.raw(capacity, "Sta"), _STORAGE_STA)
        or _status(v.raw(basic, "ChaSt"), _STORAGE_CHA_ST)
    )
    faults = _bits(v.raw(battery, "Evt1"), "sunspec_802_evt1")
    return DeviceReading(identity, _tidy(values), status or DeviceStatus.UNKNOWN, frozenset(faults))


def _decode_meter(identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> DeviceReading:
    _, index = _table_for(Role.METER, identity)
    v = _Values(index, raw)
    meter = _first_model(chain_of(identity), INT_METER_MODELS + FLOAT_METER_MODELS)
    values: dict[Quantity, float | None] = {
        Quantity.GRID_POWER: v.get(meter, "W"),  # + = import, kept as the meter reports it
        Quantity.GRID_POWER_L1: v.get(meter, "WphA"),
        Quantity.GRID_POWER_L2: v.get(meter, "WphB"),
        Quantity.GRID_POWER_L3: v.get(meter, "WphC"),
        Quantity.GRID_FREQUENCY: v.get(meter, "Hz"),
        Quantity.GRID_VOLTAGE_L1: v.get(meter, "PhVphA"),
        Quantity.GRID_VOLTAGE_L2: v.get(meter, "PhVphB"),
        Quantity.GRID_VOLTAGE_L3: v.get(meter, "PhVphC"),
        Quantity.GRID_CURRENT_L1: v.get(meter, "AphA"),
        Quantity.GRID_CURRENT_L2: v.get(meter, "AphB"),
        Quantity.GRID_CURRENT_L3: v.get(meter, "AphC"),
        Quantity.GRID_IMPORT_ENERGY_TOTAL: _kwh(v.get(meter, "TotWhImp")),
        Quantity.GRID_EXPORT_ENERGY_TOTAL: _kwh(v.get(meter, "TotWhExp")),
    }
    status = DeviceStatus.RUNNING if values[Quantity.GRID_POWER] is not None else DeviceStatus.UNKNOWN
    faults = _bits(v.raw(meter, "Evt"), "sunspec_meter_evt")
    return DeviceReading(identity, _tidy(values), status, frozenset(faults))


# -- profiles --------------------------------------------------------------------------------------

INVERTER_PROFILE = "sunspec_inverter"
BATTERY_PROFILE = "sunspec_battery"
METER_PROFILE = "sunspec_meter"


class _SunSpecProfile(Profile):
    limits = SUNSPEC_LIMITS
    default_poll_seconds = 10

    async def prepare(self) -> None:
        await ensure_models_loaded()

    def points(self, identity: DeviceIdentity) -> Sequence[Point]:
        points, _ = _table_for(self.role, identity)
        return points


class SunSpecInverterProfile(_SunSpecProfile):
    """Identifies every SunSpec device on a unit; decodes the inverter."""

    name = INVERTER_PROFILE
    role = Role.INVERTER
    default_units = (1, 126)  # 1: Fronius, SolarEdge, most gateways; 126: SMA's SunSpec unit id

    async def identify(self, session: UnitSession) -> list[DeviceIdentity]:
        return await identify_unit(session)

    def decode(self, identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> DeviceReading:
        return _decode_inverter(identity, raw)


class SunSpecBatteryProfile(_SunSpecProfile):
    """A battery found through its inverter's model chain (802, 713 or 124)."""

    name = BATTERY_PROFILE
    role = Role.BATTERY
    default_units = ()

    async def identify(self, session: UnitSession) -> list[DeviceIdentity]:
        raise UnsupportedDeviceError("SunSpec batteries are found through sunspec_inverter")

    def decode(self, identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> DeviceReading:
        return _decode_battery(identity, raw)


class SunSpecMeterProfile(_SunSpecProfile):
    """A meter model (20x int+SF, 21x float), in an inverter's chain or alone on its unit."""

    name = METER_PROFILE
    role = Role.METER
    default_units = ()

    async def identify(self, session: UnitSession) -> list[DeviceIdentity]:
        raise UnsupportedDeviceError("SunSpec meters are found through sunspec_inverter")

    def decode(self, identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> DeviceReading:
        return _decode_meter(identity, raw)


SUNSPEC_PROFILES: tuple[Profile, ...] = (
    SunSpecInverterProfile(),
    SunSpecBatteryProfile(),
    SunSpecMeterProfile(),
)

# SunSpec devices of any vendor listen on Modbus TCP 502, SolarEdge on 1502 by default. DHCP matchers of
# the vendors whose devices are SunSpec inverters: Fronius and SMA by OUI (SMA's host names too, with
# SMA's SunSpec unit id 126 first), SolarEdge by OUI plus the host name its inverters use.
VENDOR = Vendor(
    name="sunspec",
    profiles=SUNSPEC_PROFILES,
    tcp_ports=(502, 1502),
    dhcp=(
        DhcpHint("Fronius", macaddress="0003AC*"),
        DhcpHint("SMA", macaddress="0015BB*", first_units=(126,)),
        DhcpHint("SMA", hostname="sma*", first_units=(126,)),
        DhcpHint("SolarEdge", macaddress="002702*", hostname="target"),
    ),
)
