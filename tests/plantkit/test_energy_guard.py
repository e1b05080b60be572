"""CounterGuard: a lifetime energy counter you can trust.

Example tests replay the issue's scenario (24 polls of 5 minutes at 6 kW: 12.0 kWh true energy) with one
glitch each and require 0 % error; property tests (``test_energy_guard_properties.py``) inject any mix of
glitches into any true counter history and bound the error.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from custom_components.sems.plantkit.energy import (
    DEFAULT_RATED_POWER_W,
    MAX_PLAUSIBLE_KWH,
    CounterGuard,
    CounterSpec,
    CounterWidth,
    Decision,
    GuardResult,
    Reason,
    rated_power_w,
)
from custom_components.sems.plantkit.model import Role
from custom_components.sems.plantkit.registers import DataType

from .guard_support import RATED_W, SPEC, T0, U32, assert_monotonic

POLL = timedelta(minutes=5)
POWER_W = 6_000.0  # 0.5 kWh per poll
START = 10_000.0
TRUE_KWH = 12.0  # 24 polls x 0.5 kWh
MODULUS = 2**32 * 0.1
TORN = 65_536 * 0.1  # one unit of the high word: 6,553.6 kWh


def true_counter(poll: int, start: float = START) -> float:
    """What the device's counter shows at a poll of the scenario (poll -1 is a warm-up reading)."""
    return round(start + 0.5 * poll, 9)


@dataclass
class Day:
    """One run of the scenario: polls -1..24, the device's readings with some replaced."""

    results: dict[int, GuardResult]
    guard: CounterGuard

    @property
    def published(self) -> list[float]:
        return [r.value for r in self.results.values() if r.value is not None]

    @property
    def energy(self) -> float:
        first, last = self.results[0].value, self.results[24].value
        assert first is not None
        assert last is not None
        return last - first

    def decisions(self) -> dict[int, tuple[Decision, Reason | None]]:
        """The polls whose reading was not simply accepted."""
        return {
            poll: (r.decision, r.reason)
            for poll, r in self.results.items()
            if poll >= 0 and r.decision is not Decision.ACCEPTED
        }


def scenario(
    shown: Mapping[int, float | None] | None = None,
    *,
    start: float = START,
    power_w: float | None = POWER_W,
    guard: CounterGuard | None = None,
    width: CounterWidth = U32,
) -> Day:
    shown = shown or {}
    guard = guard or CounterGuard(CounterSpec(width=width, rated_power_w=RATED_W))
    results = {}
    for poll in range(-1, 25):
        value = shown[poll] if poll in shown else true_counter(poll, start)
        results[poll] = guard.update(value, T0 + poll * POLL, power_w)
    return Day(results, guard)


# --- the issue's scenario: 0 % error for every glitch ------------------------------------------------------

RESET_AT = 12  # the counter restarted 60 % into the interval before poll 12: it shows 0.2 kWh there
NEW_COUNTER = {poll: round(0.2 + 0.5 * (poll - RESET_AT), 9) for poll in range(RESET_AT, 25)}


