"""DailyCounter: energy since local midnight from a device's daily counter (PV energy today)."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from custom_components.sems.plantkit.energy import (
    CounterSpec,
    CounterWidth,
    DailyCounter,
    Decision,
    GuardResult,
    Reason,
)

BERLIN = ZoneInfo("Europe/Berlin")
SPEC = CounterSpec(width=CounterWidth.unsigned(32, 0.1), rated_power_w=10_000.0)  # GoodWe ET e_day
POLL = timedelta(minutes=5)
YESTERDAY = 25.3  # kWh the device still shows after midnight


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """Local time in Berlin on 2026-06-<day>."""
    return datetime(2026, 6, day, hour, minute, second, tzinfo=BERLIN)


def feed(counter: DailyCounter, readings: list[tuple[datetime, float | None]]) -> list[GuardResult]:
    return [counter.update(raw, when, None) for when, raw in readings]


def evening(counter: DailyCounter, total: float = YESTERDAY) -> None:
    """Day 20 ends at `total` kWh at 20:00."""
    feed(counter, [(at(20, 19, 50), round(total - 0.1, 9)), (at(20, 19, 55), total), (at(20, 20, 0), total)])
    assert counter.value == total


def test_sleeping_inverter_over_midnight() -> None:
    """The inverter sleeps from 20:00; at 06:00 it wakes showing yesterday's 25.3 kWh for three polls, then
    resets its counter to 0: today reads 0 from midnight on and counts only today's growth."""
    counter = DailyCounter(SPEC, BERLIN)
    evening(counter)
    assert feed(counter, [(at(20, 23, 30), None)])[0].value == YESTERDAY  # still the 20th
    midnight = feed(counter, [(at(21, 0, 0, 30), None)])[0]  # Home Assistant polls, the inverter sleeps
    assert (midnight.value, midnight.decision) == (0.0, Decision.NO_VALUE)
    assert counter.day == date(2026, 6, 21)
    morning = feed(
        counter,
        [
            (at(21, 6, 0), YESTERDAY),
            (at(21, 6, 5), YESTERDAY),
            (at(21, 6, 10), YESTERDAY),
            (at(21, 6, 15), 0.0),
            (at(21, 6, 20), 0.1),
            (at(21, 6, 25), 0.3),
        ],
    )
    assert [r.value for r in morning] == [0.0, 0.0, 0.0, 0.0, 0.1, 0.3]
    assert (morning[3].decision, morning[3].reason) == (Decision.RESET, Reason.DAILY)
    assert counter.rejected == 0


def test_yesterdays_value_growing_before_the_device_resets_counts_only_the_growth() -> None:
    """Some firmware keeps counting on yesterday's total until it resets later in the morning."""
    counter = DailyCounter(SPEC, BERLIN)
    evening(counter)
    results = feed(
        counter,
        [(at(21, 6, 0), YESTERDAY), (at(21, 6, 5), 25.4), (at(21, 6, 10), 25.6), (at(21, 6, 15), 0.1)],
    )
    assert [r.value for r in results] == pytest.approx([0.0, 0.1, 0.3, 0.4])
    assert results[-1].reason is Reason.DAILY


def test_sunrise_strobe() -> None:
    """GoodWe at sunrise: yesterday's value and 0 alternate a few times before the counter settles."""
    counter = DailyCounter(SPEC, BERLIN)
    evening(counter)
    strobe = [YESTERDAY, 0.0, YESTERDAY, 0.0, YESTERDAY, 0.1, 0.2]
    results = feed(counter, [(at(21, 6, 0) + i * POLL, v) for i, v in enumerate(strobe)])
    assert [r.value for r in results] == [0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.2]
    assert [r.decision for r in results][1:5] == [
        Decision.RESET,
        Decision.HELD,
        Decision.ACCEPTED,
        Decision.HELD,
    ]


