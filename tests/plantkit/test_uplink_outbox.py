"""The uplink's outbox on disk (SQLite): order, numbering, limits by count and age, what an outage and a
restart leave, storage errors."""

from __future__ import annotations

import json
import math
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from custom_components.sems.plantkit.exceptions import UplinkError, UplinkStorageError
from custom_components.sems.plantkit.uplink import OutboxLimits
from custom_components.sems.plantkit.uplink.outbox import FILENAME, OutboxStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def items(count: int, category: str = "power", start: int = 0) -> list[tuple[str, str, dict[str, Any]]]:
    return [(category, f"sems/v1/p/data/{category}", {"n": start + i}) for i in range(count)]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> OutboxStore:
    outbox = OutboxStore(tmp_path / "outbox", OutboxLimits(max_messages=10), clock)
    outbox.open()
    yield outbox
    outbox.close()


def test_outbox_keeps_order_numbers_messages_and_counts_what_was_sent(
    store: OutboxStore, clock: Clock
) -> None:
    store.put(items(3, "power") + items(2, "energy"))
    batch = store.batch(0, 10)
    assert [json.loads(m.payload) for m in batch] == [
        {"n": 0, "seq": 1, "resumed": False},
        {"n": 1, "seq": 2, "resumed": False},
        {"n": 2, "seq": 3, "resumed": False},
        {"n": 0, "seq": 4, "resumed": False},
        {"n": 1, "seq": 5, "resumed": False},
    ]
    assert [m.id for m in store.batch(batch[1].id, 2)] == [batch[2].id, batch[3].id]
    clock.now += 30
    store.ack([batch[0].id, batch[3].id, 999])
    stats = store.stats
    assert (stats.queued, stats.sent, stats.dropped) == (3, 2, 0)
    assert stats.sent_by_category == {"power": 1, "energy": 1}
    assert stats.last_sent_at == datetime.fromtimestamp(clock.now, UTC)
    store.reject([batch[1].id])
    assert (store.stats.queued, store.stats.dropped) == (2, 1)


def test_outbox_flags_what_waited_through_an_outage(store: OutboxStore, clock: Clock) -> None:
    store.put(items(1))
    clock.now += 10
    store.put(items(1, start=1))
    payloads = [json.loads(m.payload) for m in store.batch(0, 10, resumed_before=clock.now - 5)]
    assert [p["resumed"] for p in payloads] == [True, False]


def test_outbox_full_drops_the_oldest_and_counts_them(store: OutboxStore) -> None:
    assert store.put(items(8)) == 0
    assert store.put(items(5, start=8)) == 3
    assert store.stats.dropped == 3
    assert store.stats.queued == 10
    assert [json.loads(m.payload)["n"] for m in store.batch(0, 20)] == list(range(3, 13))
    # seq keeps counting, so the receiver sees the gap
    assert json.loads(store.batch(0, 1)[0].payload)["seq"] == 4


def test_outbox_never_drops_what_is_already_on_the_wire(store: OutboxStore) -> None:
    store.put(items(10))
    on_the_wire = store.batch(0, 4)[-1].id
    assert store.put(items(3, start=10), protect_upto=on_the_wire) == 3
    assert [json.loads(m.payload)["n"] for m in store.batch(0, 20)] == [0, 1, 2, 3, 7, 8, 9, 10, 11, 12]


def test_outbox_drops_by_age(tmp_path: Path, clock: Clock) -> None:
    store = OutboxStore(tmp_path / "o", OutboxLimits(max_age=timedelta(days=7)), clock)
    store.open()
    try:
        store.put(items(2))
        clock.now += timedelta(days=6).total_seconds()
        store.put(items(1, start=2))
        clock.now += timedelta(days=1, seconds=1).total_seconds()
        assert store.expire() == 2
        assert store.stats.dropped == 2
        assert [json.loads(m.payload)["n"] for m in store.batch(0, 9)] == [2]
    finally:
        store.close()


def test_outbox_limits_are_bounded() -> None:
    with pytest.raises(ValueError, match="max_age"):
        OutboxLimits(max_age=timedelta(days=15))
    with pytest.raises(ValueError, match="max_age"):
        OutboxLimits(max_age=timedelta(0))
    with pytest.raises(ValueError, match="max_messages"):
        OutboxLimits(max_messages=0)


def test_outbox_survives_a_restart_and_removes_every_file(tmp_path: Path, clock: Clock) -> None:
    directory = tmp_path / "outbox"
    store = OutboxStore(directory, clock=clock)
    store.open()
    store.put(items(3))
    store.ack([store.batch(0, 1)[0].id])
    store.save_state("periods", [{"a": 1}])
    store.close()

    again = OutboxStore(directory, clock=clock)
    stats = again.open()
    assert (stats.queued, stats.sent) == (2, 1)
    assert again.load_state("periods") == [{"a": 1}]
    assert again.load_state("nothing") is None
    again._require().execute("INSERT INTO state VALUES ('broken', '{not json')")
    assert again.load_state("broken") is None
    again.put(items(1))
    assert json.loads(again.batch(0, 9)[-1].payload)["seq"] == 4  # numbering continues
    assert again.purge() == 3
    assert again.stats.queued == 0
    again.close()
    assert {p.name for p in directory.iterdir()} >= {FILENAME}
    OutboxStore.remove(directory)
    assert not directory.exists()
    OutboxStore.remove(directory)  # nothing left: fine


def test_outbox_errors_are_uplink_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UplinkStorageError):
        OutboxStore(blocker / "outbox").open()  # a file where the directory should be
    closed = OutboxStore(tmp_path / "o")
    with pytest.raises(UplinkStorageError):
        closed.batch(0, 1)
    with pytest.raises(UplinkStorageError):
        closed.put(items(1))
    assert issubclass(UplinkStorageError, UplinkError)


def test_a_failed_write_changes_nothing(store: OutboxStore) -> None:
    store.put(items(2))
    with pytest.raises(UplinkStorageError):
        store.put([("power", "t", {"bad": math.nan})])  # not JSON: the transaction rolls back
    assert store.stats.queued == 2
    assert json.loads(store.batch(0, 9)[-1].payload)["seq"] == 2
    store._require().execute("DROP TABLE messages")
    with pytest.raises(UplinkStorageError):
        store.batch(0, 1)
    with pytest.raises(UplinkStorageError):
        store.ack([1])
    assert store.stats.queued == 2  # counters rolled back with the transaction


def test_corrupt_database_is_a_storage_error(tmp_path: Path) -> None:
    directory = tmp_path / "outbox"
    directory.mkdir()
    (directory / FILENAME).write_bytes(b"this is not a database" * 100)
    with pytest.raises(UplinkStorageError):
        OutboxStore(directory).open()
    with sqlite3.connect(":memory:"):
        pass