@pytest.mark.parametrize(
    ("shown", "start", "expected"),
    [
        pytest.param({}, START, {}, id="clean"),
        pytest.param(
            {10: true_counter(10) + TORN}, START, {10: (Decision.HELD, Reason.TOO_FAST)}, id="torn-read-up"
        ),
        pytest.param(
            {10: true_counter(10) - TORN}, START, {10: (Decision.HELD, Reason.BACKWARD)}, id="torn-read-down"
        ),
        pytest.param(
            dict.fromkeys((8, 9, 10), 0.0),
            START,
            dict.fromkeys((8, 9, 10), (Decision.HELD, Reason.DROP_TO_ZERO)),
            id="drop-to-0-while-booting",
        ),
        pytest.param(
            {10: true_counter(6), 11: true_counter(6)},
            START,
            dict.fromkeys((10, 11), (Decision.HELD, Reason.BACKWARD)),
            id="backward-step",
        ),
        pytest.param(
            dict.fromkeys(range(8, 16)),
            START,
            dict.fromkeys(range(8, 16), (Decision.NO_VALUE, None)),
            id="outage",
        ),
        pytest.param(
            NEW_COUNTER,
            START,
            {
                12: (Decision.HELD, Reason.BACKWARD),
                13: (Decision.HELD, Reason.BACKWARD),
                14: (Decision.RESET, Reason.CONFIRMED),
            },
            id="counter-reset",
        ),
        pytest.param(
            {poll: value + 70_000 for poll, value in NEW_COUNTER.items()},
            START,
            {
                12: (Decision.HELD, Reason.TOO_FAST),
                13: (Decision.HELD, Reason.TOO_FAST),
                14: (Decision.RELEVELED, Reason.CONFIRMED),
            },
            id="replaced-by-a-used-inverter",
        ),
        pytest.param(
            {poll: round(true_counter(poll, MODULUS - 5.0) % MODULUS, 9) for poll in range(-1, 25)},
            MODULUS - 5.0,
            {10: (Decision.WRAPPED, None)},
            id="32-bit-wrap",
        ),
    ],
)
def test_issue_scenario_has_no_error(
    shown: dict[int, float | None], start: float, expected: dict[int, tuple[Decision, Reason | None]]
) -> None:
    day = scenario(shown, start=start)
    assert day.energy == pytest.approx(TRUE_KWH, abs=1e-6)  # 0 % error
    assert day.decisions() == expected
    assert_monotonic(day.published)
    start_value = day.results[0].value
    assert start_value is not None
    for poll in range(25):  # never ahead of the truth: no spike, not even for a poll
        value = day.results[poll].value
        assert value is not None
        assert value - start_value <= 0.5 * poll + 1e-6


def test_torn_read_is_never_published_and_counted_once() -> None:
    day = scenario({10: true_counter(10) + TORN})
    assert day.results[10].value == true_counter(9)  # held, not 16,558.6
    assert day.results[10].episode_started
    assert day.results[11].value == true_counter(11)  # the energy of the held poll arrives with the next
    assert day.results[11].rejected == 1
    assert day.guard.rejected == 1


def test_an_episode_is_reported_once() -> None:
    day = scenario(dict.fromkeys((8, 9, 10), 0.0))
    assert [day.results[poll].episode_started for poll in (7, 8, 9, 10, 11)] == [
        False,
        True,
        False,
        False,
        False,
    ]
    assert day.results[11].rejected == 3


def test_reset_counts_the_gap_from_power() -> None:
    """The new counter holds 0.2 kWh at poll 12; power says 0.5 kWh flowed since poll 11: the old counter's
    last 0.3 kWh are not lost, and the new counter's 0.2 kWh are not counted twice."""
    day = scenario(NEW_COUNTER)
    reset = day.results[14]
    assert reset.gap_kwh == pytest.approx(0.5)
    assert [day.results[poll].value for poll in (11, 12, 13, 14, 15)] == pytest.approx(
        [true_counter(11)] * 3 + [true_counter(14), true_counter(15)]
    )
    assert day.guard.rejected == 0  # the held readings were taken


def test_a_boot_time_zero_while_a_reset_is_confirmed_is_a_glitch() -> None:
    """The new counter shows 0.2 and then, once, a boot-time 0 before it goes on: the 0 is a glitch of the
    pending level, not a second reset. Taken as one, the new counter's energy before it (0.7 kWh) was counted
    twice: in the gap, from power, and again by the counter from 0."""
    day = scenario({**NEW_COUNTER, RESET_AT + 1: 0.0})
    assert day.results[RESET_AT + 1].decision is Decision.HELD
    assert day.energy == pytest.approx(TRUE_KWH, abs=1e-6)
    assert day.guard.rejected == 1  # the 0


