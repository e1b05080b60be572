"""SunSpec model layouts, computed at runtime from the model definitions shipped with pysunspec2.

pysunspec2 ships the SunSpec Alliance's machine-readable model definitions
(``sunspec2/models/json/model_<id>.json``, Apache-2.0). Offsets are derived from them here instead of
being typed by hand, so every register address stays traceable to the standard.

Offsets of fixed points count from the model's ``ID`` register (header included, as in the SunSpec
tables). Points of a repeating group (160 modules, 714 ports) count from the start of one repetition.
Reading the JSON is file I/O: ``ensure_models_loaded()`` does it once in a worker thread; everything
else uses the cache.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.resources
import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ...registers import DataType, Point, RegisterKind, Sentinel

COMMON_MODEL = 1
INT_INVERTER_MODELS = (103, 102, 101)  # three-phase first: a device has one of them
FLOAT_INVERTER_MODELS = (113, 112, 111)
DER_AC_MODEL = 701
DER_DC_MODEL = 714
MPPT_MODEL = 160
STATUS_MODEL = 122
NAMEPLATE_MODEL = 120
CONTROLS_MODEL = 123
DER_CONTROLS_MODEL = 704
BATTERY_MODEL = 802
STORAGE_CAPACITY_MODEL = 713
BASIC_STORAGE_MODEL = 124
INT_METER_MODELS = (203, 204, 202, 201)
FLOAT_METER_MODELS = (213, 214, 212, 211)

# The models this integration reads or simulates; only these JSON files are loaded.
MODEL_IDS: tuple[int, ...] = (
    COMMON_MODEL,
    *INT_INVERTER_MODELS,
    *FLOAT_INVERTER_MODELS,
    NAMEPLATE_MODEL,
    STATUS_MODEL,
    CONTROLS_MODEL,
    BASIC_STORAGE_MODEL,
    MPPT_MODEL,
    *INT_METER_MODELS,
    *FLOAT_METER_MODELS,
    DER_AC_MODEL,
    DER_CONTROLS_MODEL,
    STORAGE_CAPACITY_MODEL,
    DER_DC_MODEL,
    BATTERY_MODEL,
)

_DATA_TYPES: dict[str, DataType] = {
    "uint16": DataType.U16,
    "count": DataType.U16,
    "int16": DataType.S16,
    "sunssf": DataType.SUNSSF,
    "enum16": DataType.ENUM16,
    "bitfield16": DataType.BITFIELD16,
    "uint32": DataType.U32,
    "enum32": DataType.U32,
    "int32": DataType.S32,
    "bitfield32": DataType.BITFIELD32,
    "acc32": DataType.ACC32,
    "float32": DataType.F32,
    "uint64": DataType.U64,
    "int64": DataType.S64,
    "acc64": DataType.ACC64,
    "string": DataType.STRING,
}


class ModelDefinitionError(Exception):
    """A model definition has a shape this loader does not handle (a bug, not a device problem)."""


@dataclass(frozen=True, slots=True)
class PointDef:
    """One point of a model definition, with its computed offset."""

    name: str
    offset: int
    size: int
    type: str  # SunSpec type name, e.g. "int16", "acc32", "sunssf"
    sf: str | int | None = None  # name of the sunssf point, or a fixed power-of-ten exponent
    sf_in_group: bool = False  # the named scale factor sits in the same repetition, not the fixed part


@dataclass(frozen=True, slots=True)
class RepeatingGroup:
    """A group repeated until the end of the model (160 modules, 714 ports)."""

    name: str
    length: int  # registers per repetition
    points: Mapping[str, PointDef]


@dataclass(frozen=True, slots=True)
class ModelLayout:
    """Computed register layout of one model."""

    model_id: int
    name: str
    length: int  # registers of the fixed part after the 2-register header (the L of a model without repeats)
    points: Mapping[str, PointDef]
    group: RepeatingGroup | None = None

    def repetitions(self, model_length: int) -> int:
        """How many repetitions fit in a model instance whose header says ``L = model_length``.

        pysunspec2 derives the count the same way (from L), which also covers groups whose count point
        (``NPrt``) is unimplemented.
        """
        if self.group is None or self.group.length == 0:
            return 0
        return max(0, (model_length - self.length) // self.group.length)


def _parse_points(
    points: list[dict[str, Any]], outer: frozenset[str] | None
) -> tuple[dict[str, PointDef], int]:
    """Lay out points in order from offset 0.

    ``outer`` holds the fixed part's names when these points form a repeating group (None for the fixed
    part itself): an SF name resolves in the innermost group that defines it, as pysunspec2 does.
    """
    local_names = {p["name"] for p in points}
    parsed: dict[str, PointDef] = {}
    offset = 0
    for raw in points:
        sf = raw.get("sf")
        in_group = False
        if isinstance(sf, str):
            if outer is not None and sf in local_names:
                in_group = True
            elif sf not in (local_names if outer is None else outer):
                raise ModelDefinitionError(f"scale factor {sf} of {raw['name']} not found")
        parsed[raw["name"]] = PointDef(
            name=raw["name"],
            offset=offset,
            size=int(raw["size"]),
            type=raw["type"],
            sf=sf if isinstance(sf, str | int) else None,
            sf_in_group=in_group,
        )
        offset += int(raw["size"])
    return parsed, offset


def parse_model(definition: Mapping[str, Any]) -> ModelLayout:
    """Compute the layout of one model from its JSON definition."""
    top = definition["group"]
    points, end = _parse_points(top.get("points", []), None)
    group: RepeatingGroup | None = None
    for sub in top.get("groups", []):
        if sub.get("groups") or group is not None:
            raise ModelDefinitionError(
                f"model {definition['id']}: nested groups, or groups after a repeating one"
            )
        count = sub.get("count")
        group_points, group_end = _parse_points(sub.get("points", []), frozenset(points))
        if count == 0 or isinstance(count, str):
            group = RepeatingGroup(sub["name"], group_end, MappingProxyType(group_points))
        else:
            # A fixed number of repetitions after the fixed points (704's power-factor groups): part of
            # the model's length; none of their points is read or written here.
            end += group_end * (1 if count is None else int(count))
    return ModelLayout(
        model_id=int(definition["id"]),
        name=top["name"],
        length=end - 2,
        points=MappingProxyType(points),
        group=group,
    )


@functools.cache
def load_layouts() -> Mapping[int, ModelLayout]:
    """Parse the model definitions this integration uses (blocking file I/O; cached)."""
    directory = importlib.resources.files("sunspec2") / "models" / "json"
    layouts: dict[int, ModelLayout] = {}
    for model_id in MODEL_IDS:
        text = (directory / f"model_{model_id}.json").read_text(encoding="utf-8")
        layouts[model_id] = parse_model(json.loads(text))
    return MappingProxyType(layouts)


async def ensure_models_loaded() -> None:
    """Load the definitions in a worker thread, so the event loop never waits on file I/O."""
    if load_layouts.cache_info().currsize == 0:
        await asyncio.to_thread(load_layouts)


def layout(model_id: int) -> ModelLayout | None:
    """The layout of a model this integration knows, or None."""
    return load_layouts().get(model_id)


def _require(model_id: int) -> ModelLayout:
    found = layout(model_id)
    if found is None:
        raise KeyError(f"SunSpec model {model_id} is not loaded")
    return found


@functools.cache
def point_key(model_id: int, name: str, index: int | None = None) -> str:
    """Key of a point in a device's point table, e.g. ``"103.W"`` or ``"160.module[1].DCW"``."""
    layout_ = _require(model_id)
    if index is None:
        return f"{model_id}.{name}"
    if layout_.group is None:
        raise KeyError(f"model {model_id} has no repeating group")
    return f"{model_id}.{layout_.group.name}[{index}].{name}"