def test_sunrise_strobe_after_a_dull_day() -> None:
    """Yesterday made only 1.2 kWh (snow, or a reboot late in the afternoon): shown again right after the
    reset it fits the allowance for growth, but it is yesterday's value, not today's energy; taken, the real
    counter below it became a reset and today counted yesterday's 1.2 kWh again."""
    counter = DailyCounter(SPEC, BERLIN)
    evening(counter, 1.2)
    strobe = [1.2, 0.0, 1.2, 0.0, 1.2, 0.1, 0.2, 0.3, 0.4]
    results = feed(counter, [(at(21, 6, 0) + i * POLL, v) for i, v in enumerate(strobe)])
    assert [r.value for r in results] == [0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.2, 0.3, 0.4]
    assert results[1].reason is Reason.DAILY


@pytest.mark.parametrize("clock_offset_minutes", [-10, 10])
def test_awake_device_resetting_at_its_own_midnight(clock_offset_minutes: int) -> None:
    """A hybrid inverter stays awake and resets its counter at its own midnight, 10 minutes off ours."""
    counter = DailyCounter(SPEC, BERLIN)
    evening(counter)
    device_midnight = at(21, 0) + timedelta(minutes=clock_offset_minutes)
    readings = []
    when = at(20, 23, 30)
    while when < at(21, 0, 40):
        readings.append((when, YESTERDAY if when < device_midnight else 0.0))
        when += POLL
    results = feed(counter, readings)
    for (when, _), result in zip(readings, results, strict=True):
        expected = YESTERDAY if when < at(21, 0) else 0.0
        assert result.value == expected, when
    assert [r.reason for r in results].count(Reason.DAILY) == 1


def test_a_device_clock_hours_off_resets_while_the_sun_shines() -> None:
    """An inverter whose clock runs on China time (UTC+8) resets its daily counter at 18:00 in Berlin, in
    the middle of production (6 kW). Its reset at 18:03 falls between two polls: the new counter holds
    0.2 kWh, the old one counted 0.3 kWh after the 18:00 reading that no reading shows, and the measured power
    counts the whole 0.5 kWh of 18:00-18:05 (the counter alone lost 0.3 kWh every day)."""
    counter = DailyCounter(SPEC, BERLIN)
    feed(counter, [(at(20, 20, 0), 4.0), (at(20, 20, 5), 4.0)])  # the device's day began at 18:00
    readings = [(at(21, 12) + i * POLL, round(4.0 + 0.5 * i, 1)) for i in range(73)]  # to 40.0 at 18:00
    readings += [(at(21, 18, 5), 0.2), (at(21, 18, 10), 0.7), (at(21, 18, 15), 1.2)]
    results = [counter.update(raw, when, 6000.0) for when, raw in readings]
    assert results[72].value == pytest.approx(36.0)
    assert results[73].reason is Reason.DAILY
    assert [r.value for r in results[73:]] == pytest.approx([36.5, 37.0, 37.5])


def test_restart_before_midnight_resumes_after_it() -> None:
    counter = DailyCounter(SPEC, BERLIN)
    evening(counter)
    state = json.loads(json.dumps(counter.to_state()))
    restored = DailyCounter(SPEC, BERLIN)  # Home Assistant back at 05:00
    assert restored.restore(state)
    assert restored.value == YESTERDAY
    assert restored.update(None, at(21, 5, 0)).value == 0.0  # roll over before the first reading
    results = feed(restored, [(at(21, 6, 0), YESTERDAY), (at(21, 6, 5), 0.0), (at(21, 6, 10), 0.2)])
    assert [r.value for r in results] == [0.0, 0.0, 0.2]


def test_restart_after_midnight_keeps_the_day() -> None:
    counter = DailyCounter(SPEC, BERLIN)
    evening(counter)
    feed(counter, [(at(21, 0, 30), None)])
    restored = DailyCounter(SPEC, BERLIN)
    assert restored.restore(json.loads(json.dumps(counter.to_state())))
    assert restored.value == 0.0
    results = feed(restored, [(at(21, 6, 0), YESTERDAY), (at(21, 6, 5), 0.1)])
    assert [r.value for r in results] == [0.0, 0.1]
    assert results[1].reason is Reason.DAILY


