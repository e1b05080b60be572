"""Vendor-neutral controls: what a plant can be told to do, the same for every brand.

A device offers a subset of ``Control``; each profile maps the ones its device has onto registers
(``Profile.controls``, data in ``profiles/<vendor>/controls.py``). Upstream sees only canonical values:

- ``battery_mode``: a ``BatteryMode`` (self-use, forced charge, forced discharge, hold, off-grid reserve);
- ``force_power``: W, the power of a forced charge or discharge;
- ``min_soc``: %, the state of charge the battery keeps (100 - the depth of discharge);
- ``export_limit``: on/off, and ``export_limit_power``: W, the most the plant may feed into the grid.

A ``ControlSpec`` states a control's limits, from the device where it states them (rated power, the
battery's charge rate); ``validate`` is the one place a value is checked against them. A ``ControlBinding``
turns register values into the canonical value and a canonical value into register writes;
``plantkit.controller`` does the writing (budgets, read-back, expiry of temporary modes).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from .exceptions import ControlValueError
from .model import Unit
from .registers import Point, RawValue


class BatteryMode(StrEnum):
    """What the battery does."""

    SELF_USE = "self_use"  # the device's own self-consumption: charge from surplus, discharge for the load
    FORCE_CHARGE = "force_charge"  # charge at the forced power (from PV first, the grid for the rest)
    FORCE_DISCHARGE = "force_discharge"  # discharge at the forced power (down to the minimum SOC)
    HOLD = "hold"  # neither charge nor discharge
    OFF_GRID_RESERVE = "off_grid_reserve"  # charge from PV only, discharge only when the grid is gone


FORCED_MODES = frozenset({BatteryMode.FORCE_CHARGE, BatteryMode.FORCE_DISCHARGE})


class Control(StrEnum):
    """The canonical controls."""

    BATTERY_MODE = "battery_mode"
    FORCE_POWER = "force_power"
    MIN_SOC = "min_soc"
    EXPORT_LIMIT = "export_limit"
    EXPORT_LIMIT_POWER = "export_limit_power"


class ControlKind(StrEnum):
    """How a control's value looks: one of a few choices, a number, or on/off."""

    CHOICE = "choice"
    NUMBER = "number"
    SWITCH = "switch"


CONTROL_KINDS: dict[Control, ControlKind] = {
    Control.BATTERY_MODE: ControlKind.CHOICE,
    Control.FORCE_POWER: ControlKind.NUMBER,
    Control.MIN_SOC: ControlKind.NUMBER,
    Control.EXPORT_LIMIT: ControlKind.SWITCH,
    Control.EXPORT_LIMIT_POWER: ControlKind.NUMBER,
}
CONTROL_UNITS: dict[Control, Unit] = {
    Control.FORCE_POWER: Unit.WATT,
    Control.MIN_SOC: Unit.PERCENT,
    Control.EXPORT_LIMIT_POWER: Unit.WATT,
}

type ControlValue = BatteryMode | float | bool


