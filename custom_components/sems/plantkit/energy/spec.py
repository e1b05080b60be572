"""What a guarded energy counter is: how the device stores it (``CounterWidth``) and how fast it can grow
(``CounterSpec``: rated power times a margin).

Units: kWh for energy, W for power. Rated power comes from the device where it reports one (GoodWe register
35001, SunSpec nameplate ``WRtg``) and otherwise from ``DEFAULT_RATED_POWER_W`` for the device's role:
generous values, so that genuine growth is never refused, and still small enough that a torn 32-bit read
(65,536 counter steps, e.g. 6,553.6 kWh at 0.1 kWh) is refused after any outage shorter than days.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from ..model import Role
from ..registers import DataType

# No counter we read will ever legitimately show more: 1 TWh is the lifetime output of a 100 MW power station.
# It is the width of counters that have none (floats) and caps wider ones, so a fuzzed float (1.7e38) or u64
# is refused even as the very first value.
MAX_PLAUSIBLE_KWH: Final = 1e9

# Rated power by role when the device does not report one. Home inverters and batteries stay below 30 kW and a
# home grid connection below 3 x 80 A (55 kW); the defaults leave room above that.
DEFAULT_RATED_POWER_W: Final[Mapping[Role, float]] = {
    Role.INVERTER: 50_000.0,
    Role.BATTERY: 50_000.0,
    Role.METER: 100_000.0,
}
# A reported rated power outside this range is a misread register, not a device.
PLAUSIBLE_RATED_POWER_W: Final = (100.0, 10_000_000.0)


def rated_power_w(role: Role, reported_w: float | None = None) -> float:
    """Rated power (W) to guard a device's counters with: the reported one if plausible, else the default."""
    low, high = PLAUSIBLE_RATED_POWER_W
    if reported_w is not None and math.isfinite(reported_w) and low <= reported_w <= high:
        return float(reported_w)
    return DEFAULT_RATED_POWER_W[role]


@dataclass(frozen=True, slots=True)
class CounterWidth:
    """How a device stores a counter, in kWh.

    - ``resolution_kwh``: one counter step (0.1 for a GoodWe u32 x 0.1 kWh register, 0.001 for Wh counters).
    - ``modulus_kwh``: where the counter wraps to 0 (2**32 steps for a u32), None if it never wraps (floats).
    - ``max_kwh``: the largest value it can show; larger values are impossible readings.
    - ``sentinel_kwh``: the all-ones value ("not available") of an integer counter, None for floats and sums.
    - ``binary32``: the counter is a 32-bit float, whose step grows with its value (24-bit mantissa).
    """

    resolution_kwh: float
    modulus_kwh: float | None = None
    max_kwh: float = MAX_PLAUSIBLE_KWH
    sentinel_kwh: float | None = None
    binary32: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.resolution_kwh) and self.resolution_kwh > 0):
            raise ValueError("resolution_kwh must be a positive number")
        if not (math.isfinite(self.max_kwh) and self.max_kwh > 0):
            raise ValueError("max_kwh must be a positive number")
        if self.modulus_kwh is not None and not (
            math.isfinite(self.modulus_kwh) and self.modulus_kwh > self.resolution_kwh
        ):
            raise ValueError("modulus_kwh must be larger than one step")

    @classmethod
    def unsigned(cls, bits: int, resolution_kwh: float, *, terms: int = 1) -> CounterWidth:
        """An unsigned counter of ``bits`` bits, or the sum of ``terms`` of them (e.g. one per PV input).

        A sum drops by exactly one modulus when one of its terms wraps, so wraps are recognised the same way.
        The all-ones value is the sentinel of a single counter.
        """
        if bits not in (16, 32, 64) or terms < 1:
            raise ValueError("bits must be 16, 32 or 64 and terms at least 1")
        steps = 1 << bits
        return cls(
            resolution_kwh=resolution_kwh,
            modulus_kwh=steps * resolution_kwh,
            max_kwh=min(terms * (steps - 2) * resolution_kwh, MAX_PLAUSIBLE_KWH),
            sentinel_kwh=(steps - 1) * resolution_kwh if terms == 1 else None,
        )

    @classmethod
    def signed(cls, bits: int, resolution_kwh: float) -> CounterWidth:
        """A signed integer counter (Huawei's meter totals are int32 x 0.01 kWh): only its non-negative half
        is ever a reading. It has no wrap to follow (past its largest value it would read negative, which
        is refused) and no all-ones sentinel (all ones is -1)."""
        if bits not in (16, 32, 64):
            raise ValueError("bits must be 16, 32 or 64")
        largest = ((1 << (bits - 1)) - 1) * resolution_kwh
        return cls(resolution_kwh=resolution_kwh, max_kwh=min(largest, MAX_PLAUSIBLE_KWH))

    @classmethod
    def single_float(cls, resolution_kwh: float) -> CounterWidth:
        """A 32-bit float counter (Eastron SDM, GoodWe meter totals): it never wraps; NaN decodes as None."""
        return cls(resolution_kwh=resolution_kwh, binary32=True)

    @classmethod
    def for_dtype(cls, dtype: DataType, resolution_kwh: float, *, terms: int = 1) -> CounterWidth:
        """The width of a register point's data type (``registers.DataType``) at a given resolution."""
        bits = {
            DataType.U16: 16,
            DataType.U32: 32,
            DataType.ACC32: 32,
            DataType.U64: 64,
            DataType.ACC64: 64,
        }.get(dtype)
        if bits is not None:
            return cls.unsigned(bits, resolution_kwh, terms=terms)
        signed_bits = {DataType.S16: 16, DataType.S32: 32, DataType.S64: 64}.get(dtype)
        if signed_bits is not None and terms == 1:
            return cls.signed(signed_bits, resolution_kwh)
        if dtype is DataType.F32:
            return cls.single_float(resolution_kwh)
        raise ValueError(f"{dtype} is not a counter type")

    def step_at(self, value: float) -> float:
        """The smallest change the counter can show at ``value``: its resolution, or a float's spacing."""
        if self.binary32 and value > 0:
            return max(self.resolution_kwh, math.ldexp(1.0, math.frexp(value)[1] - 24))
        return self.resolution_kwh


@dataclass(frozen=True, slots=True)
class CounterSpec:
    """How a counter may behave.

    - ``rated_power_w``: the most the device can deliver through this flow (see ``rated_power_w()``).
    - ``margin``: allowed growth is rated power x elapsed time x margin (+ 2 counter steps). 2 covers PV
      arrays larger than the inverter's AC rating (PV energy counts DC) and short overloads.
    - ``confirm_samples``: readings a new level (after a reset, replacement or jump) needs, growing
      consistently with the measured power (or, without power, at all), before it is taken.
    - ``max_hold_samples``: after this many readings off the accepted level that never went down, the new
      level is taken even without growth: nothing is held for ever.
    - ``max_power_gap``: the longest interval between two power readings that is integrated to estimate the
      energy of a detection gap.
    """

    width: CounterWidth
    rated_power_w: float
    margin: float = 2.0
    confirm_samples: int = 3
    max_hold_samples: int = 10
    max_power_gap: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rated_power_w) and self.rated_power_w > 0):
            raise ValueError("rated_power_w must be a positive number")
        if not (math.isfinite(self.margin) and self.margin >= 1):
            raise ValueError("margin must be at least 1")
        if not 2 <= self.confirm_samples <= self.max_hold_samples:
            raise ValueError("need 2 <= confirm_samples <= max_hold_samples")
        if self.max_power_gap <= timedelta(0):
            raise ValueError("max_power_gap must be positive")
