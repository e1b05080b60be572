"""Register tables: each register fact is stated once, and both the reads and the decoding come from it.

A ``Field`` says where a value lives (address, register table), how it is encoded (type, scale,
sentinel, raw values that mean "no sensor"), and what it is (the canonical quantity and whether the
vendor's sign is the opposite of the canonical one). A ``Table`` of fields gives the points the planner
reads and the canonical values of one read. A value a profile needs but that is no canonical quantity
(a status word, a fault bitmap) is a field without quantity, looked up by its key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ..energy.spec import CounterWidth
from ..model import QUANTITY_INFO, DeviceIdentity, Quantity, Unit
from ..registers import DataType, Point, RawValue, RegisterKind, Sentinel, decode
from .base import Profile


@dataclass(frozen=True, slots=True)
class Field:
    """One register fact. ``scale`` turns the raw number into the quantity's unit (e.g. 0.1 for "/10")."""

    key: str
    address: int
    dtype: DataType
    scale: float = 1.0
    quantity: Quantity | None = None
    negate: bool = False  # the vendor counts the other way round (e.g. GoodWe grid power + = export)
    sentinel: Sentinel = Sentinel.NONE
    kind: RegisterKind = RegisterKind.HOLDING
    length: int = 0  # registers; strings only
    absent: frozenset[int] = frozenset()  # raw values that mean "no sensor" (e.g. temperature -1)
    point: Point = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        point = Point(self.key, self.address, self.dtype, self.kind, self.length, sentinel=self.sentinel)
        object.__setattr__(self, "point", point)

    def value(self, raw: RawValue) -> float | None:
        """The scaled, sign-corrected number of a raw value (None: unavailable, text, or "no sensor")."""
        if raw is None or isinstance(raw, str) or raw in self.absent:
            return None
        number = raw * self.scale
        return 0.0 - number if self.negate else float(number)  # 0.0 - x: never a "-0 W"

    def code(self, raw: RawValue) -> int | None:
        """The raw integer of a code field (status word, bitmap), None when unavailable."""
        return raw if isinstance(raw, int) and raw not in self.absent else None


class Table:
    """The fields of one device (or one block); values come out keyed by canonical quantity."""

    def __init__(self, fields: Iterable[Field]) -> None:
        self.fields = tuple(fields)
        self.points: tuple[Point, ...] = tuple(f.point for f in self.fields)
        self._by_key = {f.key: f for f in self.fields}
        if len(self._by_key) != len(self.fields):
            raise ValueError("two fields share a key")
        self._measured = tuple(f for f in self.fields if f.quantity is not None)

    def __getitem__(self, key: str) -> Field:
        return self._by_key[key]

    def select(self, keep: Callable[[Field], bool]) -> Table:
        """The table without the fields ``keep`` rejects (a platform variant, a single-phase model)."""
        return Table(f for f in self.fields if keep(f))

    @property
    def quantities(self) -> frozenset[Quantity]:
        """The canonical quantities the table's fields give directly."""
        return frozenset(f.quantity for f in self._measured if f.quantity is not None)

    def counter_widths(self) -> dict[Quantity, CounterWidth]:
        """How each energy counter of the table is stored (for the energy guard): type and kWh per step."""
        widths: dict[Quantity, CounterWidth] = {}
        for f in self._measured:
            if f.quantity is None or QUANTITY_INFO[f.quantity].unit is not Unit.KILOWATT_HOUR:
                continue
            if f.dtype is DataType.F32:  # a float's step grows with its value; below it, Wh resolution
                widths[f.quantity] = CounterWidth.single_float(min(f.scale, 0.001))
            else:
                widths[f.quantity] = CounterWidth.for_dtype(f.dtype, f.scale)
        return widths

    def values(self, raw: Mapping[str, RawValue]) -> dict[Quantity, float | None]:
        """Every field's canonical quantity from one read's raw values."""
        return {f.quantity: f.value(raw.get(f.key)) for f in self._measured if f.quantity is not None}

    def value(self, raw: Mapping[str, RawValue], key: str) -> float | None:
        """One field's scaled value by key."""
        return self._by_key[key].value(raw.get(key))

    def code(self, raw: Mapping[str, RawValue], key: str) -> int | None:
        """One code field's raw integer by key."""
        return self._by_key[key].code(raw.get(key))

    def block_value(self, key: str, start: int, words: Sequence[int]) -> RawValue:
        """One field's raw value out of a block of registers read from ``start`` (identification reads
        whole blocks); raises ``PlantProtocolError`` when the block does not hold the field."""
        point = self._by_key[key].point
        offset = point.address - start
        return decode(point, words[max(0, offset) : offset + point.count])


def sum_of(values: Iterable[float | None], *, floor: float | None = None) -> float | None:
    """The sum of the available values (each at least ``floor`` when given); None if none is available."""
    present = [v if floor is None else max(floor, v) for v in values if v is not None]
    return sum(present) if present else None


def first_of(*values: float | None) -> float | None:
    """The first available value."""
    return next((v for v in values if v is not None), None)


class TableProfile(Profile):
    """A profile whose reads, counter widths and values all come from its register tables (each fact
    stated once, in ``_tables``); ``decode`` starts from ``_values``."""

    def _tables(self, identity: DeviceIdentity) -> tuple[Table, ...]:
        """The device's register tables."""
        raise NotImplementedError

    def points(self, identity: DeviceIdentity) -> Sequence[Point]:
        return [point for table in self._tables(identity) for point in table.points]

    def counter_widths(self, identity: DeviceIdentity) -> dict[Quantity, CounterWidth]:
        widths: dict[Quantity, CounterWidth] = {}
        for table in self._tables(identity):
            widths.update(table.counter_widths())
        return widths

    def _values(self, identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> dict[Quantity, float | None]:
        """Every table's values from the raw point values (None where unavailable)."""
        values: dict[Quantity, float | None] = {}
        for table in self._tables(identity):
            values.update(table.values(raw))
        return values