def test_two_boot_time_zeros_while_a_reset_is_confirmed_are_glitches() -> None:
    """As above with the 0 shown for two polls (a boot shows 0 for as long as it takes; the example above
    the reset uses three). The second 0 continues the first, so the zeros start a new streak from 0, the old
    one is dropped, and the next reading (1.7, the new counter going on) continues the zeros: the gap from
    power and the counter from 0 both count the new counter's 0.7 kWh before the zeros (12.7 kWh, not 12)."""
    day = scenario({**NEW_COUNTER, RESET_AT + 1: 0.0, RESET_AT + 2: 0.0})
    assert day.energy == pytest.approx(TRUE_KWH, abs=1e-6)
    assert day.guard.rejected == 2  # the zeros


def test_reset_without_power_loses_only_the_old_counters_part_of_the_gap() -> None:
    """Without power, the gap counts what the new counter shows (0.2 kWh): a lower bound, never a double
    count. The 0.3 kWh the old counter counted after poll 11 are lost (-2.5 %)."""
    day = scenario(NEW_COUNTER, power_w=None)
    assert day.results[14].decision is Decision.RESET
    assert day.results[14].gap_kwh == pytest.approx(0.2)
    assert day.energy == pytest.approx(TRUE_KWH - 0.3, abs=1e-6)


def test_replacement_without_power_estimates_the_gap_from_the_new_counters_rate() -> None:
    day = scenario({poll: value + 70_000 for poll, value in NEW_COUNTER.items()}, power_w=None)
    assert day.results[14].decision is Decision.RELEVELED
    assert day.results[14].gap_kwh == pytest.approx(0.5)  # 0.5 kWh per poll, as the new counter grows
    assert day.energy == pytest.approx(TRUE_KWH, abs=1e-6)


def test_reset_at_night_is_taken_when_sustained() -> None:
    """A counter reset while nothing flows: the flat new level is taken after max_hold_samples, which changes
    nothing published; the morning's growth then counts."""
    guard = CounterGuard(SPEC)
    results = [guard.update(5000.0, T0 + i * POLL, 0.0) for i in range(3)]
    results += [guard.update(0.0, T0 + i * POLL, 0.0) for i in range(3, 13)]
    assert [r.decision for r in results[3:12]] == [Decision.HELD] * 9
    assert results[12].decision is Decision.RESET
    assert results[12].reason is Reason.SUSTAINED
    assert {r.value for r in results[1:]} == {5000.0}
    results = [guard.update(round(0.1 * i, 9), T0 + (12 + i) * POLL, 1200.0) for i in range(1, 5)]
    assert [r.decision for r in results] == [Decision.ACCEPTED] * 4
    assert results[-1].value == pytest.approx(5000.4)


def test_repeated_cached_values_then_catch_up_are_exact_with_power() -> None:
    """A dongle serving its cache repeats the counter for 3 polls, then catches up 2 kWh in one step (four
    polls at full power, beyond one poll's allowance): the energy measured meanwhile extends the allowance."""
    guard = CounterGuard(SPEC)
    shown = [START, START + 0.5, START + 0.5, START + 0.5, START + 0.5, START + 2.5]
    results = [guard.update(v, T0 + i * POLL, 6000.0 if i < 2 else 10_000.0) for i, v in enumerate(shown)]
    assert [r.decision for r in results[1:]] == [Decision.ACCEPTED] * 5
    assert results[-1].value == START + 2.5


def test_repeated_value_then_catch_up_without_power_counts_the_jump() -> None:
    """Without power: the counter reads 10,000.0 at 10:00 and again at 11:00 (a glitch equal to the level
    after an outage, or a cache), then 6 kWh more five minutes later, and grows on: the new level is
    confirmed, and its jump, which 10 kW can make since 10:00, is energy (not the 5 minutes' worth the new
    level's rate would suggest)."""
    guard = CounterGuard(SPEC)
    readings = [(T0 - POLL, START), (T0, START), (T0 + 12 * POLL, START)]
    readings += [(T0 + (13 + i) * POLL, START + 6.0 + 0.5 * i) for i in range(3)]
    results = [guard.update(raw, when) for when, raw in readings]
    assert [r.decision for r in results[3:]] == [Decision.HELD, Decision.HELD, Decision.RELEVELED]
    assert results[-1].gap_kwh == pytest.approx(6.0)
    assert results[-1].value == START + 7.0