def test_restart_across_the_wake_up_is_the_one_ambiguous_case() -> None:
    """Home Assistant down from 20:00 to 11:00 while the inverter woke, reset and made 30 kWh: 30 > 25.3 looks
    like yesterday's counter grown, so today misses the morning; later growth counts (documented)."""
    counter = DailyCounter(SPEC, BERLIN)
    evening(counter)
    restored = DailyCounter(SPEC, BERLIN)
    assert restored.restore(json.loads(json.dumps(counter.to_state())))
    results = feed(restored, [(at(21, 11, 0), 30.0), (at(21, 11, 5), 30.4)])
    assert [r.value for r in results] == pytest.approx([0.0, 0.4])


def test_first_reading_ever_is_todays_value() -> None:
    """Installed at noon: the device's 12.3 kWh so far today is today's value once a second reading agrees."""
    counter = DailyCounter(SPEC, BERLIN)
    results = feed(counter, [(at(21, 12, 0), 12.3), (at(21, 12, 5), 12.6)])
    assert [r.value for r in results] == [None, 12.6]


def test_glitches_during_the_day_follow_the_guard() -> None:
    counter = DailyCounter(SPEC, BERLIN)
    shown: list[float | None] = [5.0, 5.2, 5.2 + 6553.6, 5.6, 0.0, 0.0, 6.2, None, 6.6, float("nan"), 7.0]
    results = feed(counter, [(at(21, 12) + i * POLL, v) for i, v in enumerate(shown)])
    assert [r.value for r in results] == [None, 5.2, 5.2, 5.6, 5.6, 5.6, 6.2, 6.2, 6.6, 6.6, 7.0]
    assert [r.reason for r in results if r.decision is not Decision.ACCEPTED][1:] == [
        Reason.TOO_FAST,
        Reason.DROP_TO_ZERO,
        Reason.DROP_TO_ZERO,
        None,  # no value
        Reason.NOT_FINITE,
    ]
    assert counter.rejected == 4


def test_a_mid_day_drop_is_no_daily_reset() -> None:
    """The day's reset is expected once: after it, a reboot's 0 is held like any drop."""
    counter = DailyCounter(SPEC, BERLIN)
    evening(counter)
    shown = [0.0, 0.5, 1.0, 0.0, 1.6]
    results = feed(counter, [(at(21, 7) + i * POLL, v) for i, v in enumerate(shown)])
    assert [r.value for r in results] == [0.0, 0.5, 1.0, 1.0, 1.6]
    assert results[3].reason is Reason.DROP_TO_ZERO


def test_a_reboot_during_the_day_counts_its_gap_from_power() -> None:
    """At noon the inverter reboots and its daily counter restarts from 0 (at 12:04, 0.1 kWh counted since)
    while 6 kW flow: the reset is confirmed, and the 0.5 kWh of 12:00-12:05 come from the measured power (the
    old counter's 0.4 kWh after the last reading are in no reading)."""
    counter = DailyCounter(SPEC, BERLIN)
    shown = [20.0, 20.5, 21.0, 0.1, 0.6, 1.1, 1.6]
    results = [counter.update(v, at(21, 11, 50) + i * POLL, 6000.0) for i, v in enumerate(shown)]
    decisions = [Decision.HELD, Decision.HELD, Decision.RESET, Decision.ACCEPTED]
    assert [r.decision for r in results[3:]] == decisions
    assert results[5].gap_kwh == pytest.approx(0.5)
    assert [r.value for r in results[2:]] == pytest.approx([21.0, 21.0, 21.0, 22.5, 23.0])


def test_midnight_is_local_also_on_a_daylight_saving_day() -> None:
    """Berlin springs forward on 2026-03-29: local midnight is 23:00 UTC the day before."""
    counter = DailyCounter(SPEC, BERLIN)
    afternoon = datetime(2026, 3, 28, 16, 0, tzinfo=UTC)
    feed(counter, [(afternoon, 9.9), (afternoon + POLL, 10.0)])
    assert counter.update(None, datetime(2026, 3, 28, 22, 59, tzinfo=UTC)).value == 10.0
    assert counter.day == date(2026, 3, 28)
    assert counter.update(None, datetime(2026, 3, 28, 23, 0, tzinfo=UTC)).value == 0.0
    assert counter.day == date(2026, 3, 29)