def has_point(model_id: int, name: str, *, in_group: bool = False) -> bool:
    """True when the model defines the point (in its fixed part, or in its repeating group)."""
    layout_ = _require(model_id)
    if in_group:
        return layout_.group is not None and name in layout_.group.points
    return name in layout_.points


def model_point(model_id: int, model_address: int, name: str, index: int | None = None) -> Point:
    """The register point of ``name`` in a model instance whose ``ID`` register is at ``model_address``.

    ``index`` selects a repetition of the model's repeating group (0-based). The point carries the
    SunSpec sentinel rules and, when the definition names one, its scale factor point's key.
    """
    layout_ = _require(model_id)
    if index is None:
        definition = layout_.points[name]
        address = model_address + definition.offset
    else:
        if layout_.group is None:
            raise KeyError(f"model {model_id} has no repeating group")
        definition = layout_.group.points[name]
        address = model_address + 2 + layout_.length + index * layout_.group.length + definition.offset
    try:
        dtype = _DATA_TYPES[definition.type]
    except KeyError:
        raise ModelDefinitionError(f"type {definition.type} of {model_id}.{name} unsupported") from None
    scale = 1.0
    scale_factor: str | None = None
    if isinstance(definition.sf, int):
        scale = 10.0**definition.sf
    elif isinstance(definition.sf, str):
        sf_index = index if definition.sf_in_group else None
        scale_factor = point_key(model_id, definition.sf, sf_index)
    return Point(
        key=point_key(model_id, name, index),
        address=address,
        dtype=dtype,
        kind=RegisterKind.HOLDING,
        length=definition.size if dtype is DataType.STRING else 0,
        sentinel=Sentinel.SUNSPEC,
        scale=scale,
        scale_factor=scale_factor,
    )


def scale_factor_point(
    model_id: int, model_address: int, name: str, index: int | None = None
) -> Point | None:
    """The sunssf point that scales ``name``, or None when it has no named scale factor."""
    layout_ = _require(model_id)
    definition = layout_.points[name] if index is None else _group(layout_).points[name]
    if not isinstance(definition.sf, str):
        return None
    return model_point(model_id, model_address, definition.sf, index if definition.sf_in_group else None)


def _group(layout_: ModelLayout) -> RepeatingGroup:
    if layout_.group is None:
        raise KeyError(f"model {layout_.model_id} has no repeating group")
    return layout_.group


def not_implemented_words(type_name: str, size: int) -> list[int]:
    """Raw words a device shows for an unimplemented point of this SunSpec type."""
    if type_name in ("int16", "sunssf"):
        return [0x8000]
    if type_name == "int32":
        return [0x8000, 0]
    if type_name == "int64":
        return [0x8000, 0, 0, 0]
    if type_name == "float32":
        return [0x7FC0, 0]
    if type_name.startswith("acc") or type_name in ("string", "pad", "ipaddr", "ipv6addr", "eui48"):
        return [0] * size
    return [0xFFFF] * size