def test_reset_after_cached_values_counts_the_energy_they_hid() -> None:
    """The counter repeats 10,002.0 for polls 4-6 (a cache) while 6 kW flow, then it restarts: the gap is
    measured from poll 4, where the repeated value was first seen, so the 1.5 kWh it hid are not lost."""
    shown = {5: true_counter(4), 6: true_counter(4)} | {
        poll: round(0.2 + 0.5 * (poll - 7), 9) for poll in range(7, 25)
    }
    day = scenario(shown)
    assert day.results[9].decision is Decision.RESET
    assert day.results[9].gap_kwh == pytest.approx(1.5)
    assert day.energy == pytest.approx(TRUE_KWH, abs=1e-6)


def test_reset_after_an_outage_counts_power_from_where_it_covers() -> None:
    """The value was first seen before a 1 h outage (no power known across it) and again after it; the
    counter is then replaced by one showing 1.0 kWh while nothing flows: the gap is measured from the last
    accepted reading, where power covers it (0 kWh), not guessed from the new counter's later rate."""
    guard = CounterGuard(SPEC)
    when = T0
    readings = [(START, 0.0), (START, 0.0)]
    results = []
    for raw, power in readings:
        results.append(guard.update(raw, when, power))
        when += POLL
    when += timedelta(hours=1)
    for raw, power in [(START, 0.0), (1.0, 0.0), (1.0, 0.0), (1.0, 0.0), (1.5, 6000.0), (2.0, 6000.0)]:
        results.append(guard.update(raw, when, power))
        when += POLL
    reset = next(r for r in results if r.decision is Decision.RESET)
    assert reset.gap_kwh == 0.0
    assert results[-1].value == pytest.approx(START + 1.0)


def test_duplicates_are_ignored() -> None:
    guard = CounterGuard(SPEC)
    guard.update(START, T0, POWER_W)
    guard.update(START + 0.5, T0 + POLL, POWER_W)
    again = guard.update(START + 0.5, T0 + POLL, POWER_W)
    assert again.decision is Decision.OUT_OF_ORDER
    assert guard.update(START + 9.0, T0, POWER_W).decision is Decision.OUT_OF_ORDER  # older than the last one
    assert guard.update(START + 1.0, T0 + 2 * POLL, POWER_W).value == START + 1.0


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (math.nan, Reason.NOT_FINITE),
        (math.inf, Reason.NOT_FINITE),
        (-0.1, Reason.NEGATIVE),
        (-1.7e38, Reason.NEGATIVE),
        (1.7e38, Reason.BEYOND_WIDTH),
        (429_496_729.5, Reason.SENTINEL),  # 0xFFFFFFFF x 0.1
    ],
)
def test_impossible_values_are_rejected(raw: float, reason: Reason) -> None:
    day = scenario({10: raw})
    assert day.decisions() == {10: (Decision.REJECTED, reason)}
    assert day.results[10].episode_started
    assert day.results[10].rejected == 1
    assert day.energy == pytest.approx(TRUE_KWH, abs=1e-6)


def test_fuzzed_float_counter_never_becomes_a_value() -> None:
    """An Eastron float counter decoded from garbage: nothing is published until two readings agree."""
    guard = CounterGuard(CounterSpec(width=CounterWidth.single_float(0.01), rated_power_w=100_000))
    results = [guard.update(v, T0 + i * POLL) for i, v in enumerate([1.7e38, -1.7e38, 3.1e9, 812.25, 9.5e8])]
    assert [r.value for r in results] == [None] * 5
    assert [r.reason for r in results] == [
        Reason.BEYOND_WIDTH,
        Reason.NEGATIVE,
        Reason.BEYOND_WIDTH,
        Reason.UNCONFIRMED,
        Reason.UNCONFIRMED,
    ]
    assert guard.update(9.5e8 + 0.5, T0 + 5 * POLL).value == 9.5e8 + 0.5  # 1 TWh is still possible