def test_yesterdays_value_for_long_after_the_reset_changes_nothing() -> None:
    """The counter reset at once, then the device showed yesterday's value for an hour: that level is taken
    after max_hold_samples (its jump not counted), and the real counter afterwards is a reset again."""
    counter = DailyCounter(SPEC, BERLIN)
    evening(counter)
    shown = [0.0] + [YESTERDAY] * 10 + [0.3, 0.4, 0.6, 0.8]
    results = feed(counter, [(at(21, 6) + i * POLL, v) for i, v in enumerate(shown)])
    assert [(r.decision, r.reason) for r in results if r.decision is not Decision.HELD] == [
        (Decision.RESET, Reason.DAILY),
        (Decision.RELEVELED, Reason.SUSTAINED),
        (Decision.RESET, Reason.CONFIRMED),
        (Decision.ACCEPTED, None),
    ]
    assert [r.value for r in results][-5:] == pytest.approx([0.0, 0.0, 0.0, 0.6, 0.8])


def test_restore_refuses_garbage() -> None:
    counter = DailyCounter(SPEC, BERLIN)
    evening(counter)
    before = counter.to_state()
    for state in (
        None,
        {"version": 2},
        {**before, "day": "yesterday"},
        {**before, "base": None},
        {**before, "guard": {}},
        {**before, "guard": {**before["guard"], "expect_since": 5}},
        {**before, "guard": {**before["guard"], "yesterday": "1.2"}},
        {**before, "guard": {**before["guard"], "total": "25.3"}},
    ):
        assert not counter.restore(state)
        assert counter.to_state() == before


# --- property: several days of any device, glitches and restarts -------------------------------------------
#
# The device's internal counter restarts at wake-up (a sleeping inverter) or at the device's own midnight (an
# awake hybrid, its clock up to 15 minutes off), and at night no energy flows, so the true energy since local
# midnight is what the internal counter holds. Preconditions: the first readings are good (two agreeing
# glitches would be a level like any other), and a restart of Home Assistant does not span a restart of the
# device's counter: not the inverter's wake-up (if it did, and the day's energy had passed yesterday's total
# by the first reading, a reset followed by growth could not be told from growth of yesterday's counter),
# nor an awake device's own midnight (the energy between the last reading and that midnight is in no
# reading). A device that reboots during the day (its counter restarts from 0 at a random moment between two
# readings) does so in full daylight, at least an hour after wake-up and before sunset, after it has counted
# 1 kWh (a smaller drop is indistinguishable from growth), and its readings carry the measured power. Where a
# glitch cannot be told from the reboot, it is left out: none right before it (a glitch's 0 followed by the
# reboot's 0 is one streak that starts a reading early), none at its first reading (a 0 there is what a
# reboot shows), at most one more while it is confirmed (a torn or stale value above the new counter and then
# a 0 look like a second reset), and no restart of Home Assistant around it.


@dataclass
class Reading:
    when: datetime
    raw: float | None
    truth_today: float  # energy since local midnight, kWh
    restart: bool = False
    reports: bool = True  # the reading shows today's counter (not a glitch, no strobe, not None)
    power_w: float | None = None  # the measured PV power, where the trace carries it


@dataclass
class Days:
    awake: bool
    readings: list[Reading] = field(default_factory=list)
    reboots: Counter[date] = field(default_factory=Counter)  # reboots of the device per local day


