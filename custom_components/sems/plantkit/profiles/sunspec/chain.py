"""Identification of SunSpec devices: find the model chain of a unit and the devices it describes.

One unit may hold an inverter, a battery behind it, and meters (in the inverter's own models or in a
following Common-model segment, as SolarEdge does). Everything a device sends while being identified is
bounded: at most ``MAX_MODELS`` headers, a model length must fit its definition and the register space,
and a chain that loops or jumps backwards ends. A header that makes no sense for its model is a protocol
error, which identification treats as transient (asked again), so one bad frame at setup cannot store a
broken chain.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ...exceptions import ModbusExceptionError, PlantProtocolError, UnsupportedDeviceError
from ...model import Details, DeviceIdentity, Role, legacy_details, placeholder_serial
from ...planner import MAX_REGISTERS_PER_READ
from ...registers import RegisterKind, decode, scaled
from ..base import UnitSession
from .conventions import conventions_for
from .models import (
    BASIC_STORAGE_MODEL,
    BATTERY_MODEL,
    COMMON_MODEL,
    DER_AC_MODEL,
    FLOAT_INVERTER_MODELS,
    FLOAT_METER_MODELS,
    INT_INVERTER_MODELS,
    INT_METER_MODELS,
    NAMEPLATE_MODEL,
    STORAGE_CAPACITY_MODEL,
    ensure_models_loaded,
    layout,
    model_point,
)

BASE_ADDRESSES = (40000, 0, 50000)  # pysunspec2's order; 0-based PDU addresses
SUNS_MARKER = (0x5375, 0x6E53)  # b"SunS"
END_MODEL_ID = 0xFFFF
MAX_MODELS = 64  # a longer chain is garbage, not a device
# Repeating groups (160 modules, 714 ports) beyond this many repetitions are not a real device's.
MAX_REPETITIONS = 64

INVERTER_MODELS = frozenset({*INT_INVERTER_MODELS, *FLOAT_INVERTER_MODELS, DER_AC_MODEL})
BATTERY_MODELS = frozenset({BATTERY_MODEL, STORAGE_CAPACITY_MODEL, BASIC_STORAGE_MODEL})
METER_MODELS = frozenset({*INT_METER_MODELS, *FLOAT_METER_MODELS})

INVERTER_PROFILE = "sunspec_inverter"
BATTERY_PROFILE = "sunspec_battery"
METER_PROFILE = "sunspec_meter"


@dataclass(frozen=True, slots=True)
class ModelInstance:
    """One model in a device's chain: its ID, the address of its ID register and its length L."""

    model_id: int
    address: int
    length: int


@dataclass(frozen=True, slots=True)
class SunSpecDetails(Details):
    """Where a device's models are: the chain's base address and the models describing this device."""

    base: int
    chain: tuple[ModelInstance, ...]

    @classmethod
    def parse(cls, data: Any) -> SunSpecDetails:
        """From ``to_dict`` output (chain as ``[[id, address, length], ...]``) or 0.1's pairs (chain as
        ``"103@40070+50 ..."``); ValueError when a model cannot be where it says."""
        stored = legacy_details(data)
        chain = stored["chain"]
        if isinstance(chain, str):
            items = []
            for item in chain.split():
                model_id, _, rest = item.partition("@")
                address, _, length = rest.partition("+")
                items.append((int(model_id), int(address), int(length)))
        else:
            items = [(int(m), int(a), int(n)) for m, a, n in chain]
        models = tuple(ModelInstance(*item) for item in items)
        for model in models:
            try:
                check_model(model)
            except PlantProtocolError as err:
                raise ValueError(str(err)) from err
        return cls(int(stored["base"]), models)

    def first(self, ids: Sequence[int]) -> ModelInstance | None:
        """The first model of the chain among ``ids`` (in the order of ``ids``)."""
        by_id = {m.model_id: m for m in reversed(self.chain)}
        return next((by_id[i] for i in ids if i in by_id), None)


def check_model(model: ModelInstance) -> None:
    """A model must fit its definition and the register space (``PlantProtocolError`` otherwise)."""
    if model.address + 2 + model.length > 0x10000:
        raise PlantProtocolError(f"model {model.model_id} at {model.address} runs past the register space")
    known = layout(model.model_id)
    if known is None:
        return
    # A model shorter than its definition is fine (SolarEdge's Common model leaves out the final pad):
    # points past its end are never read. A repeating group is only bounded from above.
    if known.group is not None and known.group.length and known.repetitions(model.length) > MAX_REPETITIONS:
        raise PlantProtocolError(f"model {model.model_id}: L={model.length} is no device's")


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
    option: str
    serial: str
    firmware: str | None