def test_signed_counter_has_only_its_non_negative_half_and_no_wrap() -> None:
    """Huawei's meter totals are int32 x 0.01 kWh: a value read as negative (its top bit set) is refused,
    and there is no wrap for the guard to follow."""
    width = CounterWidth.for_dtype(DataType.S32, 0.01)
    assert width == CounterWidth.signed(32, 0.01)
    assert width.max_kwh == pytest.approx((2**31 - 1) * 0.01)
    assert (width.modulus_kwh, width.sentinel_kwh) == (None, None)
    assert CounterWidth.for_dtype(DataType.S16, 0.1).max_kwh == pytest.approx(3276.7)
    assert CounterWidth.for_dtype(DataType.S64, 0.01).max_kwh == MAX_PLAUSIBLE_KWH
    guard = CounterGuard(CounterSpec(width=width, rated_power_w=RATED_W))
    results = [guard.update(v, T0 + i * POLL, POWER_W) for i, v in enumerate([812.25, 812.75, -0.01, 813.25])]
    assert [r.value for r in results] == [None, 812.75, 812.75, 813.25]
    assert results[2].reason is Reason.NEGATIVE
    assert guard.update(width.max_kwh + 0.01, T0 + 4 * POLL, POWER_W).reason is Reason.BEYOND_WIDTH


def test_first_reading_waits_for_one_that_agrees() -> None:
    guard = CounterGuard(SPEC)
    first = guard.update(START + TORN, T0, POWER_W)  # a torn first reading
    assert (first.value, first.decision, first.reason, first.episode_started) == (
        None,
        Decision.HELD,
        Reason.UNCONFIRMED,
        False,
    )
    second = guard.update(START + 0.5, T0 + POLL, POWER_W)
    assert (second.value, second.reason, second.episode_started) == (None, Reason.UNCONFIRMED, True)
    third = guard.update(START + 1.0, T0 + 2 * POLL, POWER_W)
    assert (third.value, third.decision, third.rejected) == (START + 1.0, Decision.ACCEPTED, 1)


def test_long_outage_allows_the_growth_of_its_duration() -> None:
    """6 hours without a reading at 6 kW: 36 kWh in one step is what the device did, so it counts."""
    guard = CounterGuard(SPEC)
    guard.update(START, T0, POWER_W)
    guard.update(START + 0.5, T0 + POLL, POWER_W)
    after = guard.update(START + 36.5, T0 + POLL + timedelta(hours=6), POWER_W)
    assert (after.decision, after.value) == (Decision.ACCEPTED, START + 36.5)


def test_torn_read_after_a_long_outage_is_still_refused() -> None:
    guard = CounterGuard(SPEC)
    guard.update(START, T0, POWER_W)
    guard.update(START + 0.5, T0 + POLL, POWER_W)
    after = guard.update(START + 36.5 + TORN, T0 + POLL + timedelta(hours=6), POWER_W)
    assert (after.decision, after.reason) == (Decision.HELD, Reason.TOO_FAST)


def test_growth_that_contradicts_the_power_is_no_reset() -> None:
    """A lower level growing 0.1 kWh per poll while the power says 0.5 kWh is not the counter (the ratio is
    below 1/2): it waits until max_hold_samples."""
    guard = CounterGuard(SPEC)
    guard.update(START, T0, POWER_W)
    guard.update(START + 0.5, T0 + POLL, POWER_W)
    results = [guard.update(round(0.1 * i, 9), T0 + (1 + i) * POLL, POWER_W) for i in range(1, 11)]
    assert [r.decision for r in results[:-1]] == [Decision.HELD] * 9
    assert (results[-1].decision, results[-1].reason) == (Decision.RESET, Reason.SUSTAINED)


def test_too_low_rated_power_is_learned_not_frozen() -> None:
    """The device says 1 kW but produces 6 kW from the start: no two readings agree, so after max_hold_samples
    the run that never went down is taken and its rate learned; the counter is then followed exactly."""
    guard = CounterGuard(CounterSpec(width=U32, rated_power_w=1000.0))
    results = [guard.update(true_counter(poll), T0 + poll * POLL) for poll in range(-1, 25)]
    assert [r.reason for r in results[:9]] == [Reason.UNCONFIRMED] * 9
    assert (results[9].decision, results[9].reason) == (Decision.ACCEPTED, Reason.SUSTAINED)
    assert results[9].value == true_counter(8)
    assert guard.learned_power_w == pytest.approx(6000.0)
    assert guard.power_w == pytest.approx(6000.0)
    assert all(r.decision is Decision.ACCEPTED and r.reason is None for r in results[10:])
    assert results[-1].value == true_counter(24)


