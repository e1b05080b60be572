"""The uplink of one plant: samples in, aggregated messages through the outbox to the broker.

``Uplink`` runs only under a consent. Its pieces, and where they run:

- intake (event loop): ``add_samples`` feeds the ``PeriodAggregator``; closed periods go to the worker;
- worker thread (one, owned by the uplink): ``RecordBuilder`` makes the messages, ``OutboxStore`` stores,
  reads, acknowledges and drops them;
- paho's thread (``MqttDestination``): the connection. The sender (event loop) publishes what the outbox
  holds, in order, at most ``window`` unacknowledged on the wire; a message leaves the outbox only when the
  broker acknowledged it. Messages queued before the current connection came up are flagged ``resumed``.

On every connection the retained consent record and the ``online`` status are published; the last will
says ``offline``. ``stop`` keeps the open periods in the outbox, so a restart loses nothing; ``withdraw``
stops publishing at once and deletes the outbox. ``Withdrawal`` then clears the retained consent,
says ``withdrawn`` and asks the receiver to erase (its own connection, see there).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from ..exceptions import UplinkAuthError, UplinkConnectionError, UplinkError
from .aggregate import DevicePeriod, PeriodAggregator, RecordBuilder
from .consent import Consent, SyncTerms
from .messages import (
    SyncState,
    Topics,
    UplinkSample,
    acknowledged_request,
    dumps,
    erase_payload,
    status_payload,
)
from .mqtt import DEFAULT_BACKOFF, DEFAULT_INFLIGHT, BrokerSettings, MqttDestination
from .outbox import OutboxLimits, OutboxStats, OutboxStore, QueuedMessage

_LOGGER = logging.getLogger(__name__)

_ACK_FLUSH_DELAY: Final = 0.2  # seconds acknowledgements are gathered before one outbox transaction
_ACK_FLUSH_COUNT: Final = 500
_EXPIRE_EVERY: Final = timedelta(hours=1)
_PUBLISH_CHUNK: Final = 20  # messages published between two pauses of the pacing
DEFAULT_MAX_RATE: Final = 1000  # messages per second: 800 messages of 200 devices leave in under a second
_STATUS_TIMEOUT: Final = 2.0  # how long stop waits for the broker to take the "offline" status
_STATE_PERIODS: Final = "open_periods"
_STATE_BUILDER: Final = "builder"


@dataclass(frozen=True, slots=True, kw_only=True)
class UplinkConfig:
    """Everything one uplink needs. ``directory`` holds its outbox and nothing else."""

    consent: Consent
    broker: BrokerSettings
    client_id: str
    device_key: bytes  # the secret of the device pseudonyms; never sent
    directory: Path
    limits: OutboxLimits = field(default_factory=OutboxLimits)
    window: int = DEFAULT_INFLIGHT
    max_rate: int = DEFAULT_MAX_RATE  # messages per second at most
    backoff: tuple[int, int] = DEFAULT_BACKOFF


@dataclass(frozen=True, slots=True)
class UplinkStatus:
    """A snapshot for sensors and diagnostics."""

    state: SyncState  # ACTIVE or ERROR (OFF and PAUSED are decided by whoever holds the consent)
    connected: bool
    error: UplinkError | None
    stats: OutboxStats
    disconnected_since: datetime | None
    last_message: dict[str, Any] | None  # the last data message the broker acknowledged


class Uplink:
    """One plant's uplink under one consent; see the module docstring."""

    def __init__(self, config: UplinkConfig, *, on_change: Callable[[], None] | None = None) -> None:
        consent = config.consent
        terms = consent.terms
        self.config = config
        self.topics = Topics(terms.plant)
        self._notify = on_change or (lambda: None)
        self._aggregator = PeriodAggregator(categories=terms.categories, resolution=terms.resolution)
        self._builder = RecordBuilder(
            plant=terms.plant,
            consent_id=consent.consent_id,
            categories=terms.categories,
            device_ref=terms.device_ref,
            key=config.device_key,
        )
        self._store = OutboxStore(config.directory, config.limits)
        self._executor: ThreadPoolExecutor | None = None
        self._destination: MqttDestination | None = None
        self._stats = OutboxStats()
        self._closed: list[DevicePeriod] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._storing: asyncio.Task[None] | None = None
        self._sender: asyncio.Task[None] | None = None
        self._ack_flush: asyncio.TimerHandle | None = None
        self._wakeup = asyncio.Event()
        self._changed = asyncio.Event()  # set on every change of the counters (drain waits on it)
        self._inflight: dict[int, QueuedMessage] = {}
        self._control: dict[int, asyncio.Future[bool]] = {}
        self._acked: list[int] = []
        self._rejected: list[int] = []
        self._cursor = 0  # the last outbox id handed to the connection
        self._connected_since: float | None = None
        self._disconnected_since: datetime | None = datetime.now(UTC)
        self._dropping = False  # a drop was logged; logged again only after the outbox emptied
        self._last_message: dict[str, Any] | None = None
        self._last_payload = b""
        self._refused: UplinkAuthError | None = None  # the broker refused our topics
        self._expired_at = datetime.now(UTC)
        self._running = False

    # --- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the outbox (restoring open periods), start connecting and sending.

        Raises UplinkStorageError (disk) or UplinkConfigError (URL, certificates). An unreachable broker is
        not an error here: messages queue until it answers.
        """
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sems-uplink")
        try:
            self._stats = await self._run(self._open_store)
            self._destination = MqttDestination(
                self.config.broker,
                client_id=self.config.client_id,
                listener=self,
                will=(self.topics.status, dumps(status_payload(self.topics.plant, "offline"))),
                backoff=self.config.backoff,
                max_inflight=self.config.window,
            )
            await self._destination.start()
        except BaseException:
            await self._close_worker()
            raise
        self._running = True
        self._sender = asyncio.create_task(self._send_loop(), name="sems uplink sender")

    def _open_store(self) -> OutboxStats:
        stats = self._store.open()
        periods = self._store.load_state(_STATE_PERIODS)
        if isinstance(periods, list):
            self._aggregator.restore(periods)
        builder = self._store.load_state(_STATE_BUILDER)
        if isinstance(builder, dict):
            self._builder.restore(builder)
        return stats

    async def stop(self) -> None:
        """Stop sending, keep what is queued and the open periods on disk, say ``offline``, disconnect.

        Never raises for the disk: a failure to save is logged (the open periods are then lost) and the
        worker thread still ends."""
        if not self._running:
            return
        self._running = False
        await self._cancel_sender()
        await self._wait_storing()
        destination = self._destination
        if destination is not None and destination.connected:
            offline = self._publish_retained(self.topics.status, status_payload(self.topics.plant, "offline"))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_STATUS_TIMEOUT):
                    await offline
        if destination is not None:
            await destination.stop()
        # Acks that came in while saying offline are written now, not by a timer that would outlive the stop.
        self._cancel_ack_flush()
        try:
            await self._flush_acks()
            await self._run(self._save_state)
        except UplinkError as err:  # the periods still open are lost; what is queued stays queued
            _LOGGER.warning("Cloud sync could not save its open periods: %s", err)
        finally:
            await self._close_worker()

    def _save_state(self) -> None:
        self._store.save_state(_STATE_PERIODS, self._aggregator.snapshot())
        self._store.save_state(_STATE_BUILDER, self._builder.snapshot())

    async def withdraw(self) -> int:
        """Consent withdrawn: stop publishing at once, delete the outbox and its files.

        Returns how many queued messages were purged. The retained consent and the erase request are
        ``Withdrawal``'s job (a connection of its own).
        """
        self._running = False
        await self._cancel_sender()
        destination, self._destination = self._destination, None
        if destination is not None:
            await destination.stop()
        await self._wait_storing()
        purged = 0
        if self._executor is not None:
            purged = await self._run(self._purge_store)
            await self._close_worker()
        self._stats = OutboxStats()
        return purged

    def _purge_store(self) -> int:
        purged = self._store.purge()
        self._store.close()
        OutboxStore.remove(self.config.directory)
        return purged

    async def _close_worker(self) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        with contextlib.suppress(UplinkError):
            await asyncio.get_running_loop().run_in_executor(executor, self._store.close)
        await asyncio.to_thread(executor.shutdown, True)

    def _cancel_ack_flush(self) -> None:
        if self._ack_flush is not None:
            self._ack_flush.cancel()
            self._ack_flush = None

    async def _cancel_sender(self) -> None:
        self._cancel_ack_flush()
        for task in (self._sender, *self._tasks):
            if task is not None:
                task.cancel()
        for task in (self._sender, *self._tasks):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._sender = None
        self._tasks.clear()

    # --- intake ----------------------------------------------------------------------------------------

    def add_samples(self, samples: Iterable[UplinkSample]) -> None:
        """Take fresh readings (event loop; cheap). Periods they close are stored in the background."""
        if not self._running:
            return
        add = self._aggregator.add
        for sample in samples:
            self._closed.extend(add(sample))
        if self._closed:
            self._schedule_store()

    async def flush(self, now: datetime | None = None) -> None:
        """Close the periods that ended by ``now`` and store their messages; also applies the age limit.

        Call it at each period boundary (a device that stopped reporting still gets its period closed).
        """
        if not self._running:
            return
        now = now or datetime.now(UTC)
        self._closed.extend(self._aggregator.close_due(now))
        if self._closed:
            self._schedule_store()
            await self._wait_storing()
        elif now - self._expired_at >= _EXPIRE_EVERY:  # nothing new queued: the age limit still holds
            self._expired_at = now
            try:
                dropped = await self._run(self._store.expire, self._cursor)
            except UplinkError as err:
                _LOGGER.warning("Cloud sync could not update its outbox: %s", err)
                return
            self._stats = await self._run(lambda: self._store.stats)
            self._note_dropped(dropped)
            self._on_change()

    def _schedule_store(self) -> None:
        if self._storing is None or self._storing.done():
            self._storing = asyncio.create_task(self._store_closed(), name="sems uplink store")

    async def _wait_storing(self) -> None:
        while self._storing is not None and not self._storing.done():
            await asyncio.shield(self._storing)

    async def _store_closed(self) -> None:
        while self._closed:
            closed, self._closed = self._closed, []
            try:
                dropped, self._stats = await self._run(self._store_periods, closed, self._cursor)
            except UplinkError as err:
                _LOGGER.warning("Cloud sync could not store %d periods: %s", len(closed), err)
                continue
            self._note_dropped(dropped)
            self._wakeup.set()
            self._on_change()

    def _store_periods(self, closed: list[DevicePeriod], protect_upto: int) -> tuple[int, OutboxStats]:
        records = self._builder.build(closed)
        topics = self.topics
        dropped = self._store.put(
            [(str(r.category), topics.data(r.category), r.body) for r in records], protect_upto
        )
        return dropped, self._store.stats

    def _note_dropped(self, dropped: int) -> None:
        if dropped and not self._dropping:
            self._dropping = True
            _LOGGER.warning(
                "Cloud sync outbox is full or holds messages older than %s: dropped the %d oldest "
                "(counted in the dropped sensor); the broker has not taken messages for a while",
                self.config.limits.max_age,
                dropped,
            )
        elif self._dropping and self._stats.queued == 0:
            self._dropping = False

    # --- sending ---------------------------------------------------------------------------------------

    async def _send_loop(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            destination = self._destination
            while destination is not None and destination.connected:
                # paho keeps ``window`` on the wire and as many again queued behind them, so every
                # acknowledgement is answered by the next message at once (a pause lets TCP's delayed
                # acknowledgements stall the flow); we refill when half of that is free.
                room = 2 * self.config.window - len(self._inflight)
                if room < self.config.window and self._inflight:
                    break
                try:
                    batch = await self._run(self._store.batch, self._cursor, room, self._connected_since)
                except UplinkError as err:
                    _LOGGER.warning("Cloud sync could not read its outbox: %s", err)
                    break
                if not batch:
                    break
                await self._publish_paced(destination, batch)

    async def _publish_paced(self, destination: MqttDestination, batch: list[QueuedMessage]) -> None:
        """Publish in small chunks at most ``max_rate`` messages per second: a backlog drains in the
        background instead of competing with everything else for the CPU."""
        pause = _PUBLISH_CHUNK / self.config.max_rate
        for start in range(0, len(batch), _PUBLISH_CHUNK):
            if not destination.connected:
                return  # the rest is read again after the reconnect (the cursor marks what was handed over)
            for message in batch[start : start + _PUBLISH_CHUNK]:
                mid = destination.publish(message.topic, message.payload)
                self._inflight[mid] = message
                self._cursor = message.id
            await asyncio.sleep(pause)

    def _publish_retained(self, topic: str, payload: dict[str, Any]) -> asyncio.Future[bool]:
        """Publish a retained message; the future resolves when the broker acknowledged it."""
        destination = self._destination
        assert destination is not None  # only called while connected
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._control[destination.publish(topic, dumps(payload), retain=True)] = done
        return done

    # --- DestinationListener (event loop) ----------------------------------------------------------------

    def connection_changed(self, connected: bool, error: UplinkError | None) -> None:
        """Connected: publish consent and status, send the backlog. Lost: note since when."""
        if connected:
            self._connected_since = time.time()
            self._disconnected_since = None
            for topic, payload in (
                (self.topics.consent, self.config.consent.payload()),
                (self.topics.status, status_payload(self.topics.plant, "online")),
            ):
                self._publish_retained(topic, payload).add_done_callback(
                    functools.partial(self._check_allowed, topic=topic)
                )
            self._wakeup.set()
        else:
            self._connected_since = None
            if self._disconnected_since is None:
                self._disconnected_since = datetime.now(UTC)
            if isinstance(error, UplinkAuthError):
                _LOGGER.info("Cloud sync: %s", error)
            else:
                _LOGGER.debug("Cloud sync not connected: %s", error)
        self._on_change()

    def _check_allowed(self, done: asyncio.Future[bool], *, topic: str) -> None:
        """A refused consent or status means the account may not publish for this plant: stop trying
        (each refusal costs a reconnect) until the settings change."""
        if done.cancelled() or done.result() or self._refused is not None:
            return
        self._refused = UplinkAuthError(
            f"the broker does not let this account publish to {topic}: check the plant id and the account"
        )
        _LOGGER.info("Cloud sync: %s", self._refused)
        destination = self._destination
        if destination is not None:
            self._spawn(destination.stop())
        self._on_change()

    def acknowledged(self, mid: int, accepted: bool) -> None:
        """The broker took (or refused) a message."""
        control = self._control.pop(mid, None)
        if control is not None:
            if not control.done():
                control.set_result(accepted)
            return
        message = self._inflight.pop(mid, None)
        if message is None:
            return
        if accepted:
            self._acked.append(message.id)
            self._last_payload = message.payload
        else:
            _LOGGER.warning("Cloud sync: the broker refused a message on %s (not authorised?)", message.topic)
            self._rejected.append(message.id)
        if not self._running:
            return  # stopping: ``stop`` writes them after the disconnect
        if len(self._acked) + len(self._rejected) >= _ACK_FLUSH_COUNT:
            self._spawn(self._flush_acks())
        elif self._ack_flush is None:
            loop = asyncio.get_running_loop()
            self._ack_flush = loop.call_later(_ACK_FLUSH_DELAY, self._spawn_flush)
        self._wakeup.set()

    def received(self, topic: str, payload: bytes) -> None:
        """The uplink subscribes to nothing."""

    def _spawn_flush(self) -> None:
        self._ack_flush = None
        self._spawn(self._flush_acks())

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _flush_acks(self) -> None:
        acked, self._acked = self._acked, []
        rejected, self._rejected = self._rejected, []
        if not acked and not rejected:
            return
        if acked:
            self._last_message = _decode(self._last_payload)
        try:
            self._stats = await self._run(self._remove, acked, rejected)
        except asyncio.CancelledError:
            # ``stop`` cancelled this flush: it writes them itself (writing them twice removes nothing more).
            self._acked[:0], self._rejected[:0] = acked, rejected
            raise
        except UplinkError as err:
            # Still in the outbox: they are sent again after a restart (same msg_id, dropped as copies).
            _LOGGER.warning("Cloud sync could not update its outbox: %s", err)
            return
        self._note_dropped(0)
        self._on_change()

    def _remove(self, acked: list[int], rejected: list[int]) -> OutboxStats:
        self._store.ack(acked)
        self._store.reject(rejected)
        return self._store.stats

    # --- state -----------------------------------------------------------------------------------------

    @property
    def status(self) -> UplinkStatus:
        """What the sensors show."""
        destination = self._destination
        error = self._refused or (destination.error if destination is not None else None)
        connected = destination is not None and destination.connected and self._refused is None
        return UplinkStatus(
            state=SyncState.ACTIVE if connected or error is None else SyncState.ERROR,
            connected=connected,
            error=error,
            stats=self._stats,
            disconnected_since=None if connected else self._disconnected_since,
            last_message=self._last_message,
        )

    async def drain(self) -> None:
        """Wait until everything taken in was acknowledged (for tests and benchmarks; bound it with
        ``asyncio.timeout``)."""
        while self._stats.queued or self._inflight or self._acked or self._closed:
            self._changed.clear()
            await self._changed.wait()

    def _on_change(self) -> None:
        self._changed.set()
        self._notify()

    async def _run(self, function: Callable[..., Any], *args: Any) -> Any:
        if self._executor is None:
            raise UplinkConnectionError("the uplink is not running")
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)


def _decode(payload: bytes) -> dict[str, Any] | None:
    value = json.loads(payload)  # our own payload: always a JSON object
    return value if isinstance(value, dict) else None


def preview(samples: Iterable[UplinkSample], *, terms: SyncTerms, key: bytes) -> list[dict[str, Any]]:
    """The data messages ``samples`` would make under ``terms``, exactly as they would be published (with
    ``seq`` from 1, ``resumed`` false and a placeholder ``consent_id``): the example a user sees before
    agreeing. Each sample stands for a whole period."""
    samples = list(samples)
    if not samples:
        return []
    aggregator = PeriodAggregator(categories=terms.categories, resolution=terms.resolution)
    builder = RecordBuilder(
        plant=terms.plant,
        consent_id=PREVIEW_CONSENT_ID,
        categories=terms.categories,
        device_ref=terms.device_ref,
        key=key,
    )
    for sample in samples:
        aggregator.add(sample)
    latest = max(sample.at for sample in samples)
    closed = aggregator.close_due(latest + timedelta(seconds=terms.resolution))
    return [
        {**record.body, "seq": seq, "resumed": False}
        for seq, record in enumerate(builder.build(closed), start=1)
    ]


PREVIEW_CONSENT_ID: Final = "00000000-0000-4000-8000-000000000000"


# --- withdrawal --------------------------------------------------------------------------------------


class WithdrawalOutcome(StrEnum):
    """How far a withdrawal got with the receiver."""

    ACKNOWLEDGED = "acknowledged"  # consent cleared, status withdrawn, the erase acknowledged (or not asked)
    NOT_ACKNOWLEDGED = "not_acknowledged"  # all published, but no erase acknowledgement (yet)
    UNREACHABLE = "unreachable"  # nothing could be published: the broker did not answer


@dataclass(frozen=True, slots=True, kw_only=True)
class WithdrawalRequest:
    """What to tell the receiver when consent ends. Sent again (same ``request_id``) until acknowledged."""

    plant: str
    request_id: str
    requested_at: datetime
    consent_id: str | None
    erase: bool = True


class Withdrawal:
    """Tells the receiver that consent ended, on a connection of its own (no last will).

    ``run`` clears the retained consent (an empty retained payload), publishes ``withdrawn`` as the retained
    status and, when ``request.erase``, the erase request, then waits for the receiver's acknowledgement on
    ``…/erase/ack``. It waits as long as it takes: bound it with ``asyncio.timeout`` and read ``outcome``
    afterwards. The session is persistent, so an acknowledgement sent while we were offline arrives on the
    next attempt. ``run`` raises UplinkAuthError when the broker refuses the credentials and
    UplinkConfigError for unusable settings.
    """

    def __init__(self, broker: BrokerSettings, *, client_id: str, request: WithdrawalRequest) -> None:
        self.broker = broker
        self.client_id = client_id
        self.request = request
        self.topics = Topics(request.plant)
        self.outcome = WithdrawalOutcome.UNREACHABLE
        self._connected = asyncio.Event()
        self._refused: UplinkAuthError | None = None
        self._acks: dict[int, asyncio.Future[bool]] = {}
        self._erased = asyncio.Event()

    async def run(self) -> WithdrawalOutcome:
        """Connect, publish, wait for the acknowledgement; see the class docstring."""
        destination = MqttDestination(
            self.broker, client_id=self.client_id, listener=self, subscriptions=(self.topics.erase_ack,)
        )
        try:
            await destination.start()
            await self._connected.wait()
            if self._refused is not None:
                raise self._refused
            await asyncio.gather(*self._publish(destination))
            self.outcome = WithdrawalOutcome.NOT_ACKNOWLEDGED
            if self.request.erase:
                await self._erased.wait()
            self.outcome = WithdrawalOutcome.ACKNOWLEDGED
        finally:
            await destination.stop()
        return self.outcome

    def _publish(self, destination: MqttDestination) -> list[asyncio.Future[bool]]:
        request = self.request
        published = [
            (self.topics.consent, b"", True),
            (self.topics.status, dumps(status_payload(request.plant, "withdrawn")), True),
        ]
        if request.erase:
            erase = erase_payload(
                plant=request.plant,
                request_id=request.request_id,
                requested_at=request.requested_at,
                consent_id=request.consent_id,
            )
            published.append((self.topics.erase, dumps(erase), False))
        loop = asyncio.get_running_loop()
        waits: list[asyncio.Future[bool]] = []
        for topic, payload, retain in published:
            future: asyncio.Future[bool] = loop.create_future()
            self._acks[destination.publish(topic, payload, retain=retain)] = future
            waits.append(future)
        return waits

    # DestinationListener

    def connection_changed(self, connected: bool, error: UplinkError | None) -> None:
        """Wake ``run`` when connected, or when the credentials were refused."""
        if connected:
            self._connected.set()
        elif isinstance(error, UplinkAuthError):
            self._refused = error
            self._connected.set()
        else:
            self._connected.clear()

    def acknowledged(self, mid: int, accepted: bool) -> None:
        """The broker took one of our messages."""
        future = self._acks.pop(mid, None)
        if future is not None and not future.done():
            future.set_result(accepted)

    def received(self, topic: str, payload: bytes) -> None:
        """An acknowledgement naming our request ends the wait."""
        if topic == self.topics.erase_ack and acknowledged_request(payload) == self.request.request_id:
            self._erased.set()
