"""The durable outbox: every message waits on disk until the broker acknowledged it.

One SQLite database (standard library) per uplink, in a directory of its own that holds nothing else, so
removing the directory removes every file the uplink made (the database and its ``-wal``/``-shm`` files).
Blocking: use it from one worker thread (the uplink does).

- **Atomic and durable:** each call is one transaction; WAL journal with ``synchronous=FULL`` for what
  queues a message, so a stored message survives a crash or power cut of the host. Removing acknowledged
  messages skips that fsync: a power cut may undo it, and those messages are sent once more (same
  ``msg_id``: the receiver drops the copy).
- **Ordered:** messages get increasing row ids and a per-plant ``seq``; they are read in that order.
- **Bounded:** by age (7 days by default, 14 at most) and by count. The oldest messages go first, and each
  one is counted in ``dropped`` (and shows as a gap in ``seq`` at the receiver): never silently. Messages
  already handed to the broker connection (ids up to ``protect_upto``) are not dropped: they are on the
  wire and would arrive anyway.
- **Counters** (sent per category, dropped, the last acknowledgement) live in the same database, so they
  survive restarts; ``OutboxStats`` is their snapshot.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from ..exceptions import UplinkStorageError

FILENAME: Final = "outbox.sqlite3"
DEFAULT_MAX_AGE: Final = timedelta(days=7)
MAX_AGE_LIMIT: Final = timedelta(days=14)
DEFAULT_MAX_MESSAGES: Final = 100_000  # about 50 MB: a week of a 3-device plant at 1 minute, all categories

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    seq INTEGER NOT NULL,
    category TEXT NOT NULL,
    topic TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value REAL NOT NULL);
CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_CHUNK = 500  # ids per DELETE ... IN (...) statement


@dataclass(frozen=True, slots=True)
class OutboxLimits:
    """How long and how many messages the outbox keeps while the broker cannot be reached."""

    max_age: timedelta = DEFAULT_MAX_AGE
    max_messages: int = DEFAULT_MAX_MESSAGES

    def __post_init__(self) -> None:
        if not timedelta(0) < self.max_age <= MAX_AGE_LIMIT:
            raise ValueError(f"max_age must be more than 0 and at most {MAX_AGE_LIMIT}")
        if self.max_messages < 1:
            raise ValueError("max_messages must be at least 1")


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    """A message read from the outbox, ready to publish."""

    id: int
    category: str
    topic: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """Counters of one outbox: what waits, what left (per category), what was dropped."""

    queued: int = 0
    sent: int = 0
    dropped: int = 0
    sent_by_category: Mapping[str, int] = field(default_factory=dict)
    last_sent_at: datetime | None = None


class OutboxStore:
    """The outbox database in ``directory`` (created on ``open``)."""

    def __init__(
        self,
        directory: Path,
        limits: OutboxLimits | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = directory
        self.path = directory / FILENAME
        self.limits = limits or OutboxLimits()
        self._clock = clock
        self._db: sqlite3.Connection | None = None
        self._durable = True  # the connection's synchronous mode: FULL (True) or NORMAL
        self._queued = 0
        self._counters: dict[str, float] = {}

    # --- lifecycle -------------------------------------------------------------------------------------

    def open(self) -> OutboxStats:
        """Create or open the database; returns the counters kept from before."""
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(_SCHEMA)
            self._db = db
            self._durable = True
            self._queued = int(db.execute("SELECT COUNT(*) FROM messages").fetchone()[0])
            self._counters = {name: float(value) for name, value in db.execute("SELECT * FROM counters")}
        except (OSError, sqlite3.Error) as err:
            self.close()
            raise UplinkStorageError(f"cannot open the outbox {self.path}: {err}") from err
        return self.stats

    def close(self) -> None:
        """Close the database (idempotent)."""
        if self._db is not None:
            self._db.close()
            self._db = None

    @staticmethod
    def remove(directory: Path) -> None:
        """Delete the outbox directory and everything in it (the store must be closed)."""
        if not directory.exists():
            return
        for path in directory.iterdir():
            path.unlink(missing_ok=True)
        directory.rmdir()

    # --- messages --------------------------------------------------------------------------------------

    def put(self, items: Sequence[tuple[str, str, Mapping[str, Any]]], protect_upto: int = 0) -> int:
        """Queue ``(category, topic, body)`` items in order, numbering them; returns how many old ones
        were dropped to stay within the limits."""
        now = self._clock()
        with self._transaction() as db:
            seq = int(self._counters.get("seq", 0))
            rows = [
                (now, seq + index, category, topic, json.dumps(body, separators=(",", ":"), allow_nan=False))
                for index, (category, topic, body) in enumerate(items, start=1)
            ]
            db.executemany(
                "INSERT INTO messages (created, seq, category, topic, body) VALUES (?, ?, ?, ?, ?)", rows
            )
            self._queued += len(rows)
            self._set(db, "seq", seq + len(rows))
            return self._enforce_limits(db, now, protect_upto)

    def expire(self, protect_upto: int = 0) -> int:
        """Drop messages older than the age limit; returns how many."""
        with self._transaction() as db:
            return self._enforce_limits(db, self._clock(), protect_upto)

    def batch(self, after_id: int, limit: int, resumed_before: float | None = None) -> list[QueuedMessage]:
        """The next ``limit`` messages after ``after_id``, in order, as final payloads.

        A message queued before ``resumed_before`` (when the current connection came up) waited through an
        outage or a restart: its payload says ``"resumed": true``.
        """
        db = self._require()
        try:
            rows = db.execute(
                "SELECT id, created, seq, category, topic, body FROM messages "
                "WHERE id > ? ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
        except sqlite3.Error as err:
            raise UplinkStorageError(f"cannot read the outbox: {err}") from err
        return [
            QueuedMessage(
                row_id,
                category,
                topic,
                _payload(body, seq, resumed_before is not None and created < resumed_before),
            )
            for row_id, created, seq, category, topic, body in rows
        ]

    def ack(self, ids: Sequence[int]) -> None:
        """The broker acknowledged these messages: remove them and count them as sent."""
        self._remove(ids, sent=True)

    def reject(self, ids: Sequence[int]) -> None:
        """The broker refused these messages (e.g. not authorised for the topic): remove them as dropped."""
        self._remove(ids, sent=False)

    def purge(self) -> int:
        """Remove every queued message (withdrawal); returns how many."""
        with self._transaction() as db:
            removed = db.execute("DELETE FROM messages").rowcount
            self._queued = 0
        return int(removed)

    # --- kept state --------------------------------------------------------------------------------------

    def save_state(self, name: str, value: Any) -> None:
        """Keep a JSON-safe value under ``name`` (open periods, energy references)."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO state (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (name, json.dumps(value, allow_nan=False)),
            )

    def load_state(self, name: str) -> Any:
        """The value saved under ``name``, or None (also when it is unreadable)."""
        db = self._require()
        try:
            row = db.execute("SELECT value FROM state WHERE name = ?", (name,)).fetchone()
        except sqlite3.Error as err:
            raise UplinkStorageError(f"cannot read the outbox: {err}") from err
        if row is None:
            return None
        try:
            return json.loads(row[0])
        except ValueError:
            return None

    @property
    def stats(self) -> OutboxStats:
        """The counters now."""
        counters = self._counters
        last = counters.get("last_sent_at")
        return OutboxStats(
            queued=self._queued,
            sent=int(counters.get("sent", 0)),
            dropped=int(counters.get("dropped", 0)),
            sent_by_category={
                name.removeprefix("sent:"): int(value)
                for name, value in counters.items()
                if name.startswith("sent:")
            },
            last_sent_at=None if last is None else datetime.fromtimestamp(last, UTC),
        )

    # --- internals -------------------------------------------------------------------------------------

    def _require(self) -> sqlite3.Connection:
        if self._db is None:
            raise UplinkStorageError("the outbox is not open")
        return self._db

    def _transaction(self, *, durable: bool = True) -> _Transaction:
        """One transaction. ``durable=False`` skips the fsync at commit: for acknowledgements, whose loss
        in a power cut only means those messages go out once more (same msg_id, dropped as copies)."""
        return _Transaction(self._require(), self, durable)

    def _set(self, db: sqlite3.Connection, name: str, value: float) -> None:
        db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, value),
        )
        self._counters[name] = value

    def _enforce_limits(self, db: sqlite3.Connection, now: float, protect_upto: int) -> int:
        cutoff = now - self.limits.max_age.total_seconds()
        dropped = db.execute(
            "DELETE FROM messages WHERE created < ? AND id > ?", (cutoff, protect_upto)
        ).rowcount
        excess = self._queued - dropped - self.limits.max_messages
        if excess > 0:
            dropped += db.execute(
                "DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE id > ? ORDER BY id LIMIT ?)",
                (protect_upto, excess),
            ).rowcount
        if dropped:
            self._queued -= dropped
            self._set(db, "dropped", self._counters.get("dropped", 0) + dropped)
        return int(dropped)

    def _remove(self, ids: Sequence[int], *, sent: bool) -> None:
        if not ids:
            return
        with self._transaction(durable=sent is False) as db:
            by_category: dict[str, int] = {}
            removed = 0
            for start in range(0, len(ids), _CHUNK):
                chunk = list(ids[start : start + _CHUNK])
                marks = ",".join("?" * len(chunk))
                for category, count in db.execute(
                    f"SELECT category, COUNT(*) FROM messages WHERE id IN ({marks}) GROUP BY category",  # noqa: S608
                    chunk,
                ):
                    by_category[category] = by_category.get(category, 0) + count
                removed += db.execute(f"DELETE FROM messages WHERE id IN ({marks})", chunk).rowcount  # noqa: S608
            self._queued -= removed
            if sent:
                self._set(db, "sent", self._counters.get("sent", 0) + removed)
                for category, count in by_category.items():
                    self._set(db, f"sent:{category}", self._counters.get(f"sent:{category}", 0) + count)
                if removed:
                    self._set(db, "last_sent_at", self._clock())
            elif removed:
                self._set(db, "dropped", self._counters.get("dropped", 0) + removed)


