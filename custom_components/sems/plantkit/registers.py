"""Register points and their codecs: how raw 16-bit words become numbers, strings or None."""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any, cast

from .exceptions import PlantProtocolError


class RegisterKind(StrEnum):
    """Modbus register table a point lives in."""

    HOLDING = "holding"  # FC03
    INPUT = "input"  # FC04


class DataType(StrEnum):
    """Encoding of a point's registers."""

    U16 = "u16"
    S16 = "s16"
    U32 = "u32"
    S32 = "s32"
    U64 = "u64"
    S64 = "s64"
    F32 = "f32"
    STRING = "string"
    SUNSSF = "sunssf"  # SunSpec scale factor (int16 exponent)
    ACC32 = "acc32"  # SunSpec accumulator: 0 means "not accumulated"
    ACC64 = "acc64"
    ENUM16 = "enum16"
    BITFIELD16 = "bitfield16"
    BITFIELD32 = "bitfield32"


class WordOrder(StrEnum):
    """Order of 16-bit words in multi-register values (bytes within a word are always big-endian)."""

    BIG = "big"  # high word first (Modbus convention, SunSpec, Eastron, GoodWe)
    LITTLE = "little"  # low word first (e.g. SolarEdge battery floats)


class Sentinel(StrEnum):
    """Which raw values mean 'not implemented / not available'."""

    NONE = "none"  # every raw value is real
    SUNSPEC = "sunspec"  # SunSpec rules: 0x8000 / 0xFFFF / 0x8000_0000 / NaN / acc=0 / all-NUL string
    ALL_ONES = "all_ones"  # GoodWe style: 0xFFFF, 0xFFFF_FFFF, ... (and NaN floats)


_WORDS = {
    DataType.U16: 1,
    DataType.S16: 1,
    DataType.SUNSSF: 1,
    DataType.ENUM16: 1,
    DataType.BITFIELD16: 1,
    DataType.U32: 2,
    DataType.S32: 2,
    DataType.F32: 2,
    DataType.ACC32: 2,
    DataType.BITFIELD32: 2,
    DataType.U64: 4,
    DataType.S64: 4,
    DataType.ACC64: 4,
}
_SIGNED = {DataType.S16, DataType.S32, DataType.S64, DataType.SUNSSF}
_ACCUMULATORS = {DataType.ACC32, DataType.ACC64}

type RawValue = int | float | str | None


@dataclass(frozen=True, slots=True)
class Point:
    """One value in a device's register map.

    ``scale`` multiplies the decoded number (e.g. 0.1 for "/10"); ``scale_factor`` names a SunSpec
    ``sunssf`` point of the same device whose value is a power-of-ten exponent. Both apply.
    """

    key: str
    address: int
    dtype: DataType
    kind: RegisterKind = RegisterKind.HOLDING
    length: int = 0  # registers; only for strings
    word_order: WordOrder = WordOrder.BIG
    sentinel: Sentinel = Sentinel.NONE
    scale: float = 1.0
    scale_factor: str | None = None

    def __post_init__(self) -> None:
        if self.dtype is DataType.STRING and self.length <= 0:
            raise ValueError(f"string point {self.key} needs a length")
        if self.address < 0 or self.address + self.count > 0x10000:
            raise ValueError(f"point {self.key} lies outside the register space")

    @property
    def count(self) -> int:
        """Number of registers the point occupies."""
        return self.length if self.dtype is DataType.STRING else _WORDS[self.dtype]

    @property
    def end(self) -> int:
        """First register after the point."""
        return self.address + self.count


def _to_bytes(words: Sequence[int], order: WordOrder) -> bytes:
    if order is WordOrder.LITTLE:
        words = list(reversed(words))
    return b"".join(w.to_bytes(2, "big") for w in words)