def test_rated_power_outgrown_later_is_learned_with_the_gap_estimated() -> None:
    """1 kW rated, right while the device makes 600 W; then it makes 6 kW: held, taken after max_hold_samples
    with the jump's energy estimated from the run's rate (exact here), and followed from then on."""
    guard = CounterGuard(CounterSpec(width=U32, rated_power_w=1000.0))
    shown = [round(START + 0.05 * i, 9) for i in range(4)]  # 600 W
    shown += [round(shown[-1] + 0.5 * i, 9) for i in range(1, 21)]  # 6 kW
    results = [guard.update(v, T0 + i * POLL) for i, v in enumerate(shown)]
    assert [r.decision for r in results[4:13]] == [Decision.HELD] * 9
    relevel = results[13]
    assert (relevel.decision, relevel.reason, relevel.gap_kwh) == (Decision.RELEVELED, Reason.SUSTAINED, 0.5)
    assert all(r.decision is Decision.ACCEPTED for r in results[14:])
    first, last = results[1].value, results[-1].value
    assert first is not None
    assert last is not None
    assert last - first == pytest.approx(shown[-1] - shown[1], abs=1e-6)


def test_restart_through_json_is_exact() -> None:
    """Home Assistant restarts at poll 12 and is down for 30 minutes: the state restores, nothing is lost."""
    first = CounterGuard(SPEC)
    values = {}
    for poll in range(-1, 13):
        values[poll] = first.update(true_counter(poll), T0 + poll * POLL, POWER_W).value
    second = CounterGuard(SPEC)
    assert second.restore(json.loads(json.dumps(first.to_state())))
    assert second.value == values[12]
    for poll in range(19, 25):
        values[poll] = second.update(true_counter(poll), T0 + poll * POLL, POWER_W).value
    assert values[24] - values[0] == pytest.approx(TRUE_KWH)


def test_restart_while_a_reset_is_being_confirmed() -> None:
    """The state holds the pending level too: a restart between the reset and its confirmation changes
    nothing."""
    steady = scenario(NEW_COUNTER)
    guard = CounterGuard(SPEC)
    for poll in range(-1, 14):
        shown = NEW_COUNTER.get(poll, true_counter(poll))
        assert guard.update(shown, T0 + poll * POLL, POWER_W) == steady.results[poll]
    assert guard.held == 2
    restored = CounterGuard(SPEC)
    assert restored.restore(json.loads(json.dumps(guard.to_state())))
    assert restored.held == 2
    for poll in range(14, 25):
        assert restored.update(NEW_COUNTER[poll], T0 + poll * POLL, POWER_W) == steady.results[poll]


def test_a_reading_after_a_held_dip_is_no_wrap() -> None:
    """A 16-bit counter near its top resets (a pending level at 3000 kWh), then shows a boot-time 0 for
    three polls. The first 0 does not fit a wrap yet; the second did, once the allowance had grown, and was
    taken as one (6.2 kWh that never flowed). Like a reading that continues held ones, a reading that
    continues the held one below them is a reset candidate, never a wrap."""
    spec = CounterSpec(width=CounterWidth.unsigned(16, 0.1), rated_power_w=RATED_W)
    guard = CounterGuard(spec)
    shown = [6546.8, 6547.3, 6547.8, 3000.0, 3000.5, 0.0, 0.0, 0.0, 0.5, 1.0]
    results = [guard.update(raw, T0 + i * POLL) for i, raw in enumerate(shown)]
    assert Decision.WRAPPED not in {r.decision for r in results}
    assert results[8].decision is Decision.RESET
    assert results[-1].value == pytest.approx(6547.8 + 1.0)