class _Transaction:
    """``with store._transaction() as db``: BEGIN IMMEDIATE ... COMMIT, or ROLLBACK and restore counters."""

    def __init__(self, db: sqlite3.Connection, store: OutboxStore, durable: bool) -> None:
        self._db = db
        self._store = store
        self._durable = durable
        self._saved: tuple[int, dict[str, float]] = (0, {})

    def __enter__(self) -> sqlite3.Connection:
        self._saved = (self._store._queued, dict(self._store._counters))
        try:
            if self._durable is not self._store._durable:
                self._db.execute(f"PRAGMA synchronous={'FULL' if self._durable else 'NORMAL'}")
                self._store._durable = self._durable
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as err:
            raise UplinkStorageError(f"cannot write the outbox: {err}") from err
        return self._db

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc_type is None:
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as err:
                self._rollback()
                raise UplinkStorageError(f"cannot write the outbox: {err}") from err
            return
        self._rollback()
        if isinstance(exc, sqlite3.Error | ValueError):  # ValueError: a value JSON cannot hold
            raise UplinkStorageError(f"cannot write the outbox: {exc}") from exc

    def _rollback(self) -> None:
        self._store._queued, self._store._counters = self._saved
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("ROLLBACK")


def _payload(body: str, seq: int, resumed: bool) -> bytes:
    """The stored body (a compact JSON object) with ``seq`` and ``resumed`` appended as its last fields."""
    return f'{body[:-1]},"seq":{seq},"resumed":{"true" if resumed else "false"}}}'.encode()