def decode(point: Point, words: Sequence[int]) -> RawValue:
    """Decode the raw words of one point (no scaling). Sentinels decode to None."""
    if len(words) != point.count:
        raise PlantProtocolError(f"{point.key}: expected {point.count} registers, got {len(words)}")
    if any(not 0 <= w <= 0xFFFF for w in words):
        raise PlantProtocolError(f"{point.key}: register value out of range")
    dtype = point.dtype
    if dtype is DataType.STRING:
        text = b"".join(w.to_bytes(2, "big") for w in words)
        text = text.split(b"\x00", 1)[0]
        decoded = text.decode("ascii", errors="replace").strip()
        return decoded or None
    raw = _to_bytes(words, point.word_order)
    if dtype is DataType.F32:
        (number,) = struct.unpack(">f", raw)
        if math.isnan(number) or math.isinf(number):
            return None
        return float(f"{number:.7g}")  # float32 carries ~7 significant digits; drop the binary tail
    unsigned = int.from_bytes(raw, "big")
    bits = 16 * len(words)
    if _is_sentinel(point, unsigned, bits):
        return None
    if dtype in _SIGNED and unsigned >= 1 << (bits - 1):
        return unsigned - (1 << bits)
    return unsigned


def _is_sentinel(point: Point, unsigned: int, bits: int) -> bool:
    all_ones = (1 << bits) - 1
    if point.sentinel is Sentinel.ALL_ONES:
        return unsigned == all_ones
    if point.sentinel is Sentinel.SUNSPEC:
        if point.dtype in _ACCUMULATORS:
            return unsigned == 0
        if point.dtype in _SIGNED:
            return unsigned == 1 << (bits - 1)
        return unsigned == all_ones
    return False


# struct codes of the numeric types, big-endian word order (the bytes of a reply as they came).
_STRUCT_CODES = {
    DataType.U16: "H",
    DataType.S16: "h",
    DataType.SUNSSF: "h",
    DataType.ENUM16: "H",
    DataType.BITFIELD16: "H",
    DataType.U32: "I",
    DataType.S32: "i",
    DataType.ACC32: "I",
    DataType.BITFIELD32: "I",
    DataType.U64: "Q",
    DataType.S64: "q",
    DataType.ACC64: "Q",
    DataType.F32: "f",
}


class _Fix(Enum):
    """What a block's raw struct value still needs to become what ``decode`` returns."""

    SENTINEL = 1  # equal to the argument: None
    FLOAT = 2  # float32: None when not finite, else its ~7 significant digits
    TEXT = 3  # ASCII up to the first NUL, stripped; None when blank
    WORDS = 4  # anything else (low word first): the words through ``decode``


def _sentinel_as_unpacked(point: Point) -> int | None:
    """The value struct unpacks for the point's "not available" marker (None: it has none)."""
    bits = 16 * point.count
    signed = point.dtype in _SIGNED
    if point.sentinel is Sentinel.ALL_ONES:
        return -1 if signed else (1 << bits) - 1
    if point.sentinel is Sentinel.SUNSPEC:
        if point.dtype in _ACCUMULATORS:
            return 0
        return -(1 << (bits - 1)) if signed else (1 << bits) - 1
    return None


