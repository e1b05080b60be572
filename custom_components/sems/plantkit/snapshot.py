"""What a consumer sees of the plant after a refresh: one snapshot per device, each value with its source.

Consumers (Home Assistant entities, the CLI, the cloud uplink) only render a snapshot; whether a value
was just read, kept from an earlier read or stands in for a sleeping inverter is decided once, by the
``PlantMonitor``, and said here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from .faults import ActiveFault
from .model import DeviceIdentity, DeviceStatus, Quantity


class Source(StrEnum):
    """Where a value comes from."""

    FRESH = "fresh"  # read from the device in this refresh
    HELD = "held"  # the last good value, kept (a failed poll within tolerance, or a rejected glitch)
    NIGHT = "night"  # a stand-in while a PV-only inverter sleeps: 0 W, totals kept


@dataclass(frozen=True, slots=True)
class Sample:
    """One value (None = the device does not report it now: unknown) and where it comes from."""

    value: float | None
    source: Source


class Samples(Mapping[Quantity, Sample]):
    """A device's values with their sources, as a read-only mapping of ``Sample``.

    It keeps the plain values and one source for all of them (``sources`` names the exceptions), and
    makes a ``Sample`` only when one is looked up: a refresh builds none that nobody reads. ``value``
    gives a value without making one.
    """

    __slots__ = ("_source", "_sources", "_values")

    def __init__(
        self,
        values: Mapping[Quantity, float | None],
        source: Source,
        sources: Mapping[Quantity, Source] | None = None,
    ) -> None:
        self._values = values
        self._source = source
        self._sources = sources or {}

    def __getitem__(self, quantity: Quantity) -> Sample:
        return Sample(self._values[quantity], self._sources.get(quantity, self._source))

    def __contains__(self, quantity: object) -> bool:
        return quantity in self._values

    def __iter__(self) -> Iterator[Quantity]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Samples({dict(self.items())!r})"

    def value(self, quantity: Quantity) -> float | None:
        """The value of a quantity, None when it has none."""
        return self._values.get(quantity)

    def with_source(self, source: Source) -> Samples:
        """The same values, all from ``source`` (a held copy of a snapshot)."""
        return Samples(self._values, source)


def held_samples(values: Mapping[Quantity, Sample]) -> Samples:
    """The same values, every one held (a failed poll's copy of the last snapshot)."""
    if isinstance(values, Samples):
        return values.with_source(Source.HELD)
    return Samples({quantity: sample.value for quantity, sample in values.items()}, Source.HELD)


@dataclass(frozen=True, slots=True)
class DeviceSnapshot:
    """Everything a consumer shows of one device.

    ``quantities`` is what the device's profile provides (fixed per device); ``values`` holds those that
    have a value or a stand-in now. A quantity missing from ``values`` has no meaning at the moment (a
    voltage of a sleeping inverter): render it unavailable. ``faults`` is None until the device has
    answered at least once (a start at night), so nothing claims "no problem" without having asked.
    """

    identity: DeviceIdentity
    quantities: frozenset[Quantity]
    values: Mapping[Quantity, Sample]  # the monitor gives a Samples (no Sample made until looked up)
    status: DeviceStatus
    faults: tuple[ActiveFault, ...] | None
    source: Source  # of the reading behind this snapshot as a whole
    read_at: datetime | None  # when the values were read from the device (None: never)
    rejected: int = 0  # energy readings the guards rejected so far (lifetime, see energy.ledger)

    def value(self, quantity: Quantity) -> float | None:
        """The value of a quantity, None when unknown or unavailable."""
        values = self.values
        if isinstance(values, Samples):
            return values.value(quantity)  # without making a Sample
        sample = values.get(quantity)
        return None if sample is None else sample.value

    @property
    def fresh(self) -> bool:
        """True when this snapshot comes from a read of this refresh."""
        return self.source is Source.FRESH


@dataclass(frozen=True, slots=True)
class PlantSnapshot:
    """The devices behind one endpoint after one refresh, by ``DeviceIdentity.key``, and what they add
    up to (``plantkit.plant``)."""

    devices: Mapping[str, DeviceSnapshot]
    taken_at: datetime
    asleep: bool = False  # the endpoint's PV-only inverter sleeps; values are night stand-ins
    totals: Mapping[Quantity, Sample] = field(default_factory=dict)  # the plant's values
    total_quantities: frozenset[Quantity] = frozenset()  # what the plant can give at all
    status: DeviceStatus = DeviceStatus.UNKNOWN  # the worst of its devices

    def __getitem__(self, key: str) -> DeviceSnapshot:
        return self.devices[key]