async def _find_base(session: UnitSession) -> int:
    for base in BASE_ADDRESSES:
        try:
            words = await session.read(RegisterKind.HOLDING, base, 2)
        except ModbusExceptionError as err:
            if err.code in (err.GATEWAY_PATH_UNAVAILABLE, err.GATEWAY_TARGET_NO_RESPONSE):
                raise  # the gateway says there is no device at this unit: no base will answer
            continue  # this base does not exist here; pysunspec2 tries the next one too
        if tuple(words) == SUNS_MARKER:
            return base
    raise UnsupportedDeviceError(f"unit {session.unit_id}: no SunSpec marker at {BASE_ADDRESSES}")


async def _walk_chain(session: UnitSession, base: int) -> list[ModelInstance]:
    """Follow the model headers from ``base + 2`` to the end marker (or the first refused header)."""
    models: list[ModelInstance] = []
    address = base + 2
    while address + 2 <= 0x10000:
        if len(models) >= MAX_MODELS:
            raise PlantProtocolError(f"more than {MAX_MODELS} SunSpec models: no device's chain")
        try:
            model_id, length = await session.read(RegisterKind.HOLDING, address, 2)
        except ModbusExceptionError:
            break  # some devices refuse the L after the end marker: a refused header ends the chain too
        if model_id in (END_MODEL_ID, 0):  # 0 is no model: zero-filled space after a chain without marker
            break
        model = ModelInstance(model_id, address, length)
        check_model(model)
        models.append(model)
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
    except ModbusExceptionError as err:
        raise UnsupportedDeviceError(f"unit {session.unit_id}: Common model unreadable") from err

    def text(name: str) -> str:
        point = model_point(COMMON_MODEL, common.address, name)
        start = point.address - common.address
        if point.end - common.address > len(words):
            return ""
        value = decode(point, words[start : start + point.count])
        return value if isinstance(value, str) else ""

    manufacturer, model = text("Mn") or "SunSpec", text("Md") or "unknown"
    serial = text("SN") or placeholder_serial(f"{manufacturer}-{model}", session.unit_id)
    return _CommonInfo(manufacturer, model, text("Opt"), serial, text("Vr") or None)


async def _rated_power(session: UnitSession, models: Sequence[ModelInstance]) -> int | None:
    """The nameplate continuous power ``WRtg`` of model 120, in W (None without a usable one)."""
    nameplate = next((m for m in models if m.model_id == NAMEPLATE_MODEL), None)
    if nameplate is None:
        return None
    power, factor = (model_point(NAMEPLATE_MODEL, nameplate.address, n) for n in ("WRtg", "WRtg_SF"))
    start, end = power.address, max(power.end, factor.end)
    try:
        words = await session.read(RegisterKind.HOLDING, start, end - start)
    except ModbusExceptionError:
        return None
    raw = {p.key: decode(p, words[p.address - start : p.end - start]) for p in (power, factor)}
    watts = scaled(power, raw[power.key], raw)
    return round(watts) if watts is not None and watts > 0 else None


def _device(
    role: Role,
    profile: str,
    *,
    session: UnitSession,
    base: int,
    segment: _Segment,
    info: _CommonInfo,
    **extra: Any,
) -> DeviceIdentity:
    return DeviceIdentity(
        role,
        profile,
        session.unit_id,
        info.manufacturer,
        info.model,
        info.serial,
        info.firmware,
        details=SunSpecDetails(base, segment.models),
        **extra,
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
        device = functools.partial(_device, session=session, base=base, segment=segment, info=info)
        if segment.ids & INVERTER_MODELS:
            rated = await _rated_power(session, segment.models)
            found.append(device(Role.INVERTER, INVERTER_PROFILE, rated_power=rated))
        # A battery or meter hangs off the unit's inverter, whether it shares its Common model or not.
        if segment.ids & BATTERY_MODELS:
            found.append(device(Role.BATTERY, BATTERY_PROFILE, via_serial=inverter_serial))
        if segment.ids & METER_MODELS:
            location = conventions_for(info.manufacturer).location(info.option)
            found.append(device(Role.METER, METER_PROFILE, via_serial=inverter_serial, location=location))
    if not found:
        raise UnsupportedDeviceError(
            f"unit {session.unit_id}: SunSpec device without inverter, battery or meter"
        )
    return _unique_keys(found)


def _unique_keys(found: list[DeviceIdentity]) -> list[DeviceIdentity]:
    """Devices of one role sharing a serial (a meter presented once per function) are told apart by
    their location where the device states it, else by the address of their first model."""
    seen: set[str] = set()
    unique: list[DeviceIdentity] = []
    for identity in found:
        device = identity
        if device.key in seen:
            instance = str(device.location) if device.location else None
            if instance is None or f"{device.key}_{instance}" in seen:
                details = device.details
                chain = details.chain if isinstance(details, SunSpecDetails) else ()
                instance = str(chain[0].address if chain else len(unique))
            device = dataclasses.replace(device, instance=instance)
        seen.add(device.key)
        unique.append(device)
    return unique