def test_restart_between_boot_time_zeros_while_a_reset_is_confirmed() -> None:
    """The zeros below the pending level are state too: a restart between them changes nothing, and a state
    written before repeats were kept (no "dips") still restores."""
    shown = {**NEW_COUNTER, RESET_AT + 1: 0.0, RESET_AT + 2: 0.0, RESET_AT + 3: 0.0}
    steady = scenario(shown)
    guard = CounterGuard(SPEC)
    for poll in range(-1, RESET_AT + 3):
        assert (
            guard.update(shown.get(poll, true_counter(poll)), T0 + poll * POLL, POWER_W)
            == steady.results[poll]
        )
    state = json.loads(json.dumps(guard.to_state()))
    assert state["streak"]["dips"] == 1
    restored = CounterGuard(SPEC)
    assert restored.restore(state)
    for poll in range(RESET_AT + 3, 25):
        assert restored.update(shown[poll], T0 + poll * POLL, POWER_W) == steady.results[poll]
    assert steady.energy == pytest.approx(TRUE_KWH, abs=1e-6)
    assert steady.guard.rejected == 3  # the zeros
    del state["streak"]["dips"]
    assert CounterGuard(SPEC).restore(state)


def test_a_second_reset_that_stands_still_is_taken_as_before() -> None:
    """A reset's pending level, then a second reset whose counter stands still (no sun): the repeated lower
    value is no glitch that ends; after max_hold_samples readings it is the level, as a second reset always
    was, and the dropped pending level is counted as rejected."""
    shown = {poll: 0.2 if poll < RESET_AT + 2 else 0.0 for poll in range(RESET_AT, 25)}
    day = scenario(shown, power_w=None)
    reset = RESET_AT + 2 + SPEC.max_hold_samples - 1
    assert day.results[reset - 1].decision is Decision.HELD
    assert (day.results[reset].decision, day.results[reset].reason) == (Decision.RESET, Reason.SUSTAINED)
    assert day.results[reset].rejected == 2  # the first reset's two readings


def test_a_held_level_that_goes_down_is_dropped() -> None:
    """A torn read, then a stale lower value: two different glitches, each dropped and counted."""
    day = scenario({10: true_counter(10) + TORN, 11: true_counter(8)})
    assert day.decisions() == {10: (Decision.HELD, Reason.TOO_FAST), 11: (Decision.HELD, Reason.BACKWARD)}
    # The stale value, below the torn read's streak, waits for the next reading to tell a glitch from a new
    # level; the good reading after it drops both.
    assert day.results[11].rejected == 0
    assert day.results[12].rejected == 2
    assert day.energy == pytest.approx(TRUE_KWH, abs=1e-6)


def test_restore_refuses_garbage_and_keeps_its_state() -> None:
    guard = scenario().guard
    before = guard.to_state()
    broken = json.loads(json.dumps(before))
    broken["ref"]["raw"] = -5.0
    no_power = json.loads(json.dumps(before))
    no_power["power"] = {"version": 1}
    power_missing = {key: value for key, value in before.items() if key != "power"}  # raised KeyError
    inconsistent = json.loads(json.dumps(before))
    inconsistent["total"] = None
    bad_mark = json.loads(json.dumps(before))
    bad_mark["since"] = [1.0, 2]
    short_mark = json.loads(json.dumps(before))
    short_mark["ref"]["mark"] = [1.0, 2]
    no_mark = json.loads(json.dumps(before))
    no_mark["ref"]["mark"] = None
    bad_streak = {**before, "streak": {"first": None, "last": None, "count": 0, "within": True}}
    reading = before["ref"]
    dips_without_dip = {
        **before,
        "streak": {"first": reading, "last": reading, "count": 1, "within": True, "dip": None, "dips": 2},
    }
    for state in (
        None,
        {},
        {"version": 99},
        broken,
        no_power,
        power_missing,
        inconsistent,
        bad_mark,
        short_mark,
        no_mark,
        bad_streak,
        dips_without_dip,
        {**before, "episode": "no"},
        {**before, "learned_w": -1.0},
    ):
        assert not guard.restore(state)
        assert guard.to_state() == before


