"""Codecs: encode/decode round trips, word order, sentinels, scale factors."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custom_components.sems.plantkit.exceptions import PlantProtocolError
from custom_components.sems.plantkit.profiles.table import Field, Table
from custom_components.sems.plantkit.registers import (
    BlockDecoder,
    DataType,
    Point,
    Sentinel,
    WordOrder,
    decode,
    encode,
    scaled,
)

RANGES = {
    DataType.U16: (0, 0xFFFE),
    DataType.S16: (-0x7FFF, 0x7FFF),
    DataType.U32: (0, 0xFFFFFFFE),
    DataType.S32: (-0x7FFFFFFF, 0x7FFFFFFF),
    DataType.U64: (0, 2**64 - 2),
    DataType.S64: (-(2**63) + 1, 2**63 - 1),
}


@given(
    st.sampled_from(list(RANGES)),
    st.sampled_from(list(WordOrder)),
    st.sampled_from([Sentinel.NONE, Sentinel.SUNSPEC, Sentinel.ALL_ONES]),
    st.data(),
)
def test_integer_round_trip(
    dtype: DataType, order: WordOrder, sentinel: Sentinel, data: st.DataObject
) -> None:
    low, high = RANGES[dtype]
    value = data.draw(st.integers(min_value=low, max_value=high))
    point = Point("x", 0, dtype, word_order=order, sentinel=sentinel)
    words = encode(point, value)
    assert len(words) == point.count
    assert decode(point, words) == value


@given(st.floats(allow_nan=False, allow_infinity=False, width=32), st.sampled_from(list(WordOrder)))
def test_float_round_trip(value: float, order: WordOrder) -> None:
    point = Point("f", 0, DataType.F32, word_order=order)
    decoded = decode(point, encode(point, value))
    assert isinstance(decoded, float)
    # Decoding keeps float32's ~7 significant digits and drops the binary tail (1054.300048828125 -> 1054.3).
    assert decoded == pytest.approx(value, rel=1e-6, abs=1e-37)
    assert decoded == float(f"{value:.7g}")


def test_float_and_scale_noise_is_removed() -> None:
    meter = Point("f", 0, DataType.F32)
    assert decode(meter, encode(meter, -1054.3)) == -1054.3
    energy = Point("e", 0, DataType.U16, scale=0.1)
    assert scaled(energy, 87, {}) == 8.7


def test_word_order() -> None:
    big = Point("b", 0, DataType.U32)
    little = Point("l", 0, DataType.U32, word_order=WordOrder.LITTLE)
    assert decode(big, [0x0001, 0x0002]) == 0x00010002
    assert decode(little, [0x0001, 0x0002]) == 0x00020001
    raw = struct.pack(">f", 1.5)
    words = [int.from_bytes(raw[:2], "big"), int.from_bytes(raw[2:], "big")]
    assert decode(Point("f", 0, DataType.F32), words) == 1.5


@pytest.mark.parametrize(
    ("dtype", "words"),
    [
        (DataType.S16, [0x8000]),
        (DataType.U16, [0xFFFF]),
        (DataType.SUNSSF, [0x8000]),
        (DataType.ENUM16, [0xFFFF]),
        (DataType.S32, [0x8000, 0x0000]),
        (DataType.U32, [0xFFFF, 0xFFFF]),
        (DataType.ACC32, [0, 0]),
        (DataType.ACC64, [0, 0, 0, 0]),
        (DataType.U64, [0xFFFF] * 4),
        (DataType.S64, [0x8000, 0, 0, 0]),
        (DataType.BITFIELD32, [0xFFFF, 0xFFFF]),
        (DataType.F32, [0x7FC0, 0x0000]),
    ],
)
def test_sunspec_sentinels_decode_to_none(dtype: DataType, words: list[int]) -> None:
    assert decode(Point("x", 0, dtype, sentinel=Sentinel.SUNSPEC), words) is None
    if dtype not in (DataType.F32,):
        # Without a sentinel rule the same words are a real number.
        assert decode(Point("x", 0, dtype), words) is not None


def test_all_ones_sentinel() -> None:
    assert decode(Point("x", 0, DataType.U32, sentinel=Sentinel.ALL_ONES), [0xFFFF, 0xFFFF]) is None
    assert decode(Point("x", 0, DataType.S16, sentinel=Sentinel.ALL_ONES), [0xFFFF]) is None
    assert decode(Point("x", 0, DataType.S16, sentinel=Sentinel.ALL_ONES), [0xFFFE]) == -2


def test_strings() -> None:
    point = Point("s", 0, DataType.STRING, length=4)
    assert decode(point, encode(point, "GW10K")) == "GW10K"
    assert decode(point, [0, 0, 0, 0]) is None
    assert decode(point, encode(point, "ABCDEFGHIJ")) == "ABCDEFGH"
    with pytest.raises(ValueError, match="length"):
        Point("s", 0, DataType.STRING)


def test_scale_and_scale_factor() -> None:
    power = Point("W", 0, DataType.S16, scale_factor="W_SF")
    assert scaled(power, 1234, {"W_SF": -1}) == pytest.approx(123.4)
    assert scaled(power, 1234, {"W_SF": None}) is None  # SF not implemented -> value unavailable
    assert scaled(power, 1234, {"W_SF": 11}) is None  # SF outside -10..10 is garbage
    assert scaled(power, None, {"W_SF": 0}) is None
    energy = Point("E", 0, DataType.U32, scale=0.1)
    assert scaled(energy, 12345, {}) == pytest.approx(1234.5)


def test_bad_input_raises_protocol_error() -> None:
    with pytest.raises(PlantProtocolError):
        decode(Point("x", 0, DataType.U32), [1])
    with pytest.raises(PlantProtocolError):
        decode(Point("x", 0, DataType.U16), [70000])
    with pytest.raises(ValueError, match="fit"):
        encode(Point("x", 0, DataType.U16), 70000)


def test_nan_and_inf_floats_are_none() -> None:
    point = Point("f", 0, DataType.F32)
    assert decode(point, encode(point, math.inf)) is None


# Every word pattern that matters to some type: sentinels, sign bits, NaN/inf, NUL and non-ASCII bytes.
SPECIAL_WORDS = [0x0000, 0xFFFF, 0x8000, 0x7FFF, 0x7FC0, 0x7F80, 0x4142, 0x00C3, 0x2000]
POINT_TYPES = [t for t in DataType if t is not DataType.STRING]


@st.composite
def block_points(draw: st.DrawFn) -> list[Point]:
    """Points anywhere in a 40-register block, overlapping or not, of every type, order and sentinel."""
    points = []
    for index in range(draw(st.integers(min_value=0, max_value=12))):
        dtype = draw(st.sampled_from([*POINT_TYPES, DataType.STRING]))
        length = draw(st.integers(min_value=1, max_value=6)) if dtype is DataType.STRING else 0
        points.append(
            Point(
                f"p{index}",
                100 + draw(st.integers(min_value=0, max_value=32)),
                dtype,
                length=length,
                word_order=draw(st.sampled_from(list(WordOrder))),
                sentinel=draw(st.sampled_from(list(Sentinel))),
            )
        )
    return points


@given(
    block_points(),
    st.lists(
        st.one_of(st.sampled_from(SPECIAL_WORDS), st.integers(min_value=0, max_value=0xFFFF)),
        min_size=40,
        max_size=40,
    ),
)
def test_block_decoder_decodes_exactly_like_decode(points: list[Point], words: list[int]) -> None:
    """The read path's decoder (one struct per block, straight from the reply bytes) gives what ``decode``
    gives for each point's words: same values, same types, same Nones."""
    decoder = BlockDecoder(100, points)
    assert set(decoder.points) == set(points)
    data = struct.pack(f">{len(words)}H", *words)
    for point, value in zip(decoder.points, decoder.decode_bytes(data), strict=True):
        expected = decode(point, words[point.address - 100 : point.end - 100])
        assert value == expected, point
        assert type(value) is type(expected), point


def test_block_decoder_refuses_short_data_and_points_before_it() -> None:
    decoder = BlockDecoder(10, [Point("x", 12, DataType.U32)])
    assert decoder.decode_bytes(bytes(8)) == [0]
    with pytest.raises(PlantProtocolError):
        decoder.decode_bytes(bytes(6))
    with pytest.raises(ValueError, match="before"):
        BlockDecoder(10, [Point("x", 9, DataType.U16)])


def test_table_block_value_decodes_a_field_out_of_a_block_read() -> None:
    table = Table((Field("serial", 102, DataType.STRING, length=2), Field("power", 105, DataType.S16)))
    words = [0, 0, 0x4142, 0x4344, 0, 0xFFFE]  # registers 100..105
    assert table.block_value("serial", 100, words) == "ABCD"
    assert table.block_value("power", 100, words) == -2
    with pytest.raises(PlantProtocolError):
        table.block_value("power", 100, words[:5])  # the block ends before the field
    with pytest.raises(PlantProtocolError):
        table.block_value("serial", 103, words)  # the block starts after the field
