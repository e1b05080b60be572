"""CounterGuard's property tests: any mix of glitches injected into any true counter history, with and
without power readings, costs a bounded error (the example tests are in ``test_energy_guard.py``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.sems.plantkit.energy import (
    CounterGuard,
    CounterSpec,
    CounterWidth,
    Decision,
    GuardResult,
)

from .guard_support import RATED_W, SPEC, T0, assert_monotonic

# A trace is a true counter history (power changing linearly between readings, energy = trapezoid, the
# counter showing floor(energy / resolution) modulo 2**32) with glitches injected. Preconditions, the ones
# under which a glitch can be told from the truth at all:
# - true power stays within 0.8 x rated power;
# - glitches sit on normal poll intervals (60-90 s) with a good reading before and after them (a torn read
#   right after a 12 h outage could be real growth);
# - a reset or replacement is followed by max_hold_samples + 2 good readings (a glitch while a new level is
#   being confirmed may delay it, or start it one reading late);
# - a reset or replacement differs from the old counter by more than the allowance (else it is
#   indistinguishable from growth, and counted as such): it happens on a counter showing at least 1 kWh;
# - a counter within 5 kWh below its modulus neither drops to 0, resets nor is read torn: a small value there
#   is taken as a wrap, and a torn read wraps into small values that grow with the counter, like a reset
#   (a u32 x 0.1 kWh counter is there once in 429 million kWh).

RES = (0.1, 0.01, 0.001)
MAX_HOLD = SPEC.max_hold_samples
OPS = (
    "clean",
    "drop0",
    "stale",
    "torn_up",
    "torn_down",
    "none",
    "impossible",
    "duplicate",
    "outage",
    "restart",
    "reset",
    "replace_low",
    "replace_high",
)


@dataclass
class Reading:
    when: datetime
    raw: float | None
    power_w: float | None
    truth: float  # cumulative true energy since the trace began, kWh
    restart: bool = False  # restore the guard from its JSON state before this reading


@dataclass
class Trace:
    width: CounterWidth
    readings: list[Reading] = field(default_factory=list)
    resets: int = 0
    reset_gaps: list[tuple[float, float]] = field(default_factory=list)  # (true energy, allowance) per reset


@st.composite
def traces(draw: st.DrawFn, *, with_power: bool) -> Trace:
    resolution = draw(st.sampled_from(RES))
    width = CounterWidth.unsigned(32, resolution)
    modulus = width.modulus_kwh
    assert modulus is not None
    steps = 1 << 32
    counter = draw(
        st.sampled_from([0.0, 12_345.6, modulus - draw(st.floats(min_value=0.5, max_value=20.0))])
    )  # the device counter's true (unquantized, unwrapped) energy
    trace = Trace(width)
    state = {"t": T0, "p": draw(st.floats(min_value=0, max_value=8000)), "truth": 0.0, "counter": counter}
    history: list[float] = []

    def power() -> float:
        return draw(st.one_of(st.just(0.0), st.floats(min_value=0, max_value=0.8 * RATED_W)))

    def advance(seconds: float, restart_from: float | None = None) -> float:
        """Move time on; the counter restarts from restart_from at a random point of the interval."""
        p0, p1 = state["p"], power()
        hours = seconds / 3600
        energy = (p0 + p1) / 2 * hours / 1000
        state["t"] += timedelta(seconds=seconds)
        state["p"] = p1
        state["truth"] += energy
        if restart_from is None:
            state["counter"] += energy
        else:
            before = draw(st.floats(min_value=0, max_value=1))  # share of the interval before the reset
            after = (p0 * (1 - before) + (p1 - p0) * (1 - before**2) / 2) * hours / 1000
            state["counter"] = restart_from + after
            trace.reset_gaps.append((energy, RATED_W / 1000 * SPEC.margin * hours))
        return energy

    def shown() -> float:
        steps_shown = math.floor(state["counter"] / resolution + 1e-9)
        return round((steps_shown % steps) * resolution, 9)

    def emit(raw: float | None, *, power_known: bool = True, restart: bool = False) -> None:
        trace.readings.append(
            Reading(
                state["t"], raw, state["p"] if with_power and power_known else None, state["truth"], restart
            )
        )

    def normal() -> int:
        return draw(st.integers(min_value=60, max_value=90))

    def clean() -> None:
        advance(normal())
        value = shown()
        history.append(value)
        emit(value)

    def glitch(raw: float | None, **kwargs: bool) -> None:
        advance(normal())
        emit(raw, **kwargs)

    def torn(sign: int) -> float:
        steps_shown = math.floor(state["counter"] / resolution + 1e-9) + sign * 65_536
        return round((steps_shown % steps) * resolution, 9)

    clean()
    clean()
    for requested in draw(st.lists(st.sampled_from(OPS), max_size=20)):
        near_modulus = modulus - shown() < 5.0  # a small value right below the modulus is a wrap
        op = (
            "clean"
            if near_modulus
            and requested in ("drop0", "reset", "replace_low", "replace_high", "torn_up", "torn_down")
            else requested
        )
        if op == "drop0":
            for _ in range(draw(st.integers(1, 3))):
                glitch(0.0)
        elif op == "stale":
            old = history[-draw(st.integers(1, min(4, len(history))))]
            for _ in range(draw(st.integers(1, 3 if with_power else 1))):
                glitch(old)
        elif op == "torn_up":
            glitch(torn(+1))
        elif op == "torn_down":
            glitch(torn(-1))
        elif op == "none":
            for _ in range(draw(st.integers(1, 5))):
                glitch(None, power_known=False)
        elif op == "impossible":
            glitch(draw(st.sampled_from([math.nan, math.inf, -1.0, -1.7e38, 1.7e38, width.sentinel_kwh])))
        elif op == "duplicate":
            trace.readings.append(trace.readings[-1])
        elif op == "outage":
            advance(draw(st.integers(min_value=3600, max_value=12 * 3600)))
        elif op == "restart":
            if draw(st.booleans()):
                advance(draw(st.integers(min_value=60, max_value=3600)))  # Home Assistant was down
            clean()
            trace.readings[-1].restart = True
        elif op in ("reset", "replace_low", "replace_high"):
            if shown() < 1.0:
                continue  # a counter near 0 that restarts from 0 shows no reset at all
            base = 0.0
            if op == "replace_low":
                base = draw(st.floats(min_value=0, max_value=max(0.0, state["counter"] - 100)))
            elif op == "replace_high" and state["counter"] + 200_000 < modulus - 1000:
                base = state["counter"] + draw(st.floats(min_value=1000, max_value=100_000))
            advance(normal(), restart_from=base)
            trace.resets += 1
            history.append(shown())
            emit(shown())
            for _ in range(MAX_HOLD + 2):
                clean()
        clean()  # every glitch is followed by a good reading
    for _ in range(MAX_HOLD + 2):
        clean()
    while trace.readings[-1].raw == width.sentinel_kwh:  # a sentinel is refused: end on a good reading
        clean()
    # Home Assistant also restarts at arbitrary readings, in the middle of glitches and held levels.
    for index in draw(st.sets(st.integers(0, len(trace.readings) - 1), max_size=5)):
        trace.readings[index] = replace(trace.readings[index], restart=True)
    return trace


def replay(trace: Trace) -> list[GuardResult]:
    """Feed a trace to a guard that restarts (through JSON) where the trace says, and check that an identical
    guard that never restarts says exactly the same."""
    spec = CounterSpec(width=trace.width, rated_power_w=RATED_W)
    guard, steady = CounterGuard(spec), CounterGuard(spec)
    results = []
    for reading in trace.readings:
        if reading.restart:
            restored = CounterGuard(spec)
            assert restored.restore(json.loads(json.dumps(guard.to_state())))
            guard = restored
        result = guard.update(reading.raw, reading.when, reading.power_w)
        assert steady.update(reading.raw, reading.when, reading.power_w) == result
        results.append(result)
    return results


def error_of(trace: Trace, results: list[GuardResult]) -> tuple[float, int, int]:
    """Published minus true energy from the first published reading on; rebases; first published index."""
    published = [(i, r.value) for i, r in enumerate(results) if r.value is not None]
    values = [v for _, v in published]
    assert_monotonic(values)
    first = published[0][0]
    rebases = sum(r.decision in (Decision.RESET, Decision.RELEVELED) for r in results)
    energy = values[-1] - values[0]
    truth = trace.readings[-1].truth - trace.readings[first].truth
    return energy - truth, rebases, first


@settings(max_examples=300, deadline=None)
@given(traces(with_power=True))
def test_any_glitches_with_power_cost_at_most_one_step_per_level(trace: Trace) -> None:
    """With power measured: the published series never decreases, every genuine reset or replacement is
    taken exactly once and nothing else is, and the published energy differs from the true energy by less
    than one counter step per level the counter had (the quantization of each level's first and last
    reading): |error| < (1 + resets) x resolution. Rejected readings cost nothing: their energy arrives with
    the next good one. At no reading does the published energy run ahead of the truth by more than that."""
    results = replay(trace)
    error, rebases, first = error_of(trace, results)
    assert rebases == trace.resets
    bound = (1 + trace.resets) * trace.width.resolution_kwh + 1e-6
    assert abs(error) < bound
    start = results[first].value
    assert start is not None
    for reading, result in zip(trace.readings[first:], results[first:], strict=True):
        assert result.value is not None
        assert result.value - start <= reading.truth - trace.readings[first].truth + bound


@settings(max_examples=300, deadline=None)
@given(traces(with_power=False))
def test_any_glitches_without_power_cost_at_most_the_reset_gaps(trace: Trace) -> None:
    """Without power: monotonic, every reset taken exactly once, and only the detection gap of each reset
    (one poll interval here) is an estimate: the error lies between minus the true energy of those gaps and
    plus their allowance (rated power x margin x interval), widened by the quantization bound above. With no
    reset in the trace the error is below one counter step."""
    results = replay(trace)
    error, rebases, _ = error_of(trace, results)
    assert rebases == trace.resets
    quantization = (1 + trace.resets) * trace.width.resolution_kwh + 1e-6
    lost = sum(energy for energy, _ in trace.reset_gaps)
    invented = sum(allowance for _, allowance in trace.reset_gaps)
    assert -lost - quantization < error < invented + quantization