def test_seed_continues_an_earlier_published_value() -> None:
    """A guard without state, after a sensor that published (and held) a torn read: the total continues from
    it, counting only growth, so the published series never steps back."""
    guard = CounterGuard(SPEC)
    assert guard.seed(START + TORN)
    assert guard.value == START + TORN
    guard.update(START, T0, POWER_W)
    result = guard.update(START + 0.5, T0 + POLL, POWER_W)
    assert result.value == START + TORN + 0.5
    assert not guard.seed(99_999.0)  # it has a level now

    lower = CounterGuard(SPEC)
    assert lower.seed(START - 100.0)
    lower.update(START, T0, POWER_W)
    assert lower.update(START + 0.5, T0 + POLL, POWER_W).value == START + 0.5
    assert not CounterGuard(SPEC).seed(math.nan)


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        CounterGuard(SPEC).update(1.0, datetime(2026, 6, 21, 10, 0))


def test_widths() -> None:
    assert U32.modulus_kwh == pytest.approx(429_496_729.6)
    assert U32.sentinel_kwh == pytest.approx(429_496_729.5)
    u64 = CounterWidth.for_dtype(DataType.U64, 0.01)
    assert u64.max_kwh == MAX_PLAUSIBLE_KWH
    summed = CounterWidth.unsigned(32, 0.001, terms=3)  # three SunSpec acc32 Wh ports
    assert summed.sentinel_kwh is None
    assert summed.max_kwh == pytest.approx(3 * (2**32 - 2) * 0.001)
    assert CounterWidth.for_dtype(DataType.ACC32, 0.001).modulus_kwh == pytest.approx(4_294_967.296)
    assert CounterWidth.for_dtype(DataType.U16, 0.1).modulus_kwh == pytest.approx(6553.6)
    floats = CounterWidth.for_dtype(DataType.F32, 0.01)
    assert floats.modulus_kwh is None
    assert floats.step_at(100.0) == 0.01
    assert floats.step_at(1_000_000.0) == 0.0625  # a float32 near 1 GWh counts in 1/16 kWh steps
    with pytest.raises(ValueError, match="not a counter"):
        CounterWidth.for_dtype(DataType.ENUM16, 1.0)
    with pytest.raises(ValueError, match="bits"):
        CounterWidth.unsigned(24, 0.1)
    with pytest.raises(ValueError, match="bits"):
        CounterWidth.signed(8, 0.1)
    with pytest.raises(ValueError, match="resolution"):
        CounterWidth(resolution_kwh=0)
    with pytest.raises(ValueError, match="max_kwh"):
        CounterWidth(resolution_kwh=0.1, max_kwh=math.inf)
    with pytest.raises(ValueError, match="modulus"):
        CounterWidth(resolution_kwh=0.1, modulus_kwh=0.1)


def test_specs() -> None:
    with pytest.raises(ValueError, match="rated_power_w"):
        CounterSpec(width=U32, rated_power_w=0)
    with pytest.raises(ValueError, match="margin"):
        CounterSpec(width=U32, rated_power_w=1, margin=0.5)
    with pytest.raises(ValueError, match="confirm_samples"):
        CounterSpec(width=U32, rated_power_w=1, confirm_samples=5, max_hold_samples=4)
    with pytest.raises(ValueError, match="max_power_gap"):
        CounterSpec(width=U32, rated_power_w=1, max_power_gap=timedelta(0))


def test_rated_power_from_the_device_or_the_role() -> None:
    assert rated_power_w(Role.INVERTER, 10_000) == 10_000
    assert rated_power_w(Role.INVERTER, None) == DEFAULT_RATED_POWER_W[Role.INVERTER]
    assert rated_power_w(Role.INVERTER, 0) == DEFAULT_RATED_POWER_W[Role.INVERTER]  # an unset register
    assert rated_power_w(Role.METER, math.nan) == DEFAULT_RATED_POWER_W[Role.METER]
    assert rated_power_w(Role.BATTERY, 5e9) == DEFAULT_RATED_POWER_W[Role.BATTERY]