@dataclass(frozen=True, slots=True)
class ControlSpec:
    """What values a control of one device takes: its choices, or its range and step (in its unit)."""

    control: Control
    options: tuple[BatteryMode, ...] = ()
    minimum: float = 0.0
    maximum: float = 0.0
    step: float = 1.0

    @property
    def kind(self) -> ControlKind:
        """Choice, number or switch."""
        return CONTROL_KINDS[self.control]

    @property
    def unit(self) -> Unit | None:
        """The unit of a number control."""
        return CONTROL_UNITS.get(self.control)

    @property
    def settable(self) -> bool:
        """False for a number whose range leaves nothing to choose (``maximum <= minimum``: a forced power
        whose device states no limit is 0..0 W); choices and switches are always settable."""
        return self.kind is not ControlKind.NUMBER or self.maximum > self.minimum

    def validate(self, value: object) -> ControlValue:
        """The value as the control takes it (a number rounded to the step), or ``ControlValueError``.

        Choices accept a ``BatteryMode`` or its name, switches only ``True``/``False``, numbers any finite
        real number within ``minimum..maximum``.
        """
        if self.kind is ControlKind.CHOICE:
            return self._choice(value)
        if self.kind is ControlKind.SWITCH:
            if not isinstance(value, bool):
                raise self._error(value, "is not on or off")
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._error(value, "is not a number")
        if isinstance(value, float) and not math.isfinite(value):  # an int is compared exactly (any size)
            raise self._error(value, "is not a number")
        if not self.minimum <= value <= self.maximum:
            raise self._error(value, f"is outside {self.minimum:g}..{self.maximum:g}")
        stepped = self.minimum + round((value - self.minimum) / self.step) * self.step
        return round(min(self.maximum, max(self.minimum, stepped)), 6) + 0.0

    def _choice(self, value: object) -> BatteryMode:
        try:
            mode = BatteryMode(str(value))
        except ValueError:
            raise self._error(value, "is no battery mode") from None
        if mode not in self.options:
            raise self._error(value, "is not offered by this device")
        return mode

    def _error(self, value: object, why: str) -> ControlValueError:
        return ControlValueError(
            f"{self.control}: {value!r} {why}",
            str(self.control),
            value=value,
            minimum=self.minimum if self.kind is ControlKind.NUMBER else None,
            maximum=self.maximum if self.kind is ControlKind.NUMBER else None,
            options=tuple(str(option) for option in self.options),
        )


@dataclass(frozen=True, slots=True)
class RegisterWrite:
    """Words to write to consecutive holding registers from ``address``."""

    address: int
    words: tuple[int, ...]

    @property
    def addresses(self) -> range:
        """The registers this write touches."""
        return range(self.address, self.address + len(self.words))


class ControlBinding(ABC):
    """One control of one device: where its value lives and how it is written.

    ``points`` are read to know the current value (scale factors and limits included); ``decode`` turns
    them into the canonical value (None when the registers hold something the control cannot show);
    ``encode`` turns a validated canonical value into writes, given the current raw values (scale
    factors, the registers a write shares with others). A battery mode whose forced power lives in the
    mode's own registers takes it as ``power`` and states its limits in ``power_spec_for``. A command
    register the device cannot read back is named in ``write_only``.
    """

    spec: ControlSpec

    @property
    def control(self) -> Control:
        """The canonical control."""
        return self.spec.control

    @property
    @abstractmethod
    def points(self) -> Sequence[Point]:
        """Every register point ``decode`` and ``encode`` need."""

    @property
    def write_only(self) -> Sequence[Point]:
        """Registers ``encode`` may write that the device never lets be read (a document's "write only"):
        they are not among ``points``, and a write to them is checked through ``decode`` instead."""
        return ()

    def spec_for(self, raw: Mapping[str, RawValue]) -> ControlSpec:
        """The control's limits now: ``spec``, narrowed where the device reports limits in registers."""
        return self.spec

    def power_spec_for(
        self, raw: Mapping[str, RawValue], mode: BatteryMode | None = None
    ) -> ControlSpec | None:
        """Battery modes that carry their forced power: its limits now in ``mode`` (default: the mode the
        registers hold); None for every other binding."""
        return None

    def forced_power(self, raw: Mapping[str, RawValue]) -> float | None:
        """Battery modes that carry their forced power: the power of the forced mode the registers hold."""
        return None

    @abstractmethod
    def decode(self, raw: Mapping[str, RawValue]) -> ControlValue | None:
        """The current canonical value from raw point values (None: unknown or not one the control has)."""

    @abstractmethod
    def encode(
        self, value: ControlValue, raw: Mapping[str, RawValue], power: float | None = None
    ) -> tuple[RegisterWrite, ...]:
        """The writes that set ``value`` (already validated by ``spec_for``)."""
