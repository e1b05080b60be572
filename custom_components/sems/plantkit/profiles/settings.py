"""Writable settings as data: a control bound to one register, the way ``table.Field`` binds a reading.

- ``NumberSetting``: value = ``offset`` + ``sign`` x raw x ``scale`` (x 10^SF when the point has a SunSpec
  scale factor). A depth of discharge kept as "100 - minimum SOC" is ``offset=100, sign=-1``.
- ``ChoiceSetting``: a register whose codes mean battery modes.
- ``SwitchSetting``: a register whose codes mean on and off.
- ``CarriedPower``: the forced power of a battery mode that keeps it in the mode's own registers.

Vendor folders state their controls with these (``profiles/<vendor>/controls.py``); a control that needs
several registers at once is a ``ControlBinding`` of its own in its vendor's folder.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..control import (
    FORCED_MODES,
    BatteryMode,
    Control,
    ControlBinding,
    ControlSpec,
    ControlValue,
    RegisterWrite,
)
from ..exceptions import ControlError, ControlValueError, ForcedModeRequiredError
from ..registers import SUNSSF_RANGE, Point, RawValue, encode


def scale_of(point: Point, raw: Mapping[str, RawValue]) -> float | None:
    """The power of ten a SunSpec scale factor adds to ``point`` (1.0 without one); None when the
    device reports no usable scale factor."""
    if point.scale_factor is None:
        return 1.0
    exponent = raw.get(point.scale_factor)
    if not isinstance(exponent, int) or exponent not in SUNSSF_RANGE:
        return None
    return 10.0**exponent


def word_write(point: Point, raw_value: int) -> RegisterWrite:
    """The write of one integer raw value into ``point`` (``ControlValueError`` if it does not fit)."""
    try:
        return RegisterWrite(point.address, tuple(encode(point, raw_value)))
    except ValueError as err:
        raise ControlValueError(
            f"{point.key}: {raw_value} does not fit the register", value=raw_value
        ) from err


@dataclass(frozen=True, slots=True)
class NumberSetting(ControlBinding):
    """A number kept in one register."""

    spec: ControlSpec
    point: Point
    scale: float = 1.0
    offset: float = 0.0
    sign: int = 1
    scale_factor: Point | None = None  # the SunSpec sunssf point ``point.scale_factor`` names

    @property
    def points(self) -> Sequence[Point]:
        return (self.point,) if self.scale_factor is None else (self.point, self.scale_factor)

    def decode(self, raw: Mapping[str, RawValue]) -> float | None:
        value, factor = raw.get(self.point.key), scale_of(self.point, raw)
        if not isinstance(value, int) or factor is None:
            return None
        return round(self.offset + self.sign * value * self.scale * factor, 6) + 0.0

    def encode(
        self, value: ControlValue, raw: Mapping[str, RawValue], power: float | None = None
    ) -> tuple[RegisterWrite, ...]:
        factor = scale_of(self.point, raw)
        if factor is None or isinstance(value, bool | BatteryMode):
            raise ControlError(f"{self.point.key}: no usable scale factor", str(self.control))
        counts = round((float(value) - self.offset) / (self.sign * self.scale * factor))
        return (word_write(self.point, counts),)


@dataclass(frozen=True, slots=True)
class ChoiceSetting(ControlBinding):
    """A battery mode kept as a code in one register (codes the table lacks decode to None)."""

    spec: ControlSpec
    point: Point
    codes: Mapping[BatteryMode, int]

    @property
    def points(self) -> Sequence[Point]:
        return (self.point,)

    def decode(self, raw: Mapping[str, RawValue]) -> BatteryMode | None:
        code = raw.get(self.point.key)
        return next((mode for mode, known in self.codes.items() if known == code), None)

    def encode(
        self, value: ControlValue, raw: Mapping[str, RawValue], power: float | None = None
    ) -> tuple[RegisterWrite, ...]:
        if not isinstance(value, BatteryMode) or value not in self.codes:
            raise ControlValueError(
                f"{self.point.key}: no code for {value!r}", str(self.control), value=value
            )
        return (word_write(self.point, self.codes[value]),)


@dataclass(frozen=True, slots=True)
class SwitchSetting(ControlBinding):
    """On/off kept as two codes of one register."""

    spec: ControlSpec
    point: Point
    on: int = 1
    off: int = 0

    @property
    def points(self) -> Sequence[Point]:
        return (self.point,)

    def decode(self, raw: Mapping[str, RawValue]) -> bool | None:
        code = raw.get(self.point.key)
        return True if code == self.on else False if code == self.off else None

    def encode(
        self, value: ControlValue, raw: Mapping[str, RawValue], power: float | None = None
    ) -> tuple[RegisterWrite, ...]:
        return (word_write(self.point, self.on if value is True else self.off),)


# Before the registers are read a carried power can only be checked for being a power; once they are, it is
# checked against the limit the mode states (0..0 W, nothing, while the device states none).
ANY_POWER = ControlSpec(Control.FORCE_POWER, maximum=math.inf)
NO_POWER_LIMIT = ControlSpec(Control.FORCE_POWER)


@dataclass(frozen=True, slots=True)
class CarriedPower(ControlBinding):
    """The forced power of a battery mode that keeps it in the mode's own registers (SunSpec 124, Huawei).

    It reads as the power of the forced mode running (0 W in any other known mode, None when the mode is
    unknown), within the limits the mode states (``power_spec_for``). Writing it sends the running forced
    mode again at the new power; outside a forced mode it has nowhere to go: ``ForcedModeRequiredError``.
    """

    mode: ControlBinding
    spec: ControlSpec = ANY_POWER

    @property
    def points(self) -> Sequence[Point]:
        return self.mode.points

    @property
    def write_only(self) -> Sequence[Point]:
        return self.mode.write_only

    def spec_for(self, raw: Mapping[str, RawValue]) -> ControlSpec:
        return self.mode.power_spec_for(raw) or NO_POWER_LIMIT

    def decode(self, raw: Mapping[str, RawValue]) -> float | None:
        mode = self.mode.decode(raw)
        if mode is None:
            return None
        return self.mode.forced_power(raw) if mode in FORCED_MODES else 0.0

    def encode(
        self, value: ControlValue, raw: Mapping[str, RawValue], power: float | None = None
    ) -> tuple[RegisterWrite, ...]:
        mode = self.mode.decode(raw)
        if mode not in FORCED_MODES or isinstance(value, bool | BatteryMode):
            raise ForcedModeRequiredError(
                f"{self.control}: the battery runs {mode}, not a forced mode", str(self.control), value=value
            )
        return self.mode.encode(mode, raw, float(value))