def build_days(
    seed: int, awake: bool, clock_offset_minutes: int, first_day: date, n_days: int, *, reboots: bool = False
) -> Days:
    """Days of a sleeping or an always-awake inverter; weather, glitches and restarts from ``seed``; with
    ``reboots``, the device also reboots mid-day now and then, and every reading carries the power."""
    rnd = random.Random(seed)
    trace = Days(awake=awake)
    clock_offset = timedelta(minutes=clock_offset_minutes)

    def local(day: date, hours: float) -> datetime:
        return datetime.combine(day, time(), tzinfo=BERLIN) + timedelta(hours=hours)

    suns = {}
    for i in range(n_days):
        day = first_day + timedelta(days=i)
        suns[day] = (local(day, rnd.uniform(5.5, 7.5)), local(day, rnd.uniform(19.5, 21.5)))

    def daylight(when: datetime) -> bool:
        wake, sleep = suns[when.astimezone(BERLIN).date()]
        return wake <= when <= sleep

    def wake_of(when: datetime) -> datetime:
        return suns[when.astimezone(BERLIN).date()][0]

    def sunset_of(when: datetime) -> datetime:
        return suns[when.astimezone(BERLIN).date()][1]

    when = local(first_day, 10.0)
    internal = truth = rnd.uniform(0, 20)  # the device's counter and today's true energy, kWh
    power = rnd.uniform(0, 8000)
    asleep = False
    strobe: list[bool] = []  # after waking: True = shows yesterday's value, False = the counter
    yesterday = 0.0
    recent: list[float] = []
    quiet = 0  # readings after a reboot while it is confirmed
    glitched_since_reboot = False
    protected: list[tuple[int, int]] = []  # reading indexes a restart of Home Assistant must not touch

    def shown() -> float:
        return round(int(internal / 0.1 + 1e-9) * 0.1, 9)

    end = local(first_day + timedelta(days=n_days - 1), 23.0)
    while when < end:
        step = timedelta(seconds=rnd.randint(300, 600))
        after = when + step
        new_power = rnd.uniform(0, 8000) if daylight(after) and daylight(when) else 0.0
        energy = (power + new_power) / 2 * step.total_seconds() / 3600 / 1000 if daylight(after) else 0.0
        if after.astimezone(BERLIN).date() != when.astimezone(BERLIN).date():
            truth = 0.0  # local midnight; nothing flows at night
        today = when.astimezone(BERLIN).date()
        device_midnights = (local(day, 0.0) + clock_offset for day in (today, today + timedelta(days=1)))
        if awake and any(when < midnight <= after for midnight in device_midnights):
            internal = 0.0  # the device's own midnight
        rebooted = (
            reboots
            and not quiet
            and len(recent) == 3
            and trace.readings[-1].reports
            and daylight(when)
            and wake_of(when) + timedelta(hours=1) < when < sunset_of(when) - timedelta(hours=1)
            and internal >= 1.0
            and rnd.random() < 0.03
        )
        if rebooted:  # the counter restarts from 0 somewhere in the interval; only what follows is in it
            share_after = rnd.random()
            internal = (power + new_power) / 2 * step.total_seconds() * share_after / 3600 / 1000
            internal = 0.0 if energy == 0.0 else min(internal, energy)
            internal -= energy  # the line below adds the whole interval's energy back
            trace.reboots[after.astimezone(BERLIN).date()] += 1
            quiet = SPEC.max_hold_samples + 2
            glitched_since_reboot = False
            protected.append((len(trace.readings), len(trace.readings) + quiet))
        when, power = after, new_power
        internal += energy
        truth += energy
        if not awake:
            if not daylight(when):
                if not asleep:
                    asleep, yesterday = True, shown()
                if rnd.random() < 0.2:
                    trace.readings.append(Reading(when, None, truth, reports=False))  # polled asleep
                continue
            if asleep:  # wakes up: its counter restarts (nothing was produced yet)
                asleep, internal = False, 0.0
                strobe = [rnd.random() < 0.5 for _ in range(rnd.randint(0, 3))]
            if strobe and strobe.pop(0):
                trace.readings.append(Reading(when, yesterday, truth, reports=False))
                continue
        raw: float | None = shown()
        wake, sleep = suns[when.astimezone(BERLIN).date()]
        daytime = wake + timedelta(hours=1) < when < sleep - timedelta(hours=1)
        # The first readings are good. While a reboot is confirmed, its first reading is good (a boot-time
        # 0 there is what the reboot itself shows) and at most one other glitches.
        confirming = quiet == SPEC.max_hold_samples + 2 or (quiet > 0 and glitched_since_reboot)
        glitch = daytime and len(recent) == 3 and not confirming and rnd.random() < 0.05
        glitched_since_reboot = glitched_since_reboot or (glitch and quiet > 0)
        quiet = max(0, quiet - 1)
        if glitch:  # a boot-time 0, a torn read, a stale value or no value
            raw = rnd.choice([0.0, raw + 6553.6, recent[0], None])
        else:
            recent = [*recent[-2:], raw]
        measured = power if reboots else None
        trace.readings.append(Reading(when, raw, truth, reports=not glitch, power_w=measured))
    # The device's counter restarts at wake-up (sleeping) or at its own midnight (awake).
    if awake:
        restarts = [local(day, 0.0) + clock_offset for day in suns]
    else:
        restarts = [wake for wake, _ in suns.values()]
    if rnd.random() < 0.5:  # Home Assistant down for a while, not over a restart of the device's counter
        first = rnd.randint(0, len(trace.readings) - 2)
        last = min(first + rnd.randint(1, 40), len(trace.readings) - 1)
        span = (trace.readings[first].when, trace.readings[last].when)
        touches_a_reboot = any(first <= end and start <= last for start, end in protected)
        if not touches_a_reboot and not any(span[0] <= restart <= span[1] for restart in restarts):
            del trace.readings[first:last]
            trace.readings[first].restart = True
    for _ in range(rnd.randint(0, 4)):
        index = rnd.randrange(len(trace.readings))
        if not any(start <= index <= end for start, end in protected):
            trace.readings[index].restart = True
    return trace


