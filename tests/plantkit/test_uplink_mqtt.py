"""The uplink against a real Mosquitto (TLS, password file, ACL): delivery, outages, limits, withdrawal."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
from collections.abc import AsyncIterator, Iterator
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
from custom_components.sems.plantkit.model import device_key
from custom_components.sems.plantkit.uplink import (
    CATEGORY_QUANTITIES,
    BrokerSettings,
    Category,
    Consent,
    DeviceRef,
    OutboxLimits,
    SyncState,
    SyncTerms,
    Uplink,
    UplinkConfig,
    UplinkSample,
    Withdrawal,
    WithdrawalOutcome,
    WithdrawalRequest,
    preview,
    probe_broker,
)
from custom_components.sems.plantkit.uplink.messages import device_reference, msg_id
from custom_components.sems.plantkit.uplink.mqtt import MqttDestination
from tests.broker import (
    CLOUD_PASSWORD,
    HOST,
    PLANT,
    PLANT_PASSWORD,
    PLANT_USER,
    Broker,
    Pki,
    Received,
    Subscriber,
    check_published,
    free_port,
)

T0 = datetime(2026, 6, 21, 12, 0, tzinfo=UTC)
KEY = bytes(range(32))
CLIENT_ID = "sems-test-plant7"
DEVICES = (  # serial, role, manufacturer, model, values
    ("9010KETU000SIM01", "inverter", "GoodWe", "GW10K-ET", {"pv_power": 5000.0, "ac_power": 4800.0}),
    ("9010KETU000SIM01", "battery", "GoodWe", "Lynx Home U", {"battery_power": -800.0, "battery_soc": 55.0}),
    ("9010KETU000SIM01", "meter", "GoodWe", "GM3000", {"grid_power": -1200.0}),
)
CONSENTED = (Category.ENERGY, Category.POWER, Category.GRID, Category.FAULTS)
FORBIDDEN = [PLANT_PASSWORD, PLANT_USER, CLOUD_PASSWORD, "9010KETU", HOST, "52.52", "13.40"]


@pytest.fixture
def receiver(broker: Broker) -> Iterator[Subscriber]:
    subscriber = Subscriber(broker)
    subscriber.start()
    try:
        yield subscriber
    finally:
        subscriber.stop()


def settings(broker: Broker, **changes: Any) -> BrokerSettings:
    values: dict[str, Any] = {
        "url": broker.url,
        "username": PLANT_USER,
        "password": PLANT_PASSWORD,
        "ca_pem": broker.pki.ca,
    }
    return BrokerSettings(**(values | changes))


def make_config(
    broker: Broker,
    directory: Path,
    *,
    categories: tuple[Category, ...] = CONSENTED,
    plant: str = PLANT,
    limits: OutboxLimits | None = None,
    **broker_changes: Any,
) -> UplinkConfig:
    terms = SyncTerms.create(destination=broker.url, plant=plant, categories=categories, resolution=60)
    return UplinkConfig(
        consent=Consent.grant(terms, at=T0),
        broker=settings(broker, **broker_changes),
        client_id=CLIENT_ID,
        device_key=KEY,
        directory=directory,
        limits=limits or OutboxLimits(),
        backoff=(1, 1),
    )


@pytest.fixture
async def running(broker: Broker, tmp_path: Path) -> AsyncIterator[list[Uplink]]:
    """Uplinks a test starts; every one is stopped at the end."""
    uplinks: list[Uplink] = []
    yield uplinks
    for uplink in uplinks:
        await uplink.stop()


async def start(uplinks: list[Uplink], config: UplinkConfig) -> Uplink:
    uplink = Uplink(config)
    await uplink.start()
    uplinks.append(uplink)
    return uplink


def samples_at(at: datetime, energy: float) -> list[UplinkSample]:
    """One poll of the three devices; energy counters grow with time."""
    result = []
    for serial, role, manufacturer, model, values in DEVICES:
        totals = {
            "inverter": {"pv_energy_total": energy, "ac_energy_total": energy * 0.96},
            "battery": {"battery_charge_energy_total": energy / 4},
            "meter": {"grid_import_energy_total": energy / 10, "grid_export_energy_total": energy / 3},
        }[role]
        result.append(
            UplinkSample(
                device_serial=serial,
                role=role,
                manufacturer=manufacturer,
                model=model,
                at=at,
                values={**values, **totals},
                status="running",
                faults=("grid_loss",) if role == "inverter" and at.minute % 7 == 0 else (),
            )
        )
    return result


async def feed(uplink: Uplink, first_minute: int, minutes: int, step: int = 10) -> None:
    """Polls every ``step`` seconds over ``minutes`` minutes from T0 + ``first_minute``; periods flushed."""
    for second in range(0, minutes * 60, step):
        at = T0 + timedelta(minutes=first_minute, seconds=second)
        uplink.add_samples(samples_at(at, 1000 + (first_minute * 60 + second) / 360))
        if second % 60 == 0:
            await uplink.flush(at)
            await asyncio.sleep(0)
    await uplink.flush(T0 + timedelta(minutes=first_minute + minutes))


def expected_ids(minutes: range, categories: tuple[Category, ...] = CONSENTED) -> set[str]:
    """The msg_id of every message the inputs must produce, worked out from the inputs alone."""
    ids = set()
    for serial, role, *_rest, values in DEVICES:
        device = device_reference(device_key(serial, role), DeviceRef.PSEUDONYM, KEY)
        reported = (
            set(values)
            | {
                "inverter": {"pv_energy_total", "ac_energy_total"},
                "battery": {"battery_charge_energy_total"},
                "meter": {"grid_import_energy_total", "grid_export_energy_total"},
            }[role]
        )
        for minute in minutes:
            end = T0 + timedelta(minutes=minute + 1)
            for category in categories:
                quantities = {str(q) for q in CATEGORY_QUANTITIES[category]}
                if category is Category.FAULTS or reported & quantities:
                    ids.add(msg_id(PLANT, device, category, end))
    return ids


def check_delivery(messages: list[Received], expected: set[str]) -> list[dict[str, Any]]:
    """Every expected message arrived; copies only with the same msg_id and content; in order; valid;
    nothing private. Returns the first copy of each message, in arrival order."""
    check_published(messages, FORBIDDEN)
    first: dict[str, dict[str, Any]] = {}
    for message in messages:
        if "/data/" not in message.topic:
            continue
        payload = message.json()
        copy = first.setdefault(payload["msg_id"], payload)
        assert {k: v for k, v in copy.items() if k != "resumed"} == {
            k: v for k, v in payload.items() if k != "resumed"
        }
        assert message.topic.endswith(f"/data/{payload['category']}")
    assert set(first) == expected, (len(first), len(expected), len(set(first) ^ expected))
    ordered = list(first.values())
    seqs = [payload["seq"] for payload in ordered]
    assert seqs == sorted(seqs)
    last_end: dict[tuple[str, str], str] = {}
    for payload in ordered:
        key = (payload["device"], payload["category"])
        assert payload["period_end"] > last_end.get(key, ""), payload
        last_end[key] = payload["period_end"]
    return ordered


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


async def test_withdrawal_purges_stops_and_the_erase_is_acknowledged(
    broker: Broker, receiver: Subscriber, running: list[Uplink], tmp_path: Path
) -> None:
    config = make_config(broker, tmp_path / "outbox")
    uplink = await start(running, config)
    await feed(uplink, 0, 2)
    async with asyncio.timeout(20):
        await uplink.drain()
    broker.kill()
    await feed(uplink, 2, 3)  # a backlog that must never leave
    assert uplink.status.stats.queued > 0
    sent = {m.json()["msg_id"] for m in receiver.data()}

    assert await uplink.withdraw() > 0
    assert not config.directory.exists()
    uplink.add_samples(samples_at(T0 + timedelta(minutes=6), 5))  # ignored from now on

    broker.start()
    receiver.answer_erase = True
    request = WithdrawalRequest(
        plant=PLANT,
        request_id="4c7d8d3e-2a42-4c55-9a0e-3a1c8f1f2b61",
        requested_at=T0,
        consent_id=config.consent.consent_id,
    )
    withdrawal = Withdrawal(config.broker, client_id=CLIENT_ID, request=request)
    async with asyncio.timeout(20):
        assert await withdrawal.run() is WithdrawalOutcome.ACKNOWLEDGED
    await asyncio.sleep(1.5)  # a purged message would have been sent by now
    assert {m.json()["msg_id"] for m in receiver.data()} == sent
    check_published(receiver.snapshot(), FORBIDDEN)
    erase = receiver.on("/erase")[-1].json()
    assert erase["request_id"] == request.request_id
    assert erase["consent_id"] == config.consent.consent_id

    late = Subscriber(broker, client_id="late-receiver")
    late.start()
    try:
        await late.wait_for(lambda m: any(x.retain for x in m))
        await asyncio.sleep(0.3)
        retained = {m.topic.rsplit("/", 1)[1]: m.payload for m in late.snapshot() if m.retain}
    finally:
        late.stop()
    assert retained == {"status": b'{"schema":"sems/v1","plant":"plant-7","state":"withdrawn"}'}  # no consent


async def test_an_erase_acknowledged_while_we_were_away_is_received_next_time(
    broker: Broker, receiver: Subscriber, tmp_path: Path
) -> None:
    request = WithdrawalRequest(
        plant=PLANT, request_id="0e0c9c8e-5f0a-4f57-8d4c-6d5f2c1b7a90", requested_at=T0, consent_id=None
    )
    withdrawal = Withdrawal(settings(broker), client_id=CLIENT_ID, request=request)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(2):
            await withdrawal.run()
    assert withdrawal.outcome is WithdrawalOutcome.NOT_ACKNOWLEDGED
    assert receiver.on("/erase")

    # The receiver answers later, while we are offline; the persistent session keeps the answer for us.
    ack = {
        "schema": "sems/v1",
        "plant": PLANT,
        "request_id": request.request_id,
        "acknowledged_at": "2026-06-21T13:00:00Z",
    }
    answer = Subscriber(broker, client_id="cloud-answer")
    answer.start()
    try:
        assert answer._client is not None
        answer._client.publish(f"sems/v1/{PLANT}/erase/ack", json.dumps(ack), qos=1).wait_for_publish(5)
    finally:
        answer.stop()
    again = Withdrawal(settings(broker), client_id=CLIENT_ID, request=request)
    async with asyncio.timeout(10):
        assert await again.run() is WithdrawalOutcome.ACKNOWLEDGED


async def test_withdrawal_without_erase_and_against_a_dead_or_refusing_broker(broker: Broker) -> None:
    request = WithdrawalRequest(
        plant=PLANT,
        request_id="0e0c9c8e-5f0a-4f57-8d4c-6d5f2c1b7a91",
        requested_at=T0,
        consent_id=None,
        erase=False,
    )
    async with asyncio.timeout(10):
        assert (
            await Withdrawal(settings(broker), client_id=CLIENT_ID, request=request).run()
            is WithdrawalOutcome.ACKNOWLEDGED
        )
    with pytest.raises(UplinkAuthError):
        async with asyncio.timeout(10):
            await Withdrawal(settings(broker, password="wrong"), client_id=CLIENT_ID, request=request).run()
    broker.stop()
    unreachable = Withdrawal(settings(broker), client_id=CLIENT_ID, request=request)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(1.5):
            await unreachable.run()
    assert unreachable.outcome is WithdrawalOutcome.UNREACHABLE


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
