"""The uplink against a real Mosquitto (TLS, password file, ACL): delivery, outages, limits, access,
MQTT 3.1.1 brokers, storage failures (withdrawal and erasure: ``test_uplink_withdrawal.py``)."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from custom_components.sems.plantkit.exceptions import (
    UplinkAuthError,
    UplinkConfigError,
    UplinkConnectionError,
    UplinkStorageError,
    UplinkTlsError,
)
from custom_components.sems.plantkit.uplink import (
    CATEGORY_QUANTITIES,
    BrokerSettings,
    Category,
    OutboxLimits,
    SyncState,
    SyncTerms,
    Uplink,
    engine,
    preview,
    probe_broker,
)
from custom_components.sems.plantkit.uplink.mqtt import MqttDestination
from tests.broker import (
    HOST,
    PLANT,
    Broker,
    Pki,
    Subscriber,
    free_port,
)

from .mqtt_support import (
    CLIENT_ID,
    CONSENTED,
    KEY,
    T0,
    check_delivery,
    expected_ids,
    feed,
    make_config,
    samples_at,
    settings,
    start,
)


async def test_every_consented_reading_arrives_once_in_order_and_valid(
    broker: Broker, receiver: Subscriber, running: list[Uplink], tmp_path: Path
) -> None:
    uplink = await start(running, make_config(broker, tmp_path / "outbox"))
    await feed(uplink, 0, 10)
    async with asyncio.timeout(20):
        await uplink.drain()
    expected = expected_ids(range(10))
    await receiver.wait_for(
        lambda m: len({x.json()["msg_id"] for x in m if "/data/" in x.topic}) >= len(expected)
    )

    ordered = check_delivery(receiver.snapshot(), expected)
    assert {p["category"] for p in ordered} == {str(c) for c in CONSENTED}  # battery, status, ... never
    allowed = {str(q) for c in CONSENTED for q in CATEGORY_QUANTITIES[c]} | {"active", "seen"}
    assert all(set(p["values"]) <= allowed for p in ordered)
    power = next(p for p in ordered if p["category"] == "power")
    assert power["values"]["pv_power"] == {"mean": 5000.0, "min": 5000.0, "max": 5000.0, "n": 6}
    status = uplink.status
    assert status.state is SyncState.ACTIVE
    assert status.connected
    assert status.stats.sent == len(expected)
    assert status.stats.sent_by_category == {
        str(c): sum(1 for p in ordered if p["category"] == c) for c in CONSENTED
    }
    assert status.last_message is not None
    assert status.last_message["msg_id"] == ordered[-1]["msg_id"]

    # The consent and the online status are retained: a receiver connecting later finds them.
    late = Subscriber(broker, client_id="late-receiver")
    late.start()
    try:
        await late.wait_for(lambda m: len([x for x in m if x.retain]) >= 2)
        retained = {m.topic.rsplit("/", 1)[1]: m.json() for m in late.snapshot() if m.retain}
    finally:
        late.stop()
    assert retained["status"]["state"] == "online"
    assert retained["consent"]["categories"] == sorted(str(c) for c in CONSENTED)
    assert retained["consent"]["consent_id"] == uplink.config.consent.consent_id


async def test_broker_killed_mid_stream_loses_nothing(
    broker: Broker, receiver: Subscriber, running: list[Uplink], tmp_path: Path
) -> None:
    uplink = await start(running, make_config(broker, tmp_path / "outbox"))
    await feed(uplink, 0, 4)
    await receiver.wait_for(lambda m: len(m) > 10)
    broker.kill()
    await feed(uplink, 4, 4)  # the broker is down: all of this waits in the outbox
    await asyncio.sleep(0.5)
    assert uplink.status.state is SyncState.ERROR
    assert uplink.status.disconnected_since is not None
    assert uplink.status.stats.queued > 0
    broker.start()
    await feed(uplink, 8, 2)
    async with asyncio.timeout(30):
        await uplink.drain()
    expected = expected_ids(range(10))
    await receiver.wait_for(
        lambda m: len({x.json()["msg_id"] for x in m if "/data/" in x.topic}) >= len(expected)
    )
    ordered = check_delivery(receiver.snapshot(), expected)
    assert any(p["resumed"] for p in ordered)
    assert uplink.status.state is SyncState.ACTIVE
    assert uplink.status.stats.dropped == 0


async def test_restart_during_an_outage_loses_nothing(
    broker: Broker, receiver: Subscriber, running: list[Uplink], tmp_path: Path
) -> None:
    """Stop the uplink while the broker is down and start a new one on the same outbox (a restart)."""
    config = make_config(broker, tmp_path / "outbox")
    first = await start(running, config)
    await feed(first, 0, 3)
    broker.kill()
    await feed(first, 3, 3)
    first.add_samples(samples_at(T0 + timedelta(minutes=6), 2000))  # opens the period 12:06-12:07
    await first.stop()

    second = await start(running, config)
    second.add_samples(samples_at(T0 + timedelta(minutes=6, seconds=30), 2001))  # the same period
    await feed(second, 7, 2)
    broker.start()
    async with asyncio.timeout(30):
        await second.drain()
    expected = expected_ids(range(9))
    await receiver.wait_for(
        lambda m: len({x.json()["msg_id"] for x in m if "/data/" in x.topic}) >= len(expected)
    )
    ordered = check_delivery(receiver.snapshot(), expected)
    reopened = [
        p for p in ordered if p["category"] == "power" and p["period_start"] == "2026-06-21T12:06:00Z"
    ]
    assert reopened[0]["values"]["pv_power"]["n"] == 2  # one sample from before the restart, one after
    backlog = [
        p
        for p in ordered
        if p["period_end"] <= "2026-06-21T12:06:00Z" and p["period_end"] > "2026-06-21T12:03:30Z"
    ]
    assert backlog
    assert all(p["resumed"] for p in backlog)


async def test_outbox_full_drops_the_oldest_and_counts_them(
    broker: Broker,
    receiver: Subscriber,
    running: list[Uplink],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker.kill()
    limits = OutboxLimits(max_messages=20)
    uplink = await start(
        running, make_config(broker, tmp_path / "outbox", limits=limits, categories=(Category.FAULTS,))
    )
    with caplog.at_level(logging.WARNING):
        await feed(uplink, 0, 15)  # 15 periods x 3 devices = 45 fault messages
    stats = uplink.status.stats
    assert (stats.queued, stats.dropped) == (20, 25)
    assert len([r for r in caplog.records if "dropped the" in r.message]) == 1  # said once, not per message
    broker.start()
    async with asyncio.timeout(30):
        await uplink.drain()
    await receiver.wait_for(lambda m: len([x for x in m if "/data/" in x.topic]) >= 20)
    await asyncio.sleep(0.3)
    data = [m.json() for m in receiver.data()]
    assert [p["seq"] for p in data] == list(range(26, 46))  # the gap tells the receiver what was dropped
    assert uplink.status.stats.sent == 20


async def test_the_acl_confines_the_client_to_its_plant(
    broker: Broker, receiver: Subscriber, running: list[Uplink], tmp_path: Path
) -> None:
    """Publishing as another plant is refused by the broker: an auth error naming the plant's topics, and
    no retry loop (each refusal would cost a reconnect)."""
    uplink = await start(running, make_config(broker, tmp_path / "outbox", plant="plant-8"))
    await feed(uplink, 0, 2)
    async with asyncio.timeout(10):
        while uplink.status.error is None:  # noqa: ASYNC110 (paho reports on its own thread)
            await asyncio.sleep(0.05)
    await asyncio.sleep(2.5)  # the backoff is 1 s: a retry would have happened by now
    status = uplink.status
    assert status.state is SyncState.ERROR
    assert isinstance(status.error, UplinkAuthError)
    assert "sems/v1/plant-8/" in str(status.error)
    assert status.stats.sent == 0
    assert status.stats.queued > 0  # kept for when the settings are fixed
    assert broker.log().count("New client connected") == 2  # the receiver and us, once
    assert not [m for m in receiver.snapshot() if "plant-8" in m.topic]


async def test_wrong_password_is_an_auth_error_and_not_retried(
    broker: Broker, running: list[Uplink], tmp_path: Path
) -> None:
    uplink = await start(running, make_config(broker, tmp_path / "outbox", password="wrong"))
    async with asyncio.timeout(10):
        while uplink.status.error is None:  # noqa: ASYNC110 (paho reports on its own thread)
            await asyncio.sleep(0.05)
    status = uplink.status
    assert status.state is SyncState.ERROR
    assert isinstance(status.error, UplinkAuthError)
    await asyncio.sleep(2.5)  # the backoff is 1 s: a retry would have happened by now
    assert broker.log().count("not authorised") == 1
    uplink.add_samples(samples_at(T0, 1000))  # still queued for when the credentials are fixed
    await uplink.flush(T0 + timedelta(minutes=1))
    assert uplink.status.stats.queued > 0


async def test_probe(broker: Broker, pki: Pki) -> None:
    await probe_broker(settings(broker), client_id=CLIENT_ID)
    await probe_broker(settings(broker, ca_pem=pki.other_ca, verify=False), client_id=CLIENT_ID)
    cert_url = f"mqtts://{HOST}:{broker.cert_port}"
    with_cert = BrokerSettings(
        url=cert_url, ca_pem=pki.ca, client_cert_pem=pki.client_cert, client_key_pem=pki.client_key
    )
    await probe_broker(with_cert, client_id=CLIENT_ID)

    failures: list[tuple[BrokerSettings, type[Exception]]] = [
        (settings(broker, password="wrong"), UplinkAuthError),
        (settings(broker, username="nobody"), UplinkAuthError),
        (settings(broker, ca_pem=pki.other_ca), UplinkTlsError),
        (settings(broker, ca_pem=None), UplinkTlsError),  # the system CAs do not know the test CA
        (settings(broker, url=f"mqtts://{HOST}:{free_port()}"), UplinkConnectionError),
        (BrokerSettings(url=cert_url, ca_pem=pki.ca), UplinkConnectionError),  # no client certificate
        (settings(broker, ca_pem="garbage"), UplinkConfigError),
    ]
    for bad, error in failures:
        async with asyncio.timeout(15):
            with pytest.raises(error):
                await probe_broker(bad, client_id=CLIENT_ID)
    with pytest.raises(UplinkConfigError):
        await probe_broker(settings(broker, url="mqtt://127.0.0.1"), client_id=CLIENT_ID)


# --- MQTT 3.1.1 brokers -------------------------------------------------------------------------------------


class _Listener:
    def __init__(self) -> None:
        self.events: list[tuple[bool, Exception | None]] = []

    def connection_changed(self, connected: bool, error: Exception | None) -> None:
        self.events.append((connected, error))

    def acknowledged(self, mid: int, accepted: bool) -> None:
        pass

    def received(self, topic: str, payload: bytes) -> None:
        pass


async def test_a_broker_without_mqtt5_is_spoken_to_in_311_with_a_persistent_session(
    pki: Pki, tmp_path: Path, socket_enabled: None
) -> None:
    """A stand-in broker that knows only MQTT 3.1.1: it refuses the v5 CONNECT with "unacceptable
    protocol version" (3.1.1 return code 1) and accepts the 3.1.1 one."""
    connects: list[tuple[int, int]] = []  # protocol level, connect flags

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            header = await reader.readexactly(2)
            length, shift, byte = header[1] & 0x7F, 7, header[1]
            while byte & 0x80:
                byte = (await reader.readexactly(1))[0]
                length += (byte & 0x7F) << shift
                shift += 7
            body = await reader.readexactly(length)
            level, flags = body[6], body[7]
            connects.append((level, flags))
            writer.write(b"\x20\x02\x00\x01" if level == 5 else b"\x20\x02\x00\x00")
            await writer.drain()
            if level == 5:
                return
            await reader.read()  # stay until the client leaves
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    (tmp_path / "cert.pem").write_text(pki.server_cert + pki.server_key)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem")
    server = await asyncio.start_server(serve, HOST, 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    listener = _Listener()
    destination = MqttDestination(
        BrokerSettings(url=f"mqtts://{HOST}:{port}", ca_pem=pki.ca), client_id=CLIENT_ID, listener=listener
    )
    try:
        await destination.start()
        async with asyncio.timeout(10):
            while not destination.connected:  # noqa: ASYNC110 (paho reports on its own thread)
                await asyncio.sleep(0.05)
    finally:
        await destination.stop()
        server.close()
        await server.wait_closed()
    assert [level for level, _ in connects] == [5, 4]
    assert not connects[1][1] & 0x02  # clean session off: the broker keeps our session
    assert listener.events[-1] == (True, None)


# --- storage failures, edge cases ---------------------------------------------------------------------------


async def test_storage_failures_are_logged_and_the_uplink_carries_on(
    broker: Broker,
    receiver: Subscriber,
    running: list[Uplink],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uplink = await start(running, make_config(broker, tmp_path / "outbox"))
    store = uplink._store
    broken = UplinkStorageError("disk full")

    def fail(*args: Any) -> Any:
        raise broken

    with caplog.at_level(logging.WARNING):
        monkeypatch.setattr(store, "put", fail)
        await feed(uplink, 0, 1)
        assert "could not store" in caplog.text
        monkeypatch.undo()
        monkeypatch.setattr(store, "batch", fail)
        await feed(uplink, 1, 1)
        await asyncio.sleep(0.2)
        assert "could not read its outbox" in caplog.text
        monkeypatch.undo()
        monkeypatch.setattr(store, "ack", fail)
        uplink._wakeup.set()
        await receiver.wait_for(lambda m: len([x for x in m if "/data/" in x.topic]) > 0)
        await asyncio.sleep(0.5)
        assert "could not update its outbox" in caplog.text
        monkeypatch.undo()
        monkeypatch.setattr(store, "expire", fail)
        await uplink.flush(datetime.now(UTC) + timedelta(hours=2))  # nothing closes: the hourly expiry
        monkeypatch.undo()
    await feed(uplink, 2, 1)  # still going: the minute after the failures arrives
    await receiver.wait_for(
        lambda m: any("12:03:00Z" in x.payload.decode() for x in m if "/data/" in x.topic)
    )
    assert uplink.status.state is SyncState.ACTIVE


async def test_an_ack_that_arrives_while_stopping_is_written_and_leaves_no_timer(
    broker: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broker's late PUBACK lands while the uplink disconnects: it is written to the outbox by ``stop``,
    not by a flush timer that would outlive the uplink (seen once in CI as a lingering timer)."""
    monkeypatch.setattr(engine, "_ACK_FLUSH_DELAY", 60.0)  # a timer, if one is set, is still there after stop
    uplink = Uplink(make_config(broker, tmp_path / "outbox"))
    await uplink.start()
    broker.kill()  # nothing is acknowledged from here on: what is fed stays queued
    await feed(uplink, 0, 1)
    queued = uplink.status.stats.queued
    assert queued > 0
    late = uplink._store.batch(0, 1)[0]
    destination = uplink._destination
    assert destination is not None
    disconnect = destination.stop

    async def stop_with_a_late_ack() -> None:
        uplink._inflight[late.id] = late
        uplink.acknowledged(late.id, True)
        await disconnect()

    destination.stop = stop_with_a_late_ack  # type: ignore[method-assign]
    await uplink.stop()
    assert uplink._ack_flush is None
    assert uplink.status.stats.queued == queued - 1


async def test_acks_whose_flush_stop_cancels_are_still_written(broker: Broker, tmp_path: Path) -> None:
    """A burst of acknowledgements is flushed by a task; ``stop`` cancels it while it waits for the worker
    (busy storing): the acknowledged messages still leave the outbox instead of being sent again."""
    uplink = Uplink(make_config(broker, tmp_path / "outbox"))
    await uplink.start()
    broker.kill()
    await feed(uplink, 0, 1)
    queued = uplink.status.stats.queued
    messages = uplink._store.batch(0, 2)
    acked = [message.id for message in messages]
    uplink._last_payload = messages[-1].payload
    executor = uplink._executor
    assert executor is not None
    assert len(acked) == 2
    executor.submit(time.sleep, 0.2)  # the worker is busy
    uplink._acked.extend(acked)
    uplink._spawn(uplink._flush_acks())
    await asyncio.sleep(0)  # the flush took the acknowledgements and waits for the worker
    await uplink.stop()
    again = Uplink(make_config(broker, tmp_path / "outbox"))
    await again.start()
    try:
        assert again.status.stats.queued == queued - 2
    finally:
        await again.stop()


async def test_stop_with_a_failing_disk_still_ends_the_worker(
    broker: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The open periods cannot be saved (disk full): ``stop`` says so and still disconnects and ends its
    worker thread (an unload must not fail, nor leave a thread behind)."""
    uplink = Uplink(make_config(broker, tmp_path / "outbox"))
    await uplink.start()
    await feed(uplink, 0, 1)

    def fail(*args: Any) -> Any:
        raise UplinkStorageError("disk full")

    monkeypatch.setattr(uplink._store, "save_state", fail)
    with caplog.at_level(logging.WARNING):
        await uplink.stop()
    assert "disk full" in caplog.text
    assert uplink._executor is None


async def test_an_unusable_outbox_stops_start_cleanly(broker: Broker, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    uplink = Uplink(make_config(broker, tmp_path / "file" / "outbox"))
    with pytest.raises(UplinkStorageError):
        await uplink.start()
    uplink.add_samples(samples_at(T0, 1))  # not running: ignored
    await uplink.flush()
    await uplink.stop()
    assert await uplink.withdraw() == 0


async def test_the_age_limit_holds_while_nothing_new_is_queued(
    broker: Broker, running: list[Uplink], tmp_path: Path
) -> None:
    broker.kill()
    uplink = await start(running, make_config(broker, tmp_path / "outbox", categories=(Category.FAULTS,)))
    await feed(uplink, 0, 1)
    queued = uplink.status.stats.queued
    assert queued > 0
    uplink._store._clock = lambda: time.time() + 8 * 24 * 3600  # eight days later
    await uplink.flush(datetime.now(UTC) + timedelta(hours=2))
    stats = uplink.status.stats
    assert (stats.queued, stats.dropped) == (0, queued)


def test_preview_of_nothing_is_nothing() -> None:
    terms = SyncTerms.create(destination="mqtts://b", plant=PLANT, categories=["power"])
    assert preview([], terms=terms, key=KEY) == []
    messages = preview(samples_at(T0, 1), terms=terms, key=KEY)
    assert [m["seq"] for m in messages] == [1]
    assert messages[0]["values"]["pv_power"]["n"] == 1


async def test_a_broker_that_never_answers_the_handshake_does_not_hold_stop(
    broker: Broker, tmp_path: Path
) -> None:
    """A host that accepts the connection but never answers TLS (a firewall, a dead proxy): paho waits
    its keepalive (60 s) in the handshake. Stopping, and a probe cut short, must not wait for it."""
    silent = socket.socket()
    silent.bind((HOST, 0))
    silent.listen(8)
    url = f"mqtts://{HOST}:{silent.getsockname()[1]}"
    try:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(1):
                await probe_broker(settings(broker, url=url), client_id=CLIENT_ID)
        assert time.monotonic() - started < 5

        uplink = Uplink(make_config(broker, tmp_path / "outbox", url=url))
        await uplink.start()
        await asyncio.sleep(0.5)  # in the handshake now
        started = time.monotonic()
        await uplink.stop()
        assert time.monotonic() - started < 5
    finally:
        silent.close()