@settings(max_examples=300, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    awake=st.booleans(),
    clock_offset_minutes=st.integers(-15, 15),
    first_day=st.sampled_from([date(2026, 3, 27), date(2026, 6, 20), date(2026, 10, 23)]),
    n_days=st.integers(2, 4),
    reboots=st.booleans(),
)
# A glitch equal to the accepted level after an outage moved the reference time on; the real counter's
# catch-up was then taken as a new level and the morning's energy lost (fixed in CounterGuard._gap_kwh).
@example(seed=24105, awake=True, clock_offset_minutes=0, first_day=date(2026, 3, 27), n_days=2, reboots=False)
# Home Assistant down across an awake device's own midnight (now excluded: that energy is in no reading).
@example(seed=216, awake=True, clock_offset_minutes=-1, first_day=date(2026, 3, 27), n_days=2, reboots=False)
# A reboot late in the afternoon left a small value; the sunrise strobe showing it after the reset was taken
# as growth and yesterday's 3.2 kWh counted again (fixed in _DailyGuard._judge).
@example(
    seed=979531, awake=False, clock_offset_minutes=13, first_day=date(2026, 3, 27), n_days=3, reboots=True
)
def test_any_days_publish_todays_energy(
    seed: int, awake: bool, clock_offset_minutes: int, first_day: date, n_days: int, reboots: bool
) -> None:
    """For a sleeping or an awake inverter with sunrise strobes, device midnights up to 15 minutes off ours,
    glitches, restarts and (with power measured) reboots during the day: the value never counts yesterday's
    energy (it is at most one counter step above today's true energy), never decreases within a local day,
    and ends each day within one counter step of the true energy at the day's last reading; each reboot of
    the device widens that by one step both ways (the new counter's first reading hides up to one more
    partial step; the power counts the reboot's gap)."""
    trace = build_days(seed, awake, clock_offset_minutes, first_day, n_days, reboots=reboots)
    counter = DailyCounter(SPEC, BERLIN)
    last: dict[date, tuple[float, float]] = {}
    previous: tuple[date, float] | None = None
    for reading in trace.readings:
        if reading.restart:
            restored = DailyCounter(SPEC, BERLIN)
            assert restored.restore(json.loads(json.dumps(counter.to_state())))
            counter = restored
        value = counter.update(reading.raw, reading.when, reading.power_w).value
        if value is None:
            continue
        local_day = reading.when.astimezone(BERLIN).date()
        steps = 1 + trace.reboots[local_day]
        assert value <= reading.truth_today + steps * 0.1 + 1e-6
        if previous is not None and previous[0] == local_day:
            assert value >= previous[1]
        previous = (local_day, value)
        if reading.reports:  # what the device last reported that day
            last[local_day] = (value, reading.truth_today)
    for day, (value, truth) in last.items():
        steps = 1 + trace.reboots[day]
        assert value == pytest.approx(truth, abs=steps * 0.1 + 1e-6)
