"""Helpers shared by the cloud-sync tests (``test_cloud.py``, ``test_cloud_resilience.py``): the fake clock
the sync stamps readings with, a log of every lookup and connection, the options form, consent without the
flow, and what the simulated GoodWe ET must publish. Their fixtures (``config_dir``, ``receiver``, ``clock``,
``sockets``) are in ``conftest.py``; ``pki`` and ``broker`` in ``tests/conftest.py``."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.util import dt as dt_util

from custom_components.sems import cloud
from custom_components.sems.cloud import (
    CONF_CA,
    CONF_CATEGORIES,
    CONF_CLOUD,
    CONF_CLOUD_CONSENT,
    CONF_DEVICE_REF,
    CONF_PLANT,
    CONF_RESOLUTION,
    CONF_URL,
    CloudSettings,
    CloudSync,
)
from custom_components.sems.plantkit.uplink import (
    CATEGORY_QUANTITIES,
    BrokerSettings,
    Category,
    Consent,
    DeviceRef,
    SyncTerms,
)
from custom_components.sems.plantkit.uplink.messages import PLANT_ROLE, device_reference, msg_id
from tests.broker import (
    PLANT,
    PLANT_PASSWORD,
    PLANT_USER,
    Broker,
    Subscriber,
)

T0 = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)
CONSENTED = ["energy", "grid", "power"]
USER_TITLE = "Nguyen family roof"  # an entry name a user gave: must never leave the LAN
SYNC = "sensor.goodwe_gw10k_et_plant_cloud_sync"


class Clock:
    """The time the sync stamps readings with (the plant's simulator is frozen anyway)."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class SocketLog:
    """Every name lookup and every connection this process makes, from any thread."""

    def __init__(self) -> None:
        self.lookups: list[tuple[Any, Any]] = []
        self.connects: list[Any] = []
        self._lock = threading.Lock()

    def ports(self) -> set[int]:
        with self._lock:
            return {address[1] for address in self.connects if isinstance(address, tuple)}

    def looked_up_ports(self) -> set[Any]:
        with self._lock:
            return {port for _host, port in self.lookups}


def sync_of(entry: ConfigEntry) -> CloudSync:
    sync = entry.runtime_data.cloud_sync
    assert sync is not None
    return sync


def files_under(path: Path) -> list[str]:
    """Everything in the config directory besides Home Assistant's own (empty) .storage."""
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if p != path / ".storage")


def form(broker: Broker, **changes: Any) -> dict[str, Any]:
    """The "Cloud sync" form as a user fills it in."""
    values: dict[str, Any] = {
        CONF_URL: broker.url,
        CONF_PLANT: PLANT,
        CONF_USERNAME: PLANT_USER,
        CONF_PASSWORD: PLANT_PASSWORD,
        CONF_CA: broker.pki.ca,
        CONF_VERIFY_SSL: True,
        CONF_CATEGORIES: CONSENTED,
        CONF_RESOLUTION: "60",
        CONF_DEVICE_REF: "pseudonym",
    }
    return values | changes


async def enable_sync(
    hass: HomeAssistant,
    entry: ConfigEntry,
    broker: Broker,
    *,
    password: str = PLANT_PASSWORD,
    ca: str | None = None,
    verify: bool = True,
    categories: list[str] = CONSENTED,
) -> CloudSettings:
    """Consent given (as the options flow stores it), without going through the flow."""
    settings = CloudSettings.create(
        BrokerSettings(
            url=broker.url,
            username=PLANT_USER,
            password=password,
            ca_pem=broker.pki.ca if ca is None else ca,
            verify=verify,
        ),
        SyncTerms.create(destination=broker.url, plant=PLANT, categories=categories, resolution=60),
        None,
    )
    consent = Consent.grant(settings.terms, at=dt_util.utcnow(), user_id="u-123", user_name="Tester")
    hass.config_entries.async_update_entry(
        entry,
        options={**entry.options, CONF_CLOUD: settings.to_options(), CONF_CLOUD_CONSENT: consent.to_dict()},
    )
    await hass.async_block_till_done()
    return settings


async def read_for(
    hass: HomeAssistant, entry: ConfigEntry, clock: Clock, minutes: int, step: int = 20
) -> None:
    """Poll the plant every ``step`` seconds of the fake clock for ``minutes`` minutes, then close the
    periods that ended."""
    coordinator = entry.runtime_data
    start = clock.now
    for second in range(0, minutes * 60, step):
        clock.now = start + timedelta(seconds=second)
        await coordinator.async_refresh()
    clock.now = start + timedelta(minutes=minutes)
    await sync_of(entry).async_tick(clock.now)
    await hass.async_block_till_done()


async def drained(entry: ConfigEntry) -> None:
    uplink = sync_of(entry).uplink
    assert uplink is not None
    async with asyncio_timeout(20):
        await uplink.drain()


def asyncio_timeout(seconds: float) -> Any:
    return asyncio.timeout(seconds)


def expected_ids(entry: ConfigEntry, minutes: range, categories: list[str]) -> set[str]:
    """The msg_id of every message the simulated GoodWe ET must produce, from what each device and the
    plant as a whole report."""
    settings = cloud.cloud_settings(entry.options)
    assert settings is not None
    ids = set()
    plant = entry.runtime_data.data
    reporters = [(snapshot.identity.key, snapshot.values) for snapshot in plant.devices.values()]
    reporters.append((PLANT_ROLE, plant.totals))  # the plant's own values: one more device
    for key, values in reporters:
        device = device_reference(key, DeviceRef.PSEUDONYM, settings.device_key)
        reported = {str(q) for q, sample in values.items() if sample.value is not None}
        for category in categories:
            if reported & {str(q) for q in CATEGORY_QUANTITIES[Category(category)]}:
                for minute in minutes:
                    ids.add(msg_id(PLANT, device, category, T0 + timedelta(minutes=minute + 1)))
    return ids


def data_ids(receiver: Subscriber) -> set[str]:
    return {m.json()["msg_id"] for m in receiver.data()}


def state(hass: HomeAssistant, entity_id: str) -> str:
    found = hass.states.get(entity_id)
    assert found is not None, entity_id
    return found.state


async def open_cloud_step(hass: HomeAssistant, entry: ConfigEntry) -> dict[str, Any]:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "cloud_sync"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "cloud_sync"
    return dict(result)
