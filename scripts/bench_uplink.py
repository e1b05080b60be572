"""Benchmark: what the cloud uplink costs per message, measured in one run against a bare paho baseline.

Run ``.venv/bin/python scripts/bench_uplink.py [--messages N] [--json]``; ``scripts/bench`` calls ``main``.
Every stage runs the real code on this machine, with a real Mosquitto (TLS) on 127.0.0.1:

- ``intake``: ``PeriodAggregator.add`` per sample (event loop side);
- ``build+store``: ``RecordBuilder`` + ``OutboxStore.put`` per message (worker thread);
- ``read+ack``: ``OutboxStore.batch`` + ``OutboxStore.ack`` per message (worker thread, fsync included);
- ``uplink end to end``: ``Uplink`` from samples to every broker acknowledgement: wall time (paced: the
  uplink sends at most 1000 messages a second on purpose) and this process's CPU time per message,
  the samples' intake included;
- ``bare paho``: the same number of same-sized QoS 1 messages published with paho alone over TLS, waiting
  for every acknowledgement: the floor any MQTT uplink pays.

The ratio uplink / bare paho (CPU per message) is the uplink's own overhead: aggregation, the durable
outbox and the bookkeeping around acknowledgements.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from custom_components.sems.plantkit.uplink import (  # noqa: E402
    BrokerSettings,
    Category,
    Consent,
    DeviceRef,
    SyncTerms,
    Uplink,
    UplinkConfig,
    UplinkSample,
)
from custom_components.sems.plantkit.uplink.aggregate import PeriodAggregator, RecordBuilder  # noqa: E402
from custom_components.sems.plantkit.uplink.outbox import OutboxStore  # noqa: E402
from tests.broker import PLANT, PLANT_PASSWORD, PLANT_USER, Broker, Pki  # noqa: E402

T0 = datetime(2026, 6, 21, 11, 0, tzinfo=UTC)
VALUES = {
    "pv_power": 5200.0,
    "ac_power": 5000.0,
    "pv_energy_total": 12000.0,
    "ac_energy_total": 11500.0,
    "grid_power": -1500.0,
    "grid_import_energy_total": 4000.0,
    "battery_power": -900.0,
    "battery_soc": 60.0,
    "inverter_temperature": 41.0,
}
CATEGORIES = (Category.ENERGY, Category.POWER, Category.GRID, Category.BATTERY, Category.STATUS)


def _samples(devices: int, polls: int, step: int = 5) -> list[list[UplinkSample]]:
    return [
        [
            UplinkSample(
                device_serial=f"SN{n:05d}",
                role="inverter",
                manufacturer="Sim",
                model="Bench",
                at=T0 + timedelta(seconds=step * poll),
                values={q: v + poll for q, v in VALUES.items()},
                status="running",
            )
            for n in range(devices)
        ]
        for poll in range(polls)
    ]


def bench_intake(samples: int = 60_000) -> float:
    """Microseconds per sample added to the open periods."""
    rounds = _samples(200, samples // 200)
    aggregator = PeriodAggregator(categories=CATEGORIES, resolution=300)
    started = time.perf_counter()
    for poll in rounds:
        for sample in poll:
            aggregator.add(sample)
    return (time.perf_counter() - started) / samples * 1e6


def bench_store(directory: Path, messages: int) -> tuple[float, float]:
    """Microseconds per message to build and store it, and to read and acknowledge it."""
    aggregator = PeriodAggregator(categories=CATEGORIES, resolution=300)
    builder = RecordBuilder(
        plant=PLANT, consent_id=str(T0), categories=CATEGORIES, device_ref=DeviceRef.PSEUDONYM, key=b"k" * 32
    )
    devices = max(1, messages // len(CATEGORIES))
    for poll in _samples(devices, 2, step=60):
        for sample in poll:
            aggregator.add(sample)
    closed = aggregator.close_due(T0 + timedelta(hours=1))
    store = OutboxStore(directory)
    store.open()
    try:
        started = time.perf_counter()
        records = builder.build(closed)
        store.put([(str(r.category), f"sems/v1/{PLANT}/data/{r.category}", r.body) for r in records])
        build = (time.perf_counter() - started) / len(records) * 1e6
        started = time.perf_counter()
        cursor = 0
        while batch := store.batch(cursor, 100):
            cursor = batch[-1].id
            store.ack([m.id for m in batch])
        read_ack = (time.perf_counter() - started) / len(records) * 1e6
    finally:
        store.close()
    return build, read_ack


async def bench_uplink(broker: Broker, directory: Path, devices: int) -> tuple[int, float, float]:
    """Messages, wall and CPU seconds for ``devices`` devices over 12 periods (one hour at 5 minutes)."""
    terms = SyncTerms.create(destination=broker.url, plant=PLANT, categories=CATEGORIES, resolution=300)
    uplink = Uplink(
        UplinkConfig(
            consent=Consent.grant(terms, at=T0),
            broker=BrokerSettings(
                url=broker.url, username=PLANT_USER, password=PLANT_PASSWORD, ca_pem=broker.pki.ca
            ),
            client_id="sems-bench",
            device_key=b"k" * 32,
            directory=directory,
        )
    )
    rounds = _samples(devices, 12 * 60)
    await uplink.start()
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        for index, poll in enumerate(rounds):
            uplink.add_samples(poll)
            if index % 60 == 0:
                await uplink.flush(poll[0].at)
        await uplink.flush(T0 + timedelta(hours=1))
        async with asyncio.timeout(300):
            await uplink.drain()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        sent = uplink.status.stats.sent
    finally:
        await uplink.stop()
    return sent, wall, cpu


def bench_bare_paho(broker: Broker, messages: int, size: int) -> tuple[float, float]:
    """Wall and CPU seconds to publish ``messages`` QoS 1 messages of ``size`` bytes with paho alone."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bare-bench", protocol=mqtt.MQTTv5)
    client.tls_set_context(ssl.create_default_context(cadata=broker.pki.ca))
    client.username_pw_set(PLANT_USER, PLANT_PASSWORD)
    client.max_inflight_messages_set(100)
    done = threading.Event()
    acked = 0

    def on_publish(*_: Any) -> None:
        nonlocal acked
        acked += 1
        if acked == messages:
            done.set()

    client.on_publish = on_publish
    client.connect(broker.url.split("//")[1].split(":")[0], broker.port)
    client.loop_start()
    payload = b"x" * size
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(messages):
            client.publish(f"sems/v1/{PLANT}/data/power", payload, qos=1)
        if not done.wait(300):
            raise TimeoutError("bare paho: not every message was acknowledged")
        return time.perf_counter() - wall, time.process_time() - cpu
    finally:
        client.disconnect()
        client.loop_stop()


