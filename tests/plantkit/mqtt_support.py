"""Helpers shared by the uplink's tests against a real Mosquitto (``test_uplink_mqtt.py``,
``test_uplink_withdrawal.py``): the plant's three devices and their readings, the uplink's configuration,
and the check that every expected message arrived once, in order and with nothing private. Their fixtures
(``receiver``, ``running``) are in ``conftest.py``; ``broker`` and ``pki`` in ``tests/conftest.py``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from custom_components.sems.plantkit.model import device_key
from custom_components.sems.plantkit.uplink import (
    CATEGORY_QUANTITIES,
    BrokerSettings,
    Category,
    Consent,
    DeviceRef,
    OutboxLimits,
    SyncTerms,
    Uplink,
    UplinkConfig,
    UplinkSample,
)
from custom_components.sems.plantkit.uplink.messages import device_reference, msg_id
from tests.broker import (
    CLOUD_PASSWORD,
    HOST,
    PLANT,
    PLANT_PASSWORD,
    PLANT_USER,
    Broker,
    Received,
    check_published,
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
    # Stored by the worker meanwhile: counting the queue before it is done counted one message short once
    # (CI under load), and a test then saw a late acknowledgement cancel out the message stored after.
    await uplink._wait_storing()


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
