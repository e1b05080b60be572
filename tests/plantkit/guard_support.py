"""What CounterGuard's example and property tests share: the GoodWe ET's lifetime counter (u32 x 0.1 kWh, a
10 kW inverter) and the check that a published counter never goes backwards."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise

from custom_components.sems.plantkit.energy import CounterSpec, CounterWidth

T0 = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)
RATED_W = 10_000.0  # a GoodWe GW10K-ET (register 35001)
U32 = CounterWidth.unsigned(32, 0.1)  # GoodWe e_total: u32 x 0.1 kWh
SPEC = CounterSpec(width=U32, rated_power_w=RATED_W)


def assert_monotonic(values: list[float]) -> None:
    assert all(b >= a for a, b in pairwise(values)), values
