"""DeviceLedger: a device's energy books across a restart whose stored state does not fit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from custom_components.sems.plantkit.energy import CounterWidth
from custom_components.sems.plantkit.energy.ledger import DeviceLedger
from custom_components.sems.plantkit.model import DeviceIdentity, DeviceReading, Quantity, Role

T0 = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)
POLL = timedelta(seconds=30)
INVERTER = DeviceIdentity(Role.INVERTER, "goodwe_et", 247, "GoodWe", "GW10K-ET", "ET0000SN")
TOTAL = Quantity.PV_ENERGY_TOTAL


def ledger() -> DeviceLedger:
    return DeviceLedger(
        "inverter",
        10_000.0,
        {TOTAL: CounterWidth.unsigned(32, 0.1)},
        frozenset({TOTAL, Quantity.PV_POWER}),
        timezone=UTC,
        poll_interval=POLL,
    )


def record(books: DeviceLedger, index: int, total: float) -> float | None:
    reading = DeviceReading(INVERTER, {TOTAL: total, Quantity.PV_POWER: 6000.0})
    return books.record(reading, T0 + index * POLL)[TOTAL].value


def test_a_guard_state_that_does_not_restore_keeps_its_published_total() -> None:
    """The inverter was replaced: its new counter (from 0.0) continues the old total of 12345.6 kWh. After a
    restart whose stored guard state is unreadable (here a broken streak), the new guard knows only the
    published total: it continues from it instead of publishing the raw counter (a drop of 12345 kWh, which
    Home Assistant's statistics take as a meter reset and count 2.2 kWh of new energy over again)."""
    books = ledger()
    shown = [12345.6, 12345.6, 0.0, 0.0, 0.1, 0.1, 0.2, 0.3]
    published = [record(books, i, total) for i, total in enumerate(shown)]
    assert published[-1] is not None
    assert published[-1] > 12345.6
    state = json.loads(json.dumps(books.to_state()))
    state["guards"][str(TOTAL)]["streak"] = {"first": None}
    restarted = ledger()
    restarted.restore(state)
    after = [record(restarted, 20 + i, total) for i, total in enumerate([0.4, 0.5, 0.6])]
    assert after[0] is None or after[0] >= published[-1]
    assert after[-1] is not None
    assert after[-1] >= published[-1]
    assert after[-1] - published[-1] <= 0.3 + 1e-9  # only the new counter's growth


def test_fast_polling_integrates_across_a_failed_poll() -> None:
    """A SunSpec battery without energy counters, polled every 5 s (the fast preset), charges at 6 kW. One
    poll fails (a timeout): the readings around it are 17 s apart. Its energy is integrated as it is at the
    normal pace; only more than three 30 s polls without a reading end the line. The 17 s (0.028 kWh) were
    lost at every failed poll, the more the faster the polling."""
    battery = DeviceIdentity(Role.BATTERY, "sunspec", 1, "SunSpec", "Battery", "BAT0000SN")
    books = DeviceLedger(
        "battery",
        10_000.0,
        {},
        frozenset({Quantity.BATTERY_POWER}),
        timezone=UTC,
        poll_interval=timedelta(seconds=5),
    )
    charged = Quantity.BATTERY_CHARGE_ENERGY_CALCULATED
    values = []
    for seconds in (0, 5, 10, 27, 32, 37):
        reading = DeviceReading(battery, {Quantity.BATTERY_POWER: -6000.0})
        values.append(books.record(reading, T0 + timedelta(seconds=seconds))[charged].value)
    assert values[-1] == round(6.0 * 37 / 3600, 3)