def run(messages: int = 6000) -> dict[str, float]:
    """Every measurement, as a dict (for scripts/bench)."""
    devices = max(1, messages // (12 * len(CATEGORIES)))
    results: dict[str, float] = {"intake_us_per_sample": bench_intake()}
    with tempfile.TemporaryDirectory(prefix="sems-bench-") as scratch:
        root = Path(scratch)
        build, read_ack = bench_store(root / "store", messages)
        results["build_store_us_per_message"] = build
        results["read_ack_us_per_message"] = read_ack
        broker = Broker(root / "broker", Pki.create(), save_every_change=False)
        broker.start()
        try:
            sent, wall, cpu = asyncio.run(bench_uplink(broker, root / "outbox", devices))
            bare_wall, bare_cpu = bench_bare_paho(broker, sent, 330)
        finally:
            broker.stop()
    results |= {
        "messages": sent,
        "devices": devices,
        "uplink_wall_us_per_message": wall / sent * 1e6,
        "uplink_cpu_us_per_message": cpu / sent * 1e6,
        "bare_paho_wall_us_per_message": bare_wall / sent * 1e6,
        "bare_paho_cpu_us_per_message": bare_cpu / sent * 1e6,
        "uplink_to_bare_cpu_ratio": cpu / bare_cpu,
    }
    return results


def main(argv: list[str] | None = None) -> int:
    """Print the uplink's cost per message (a table, or JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=6000, help="about how many messages to send")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args(argv)
    results = run(args.messages)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(
        f"uplink cost per message ({results['messages']:.0f} messages, "
        f"{results['devices']:.0f} devices, 1 h at 5 min)"
    )
    print(f"  intake (event loop)            {results['intake_us_per_sample']:8.1f} us per sample")
    print(f"  build + store (worker)         {results['build_store_us_per_message']:8.1f} us")
    print(f"  read + ack (worker, fsync)     {results['read_ack_us_per_message']:8.1f} us")
    print(
        f"  uplink end to end              {results['uplink_cpu_us_per_message']:8.1f} us CPU, "
        f"{results['uplink_wall_us_per_message']:8.1f} us wall (paced at 1000/s)"
    )
    print(
        f"  bare paho (same size, TLS)     {results['bare_paho_cpu_us_per_message']:8.1f} us CPU, "
        f"{results['bare_paho_wall_us_per_message']:8.1f} us wall"
    )
    print(f"  uplink / bare paho, CPU        {results['uplink_to_bare_cpu_ratio']:8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
