"""Withdrawing consent against a real Mosquitto: the uplink purges and stops, asks for erasure until the
erase is acknowledged (also when it was acknowledged while we were away), and gives up cleanly against a
dead or refusing broker."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest

from custom_components.sems.plantkit.exceptions import (
    UplinkAuthError,
)
from custom_components.sems.plantkit.uplink import (
    Uplink,
    Withdrawal,
    WithdrawalOutcome,
    WithdrawalRequest,
)
from tests.broker import (
    PLANT,
    Broker,
    Subscriber,
    check_published,
)

from .mqtt_support import (
    CLIENT_ID,
    FORBIDDEN,
    T0,
    feed,
    make_config,
    samples_at,
    settings,
    start,
)


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