class BlockDecoder:
    """Decodes the points of one read straight from the reply's register bytes, as ``decode`` would.

    Built once per planned request: every point becomes a field of one ``struct`` format (points that
    overlap another go into a further format), so a read costs one C-level unpack per format plus a fix
    per point that has a sentinel, a float, a string or the low word first. ``points`` lists the points in
    the order ``decode_bytes`` returns their values.
    """

    def __init__(self, start: int, points: Sequence[Point]) -> None:
        layers: list[list[Point]] = []
        for point in sorted(dict.fromkeys(points), key=lambda p: (p.address, p.count)):
            if point.address < start:
                raise ValueError(f"point {point.key} starts before the block at {start}")
            layer = next((lay for lay in layers if lay[-1].end <= point.address), None)
            if layer is None:
                layers.append([point])
            else:
                layer.append(point)
        self.start = start
        self.points: tuple[Point, ...] = tuple(p for layer in layers for p in layer)
        self.size = 2 * (max((p.end for p in self.points), default=start) - start)  # bytes it needs
        self._structs = tuple(struct.Struct(self._format(layer)) for layer in layers)
        fixes: list[tuple[int, _Fix, object]] = []
        for index, point in enumerate(self.points):
            fix = self._fix(point)
            if fix is not None:
                fixes.append((index, *fix))
        self._fixes = tuple(fixes)

    def _format(self, layer: Sequence[Point]) -> str:
        parts = [">"]
        at = self.start
        for point in layer:
            if point.address > at:
                parts.append(f"{2 * (point.address - at)}x")
            simple = point.word_order is WordOrder.BIG or point.count == 1
            code = _STRUCT_CODES.get(point.dtype) if simple else None
            parts.append(code or f"{2 * point.count}s")
            at = point.end
        return "".join(parts)

    @staticmethod
    def _fix(point: Point) -> tuple[_Fix, object] | None:
        if point.dtype is DataType.STRING:
            return _Fix.TEXT, None
        if point.word_order is WordOrder.LITTLE and point.count > 1:
            return _Fix.WORDS, point
        if point.dtype is DataType.F32:
            return _Fix.FLOAT, None
        sentinel = _sentinel_as_unpacked(point)
        return None if sentinel is None else (_Fix.SENTINEL, sentinel)

    def decode_bytes(self, data: bytes) -> list[RawValue]:
        """The value of every point (in ``points`` order) from the block's register bytes (big-endian
        words from ``start``). Raises ``PlantProtocolError`` when ``data`` is too short."""
        if len(data) < self.size:
            raise PlantProtocolError(f"block at {self.start}: {len(data)} bytes, need {self.size}")
        structs = self._structs
        values: list[Any] = list(structs[0].unpack_from(data)) if structs else []
        for extra in structs[1:]:
            values.extend(extra.unpack_from(data))
        for index, fix, argument in self._fixes:
            value = values[index]
            if fix is _Fix.SENTINEL:
                if value == argument:
                    values[index] = None
            elif fix is _Fix.FLOAT:
                values[index] = None if math.isnan(value) or math.isinf(value) else float(f"{value:.7g}")
            elif fix is _Fix.TEXT:
                text = value.split(b"\x00", 1)[0].decode("ascii", errors="replace").strip()
                values[index] = text or None
            else:
                point = cast(Point, argument)
                values[index] = decode(point, struct.unpack(f">{point.count}H", value))
        return values


def encode(point: Point, value: int | float | str) -> list[int]:
    """Encode a value into the raw words of a point (inverse of ``decode``, no scaling).

    Used by the simulator and by tests; writes will use it too.
    """
    dtype = point.dtype
    if dtype is DataType.STRING:
        data = str(value).encode("ascii")[: 2 * point.length].ljust(2 * point.length, b"\x00")
        return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    if dtype is DataType.F32:
        raw = struct.pack(">f", float(value))
    else:
        bits = 16 * point.count
        number = int(value)
        if number < 0:
            number += 1 << bits
        if not 0 <= number < 1 << bits:
            raise ValueError(f"{point.key}: {value} does not fit in {dtype}")
        raw = number.to_bytes(bits // 8, "big")
    words = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
    return list(reversed(words)) if point.word_order is WordOrder.LITTLE else words


SUNSSF_RANGE = range(-10, 11)
_POWERS_OF_TEN = tuple(10.0**exponent for exponent in range(11))


def scaled(point: Point, raw: RawValue, raw_values: Mapping[str, RawValue]) -> float | None:
    """Apply the point's fixed scale and SunSpec scale factor; None when either is unavailable."""
    if raw is None or isinstance(raw, str):
        return None
    number = float(raw) * point.scale
    if point.scale_factor is not None:
        exponent = raw_values.get(point.scale_factor)
        if not isinstance(exponent, int) or exponent not in SUNSSF_RANGE:
            return None
        # Divide for negative exponents: 493 / 10 is exactly 49.3, 493 * 0.1 is not.
        number = number * _POWERS_OF_TEN[exponent] if exponent >= 0 else number / _POWERS_OF_TEN[-exponent]
    # 87 * 0.1 is 8.700000000000001; registers never carry 1e-9 resolution. A whole number stays as it is.
    return number if number.is_integer() else round(number, 9)
