"""Load: 200 devices polled every 5 s over a simulated hour, through a real Mosquitto with TLS.

The hour is compressed (a poll round every few milliseconds), so aggregation, outbox writes, publishing
and acknowledgements all overlap with the polling. The receiver runs in a process of its own, so only the
uplink's work shares this interpreter. A probe measures how late the event loop wakes up; the numbers
are printed. Speed claims belong in ``scripts/bench``; this only guards the ceiling: the
uplink must not hold the event loop (p99 lag under 10 ms, under pytest's debug-mode event loop). The
ceiling is checked on the part of the lag during which this thread ran (CPU time), so a busy machine
(two test stacks side by side in CI) does not fail it; the wall-clock lag is printed beside it. Under a
line tracer (the coverage run) the CPU time measures the tracer, so the ceiling is checked only without.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from custom_components.sems.plantkit.uplink import (
    BrokerSettings,
    Category,
    Consent,
    SyncTerms,
    Uplink,
    UplinkConfig,
    UplinkSample,
)
from tests.broker import PLANT, PLANT_PASSWORD, PLANT_USER, Broker, Pki, SubscriberProcess

T0 = datetime(2026, 6, 21, 11, 0, tzinfo=UTC)
POLL = 5  # seconds between polls of every device
HOUR_POLLS = 3600 // POLL
PROBE_INTERVAL = 0.002

INVERTER = {
    "pv_power": 5200.0,
    "ac_power": 5000.0,
    "pv1_power": 2600.0,
    "pv2_power": 2600.0,
    "pv1_voltage": 380.0,
    "pv2_voltage": 376.0,
    "pv_energy_total": 12000.0,
    "ac_energy_total": 11500.0,
    "pv_energy_today": 20.0,
    "inverter_temperature": 41.0,
    "grid_frequency": 50.0,
}
BATTERY = {
    "battery_power": -900.0,
    "battery_soc": 60.0,
    "battery_voltage": 52.0,
    "battery_temperature": 25.0,
    "battery_charge_energy_total": 3000.0,
    "battery_discharge_energy_total": 2800.0,
}
METER = {
    "grid_power": -1500.0,
    "grid_power_l1": -500.0,
    "grid_power_l2": -500.0,
    "grid_power_l3": -500.0,
    "grid_voltage_l1": 231.0,
    "grid_voltage_l2": 230.0,
    "grid_voltage_l3": 229.0,
    "grid_import_energy_total": 4000.0,
    "grid_export_energy_total": 9000.0,
}
# 100 inverters, 50 batteries, 50 meters; per 5-minute period an inverter sends energy, power, grid,
# status and faults, a battery battery, status and faults, a meter grid, status and faults; each device
# sends its profile once.
DEVICES = (
    [(f"INV{n:04d}", "inverter", INVERTER) for n in range(100)]
    + [(f"INV{n:04d}", "battery", BATTERY) for n in range(50)]
    + [(f"INV{n:04d}", "meter", METER) for n in range(50, 100)]
)
EXPECTED = 12 * (100 * 5 + 50 * 3 + 50 * 3) + 200


@pytest.fixture
def broker(tmp_path: Path, socket_enabled: None) -> Iterator[Broker]:
    server = Broker(tmp_path / "broker", Pki.create(), save_every_change=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def poll_round(index: int) -> list[UplinkSample]:
    at = T0 + timedelta(seconds=POLL * index)
    grow = index / HOUR_POLLS
    return [
        UplinkSample(
            device_serial=serial,
            role=role,
            manufacturer="Sim",
            model=role,
            at=at,
            values={q: v + grow if "energy" in q else v + index % 7 for q, v in values.items()},
            status="running",
        )
        for serial, role, values in DEVICES
    ]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def test_200_devices_every_5_s_for_an_hour_keep_the_event_loop_responsive(
    broker: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver = SubscriberProcess(broker, tmp_path / "received")
    receiver.start()
    terms = SyncTerms.create(destination=broker.url, plant=PLANT, categories=list(Category), resolution=300)
    config = UplinkConfig(
        consent=Consent.grant(terms, at=T0),
        broker=BrokerSettings(
            url=broker.url, username=PLANT_USER, password=PLANT_PASSWORD, ca_pem=broker.pki.ca
        ),
        client_id="sems-load",
        device_key=b"k" * 32,
        directory=tmp_path / "outbox",
    )
    uplink = Uplink(config)
    loop = asyncio.get_running_loop()
    lags: list[float] = []  # how late the probe woke (wall clock)
    held: list[float] = []  # of that, the time this thread was running: the loop held by our own work
    done = asyncio.Event()

    async def probe() -> None:
        while not done.is_set():
            started, cpu_started = loop.time(), time.thread_time()
            await asyncio.sleep(PROBE_INTERVAL)
            late = loop.time() - started - PROBE_INTERVAL
            lags.append(late)
            # Waking late while this thread ran means our callbacks held the loop; waking late while
            # it did not run means the machine ran something else (other tests, other processes).
            held.append(max(0.0, min(late, time.thread_time() - cpu_started)))

    try:
        await uplink.start()
        probing = asyncio.create_task(probe())
        started, cpu = time.perf_counter(), time.process_time()
        for index in range(HOUR_POLLS + 1):
            uplink.add_samples(poll_round(index))
            if index % (300 // POLL) == 0:
                await uplink.flush(T0 + timedelta(seconds=POLL * index))
            await asyncio.sleep(0.02)
        async with asyncio.timeout(120):
            await uplink.drain()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        done.set()
        await probing
        async with asyncio.timeout(60):
            while len(set(receiver.ids())) < EXPECTED:  # noqa: ASYNC110 (another process)
                await asyncio.sleep(0.1)
        stats = uplink.status.stats
    finally:
        await uplink.stop()
        receiver.stop()

    p50, p99, worst = percentile(lags, 0.5), percentile(lags, 0.99), max(lags)
    held_p99, held_worst = percentile(held, 0.99), max(held)
    with capsys.disabled():
        print(
            f"\nuplink load: {len(DEVICES)} devices x {HOUR_POLLS} polls "
            f"({len(DEVICES) * HOUR_POLLS} samples), "
            f"{stats.sent} messages in {elapsed:.1f} s wall / {cpu:.1f} s CPU "
            f"({cpu / stats.sent * 1e6:.0f} us CPU per message, samples included); event-loop lag "
            f"p50 {p50 * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms, max {worst * 1e3:.1f} ms, "
            f"mean {statistics.fmean(lags) * 1e3:.2f} ms over {len(lags)} probes; of it held by this "
            f"thread's work p99 {held_p99 * 1e3:.2f} ms, max {held_worst * 1e3:.1f} ms"
        )
    assert stats.sent == EXPECTED
    assert stats.dropped == 0
    assert len(set(receiver.ids())) == EXPECTED
    if _traced():
        # Coverage traces every line this thread runs, so its CPU time says how fast the tracer is, not
        # the uplink (2-3x in CI). The ceiling is held by the runs without it (CI runs this test in the
        # library-alone and newest-HA suites too).
        return
    assert held_p99 < 0.010  # the machine's own load (CI runs two stacks at once) is not the uplink's


def _traced() -> bool:
    """True while a line tracer (coverage, a debugger) watches this interpreter."""
    monitoring = getattr(sys, "monitoring", None)
    return sys.gettrace() is not None or (
        monitoring is not None and monitoring.get_tool(monitoring.COVERAGE_ID) is not None
    )
