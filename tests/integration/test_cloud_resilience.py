"""Cloud sync in Home Assistant when things go wrong, against the simulated plant and a real Mosquitto: the
broker down and Home Assistant restarting (nothing lost), refused credentials and reauthentication, what
counts as a reading, unusable options, an outbox that cannot be opened, the plant down, and an erase that
waits. The privacy-policy clauses are in ``test_cloud.py``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

import pytest
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME, EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from custom_components.sems import cloud
from custom_components.sems.cloud import (
    CONF_CLOUD,
    CONF_CLOUD_CONSENT,
    CONF_CLOUD_ERASE,
    CONF_URL,
)
from custom_components.sems.const import DOMAIN
from custom_components.sems.plantkit.uplink import Uplink
from simulator.plant import SimulatedPlant
from tests.broker import (
    PLANT_PASSWORD,
    PLANT_USER,
    Broker,
    Subscriber,
    check_published,
)

from .cloud_common import (
    CONSENTED,
    SYNC,
    T0,
    Clock,
    asyncio_timeout,
    data_ids,
    drained,
    enable_sync,
    expected_ids,
    files_under,
    form,
    open_cloud_step,
    read_for,
    state,
    sync_of,
)
from .conftest import GOODWE_ET_TCP, add_plant

# Each test has a config directory of its own: the sync's files land there, and nothing else may.
pytestmark = pytest.mark.usefixtures("config_dir")

# --- outages and restarts -----------------------------------------------------------------------------------


async def test_broker_down_and_home_assistant_restart_lose_nothing(
    hass: HomeAssistant,
    broker: Broker,
    plant: SimulatedPlant,
    receiver: Subscriber,
    clock: Clock,
    issue_registry: ir.IssueRegistry,
) -> None:
    """The broker dies mid-stream; Home Assistant restarts (the entry reloads) during the outage; an hour
    later a repair issue says so; when the broker is back everything arrives and the issue goes."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    await enable_sync(hass, entry, broker)
    await read_for(hass, entry, clock, 2)
    await receiver.wait_for(lambda m: len(data_ids(receiver)) > 0)
    broker.kill()
    await read_for(hass, entry, clock, 2)
    assert sync_of(entry).stats.queued > 0

    assert await hass.config_entries.async_reload(entry.entry_id)  # a restart: only the disk survives
    await hass.async_block_till_done()
    await read_for(hass, entry, clock, 2)
    sync = sync_of(entry)
    await sync.async_tick(dt_util.utcnow() + timedelta(minutes=61))
    issue_id = f"cloud_unreachable_{entry.entry_id}"
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert int(issue.translation_placeholders["queued"]) > 0

    broker.start()
    await drained(entry)
    expected = expected_ids(entry, range(6), CONSENTED)
    await receiver.wait_for(lambda m: data_ids(receiver) >= expected, 30)
    check_published(receiver.snapshot(), [PLANT_PASSWORD])
    assert data_ids(receiver) == expected
    assert any(m.json()["resumed"] for m in receiver.data())
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


@pytest.mark.parametrize("action", ["withdraw", "pause"])
async def test_the_unreachable_issue_goes_when_sync_stops_or_pauses(
    hass: HomeAssistant,
    broker: Broker,
    plant: SimulatedPlant,
    issue_registry: ir.IssueRegistry,
    monkeypatch: pytest.MonkeyPatch,
    action: str,
) -> None:
    """ "The broker is unreachable" is about a sync that runs: stopping it (or a change of terms pausing it)
    ends what the issue asks the user to fix."""
    monkeypatch.setattr(cloud, "WITHDRAWAL_WAIT", 0.5)
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    settings = await enable_sync(hass, entry, broker)
    broker.kill()
    sync = sync_of(entry)
    await sync.async_tick(dt_util.utcnow() + timedelta(minutes=61))
    issue_id = f"cloud_unreachable_{entry.entry_id}"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None

    if action == "withdraw":
        await cloud.async_withdraw(hass, entry, erase=False)
    else:  # consent to other categories than the ones configured now
        hass.config_entries.async_update_entry(
            entry, options={**entry.options, CONF_CLOUD: {**settings.to_options(), "categories": ["faults"]}}
        )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert sync.state.value == ("off" if action == "withdraw" else "paused")
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_home_assistant_stopping_keeps_the_open_period(
    hass: HomeAssistant, broker: Broker, plant: SimulatedPlant, receiver: Subscriber, clock: Clock
) -> None:
    """Home Assistant does not unload entries when it stops: the sync must keep its open period (and energy
    references) on disk at EVENT_HOMEASSISTANT_STOP, or a restart loses up to a period of readings."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    await enable_sync(hass, entry, broker, categories=["power"])
    coordinator = entry.runtime_data
    for second in (0, 20, 40):  # the period 10:00-10:01 stays open
        clock.now = T0 + timedelta(seconds=second)
        await coordinator.async_refresh()
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()

    # The process ends here: nothing else is saved. The next start reads the disk.
    with patch.object(Uplink, "stop", autospec=True):
        assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    clock.now = T0 + timedelta(seconds=50)
    await entry.runtime_data.async_refresh()
    await sync_of(entry).async_tick(T0 + timedelta(minutes=1))
    await drained(entry)
    await receiver.wait_for(lambda m: len(receiver.data()) > 0)
    power = next(m.json() for m in receiver.data() if m.topic.endswith("/power"))
    assert power["period_start"] == "2026-06-21T10:00:00Z"
    assert power["values"]["pv_power"]["n"] == 4  # three readings before the stop, one after


async def test_wrong_password_starts_reauth_and_the_user_fixes_it(
    hass: HomeAssistant, broker: Broker, plant: SimulatedPlant, receiver: Subscriber, clock: Clock
) -> None:
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    await enable_sync(hass, entry, broker, password="changed-on-the-server")
    async with asyncio_timeout(10):
        while not hass.config_entries.flow.async_progress_by_handler(DOMAIN):
            await hass.async_block_till_done()
    flow = hass.config_entries.flow.async_progress_by_handler(DOMAIN)[0]
    assert flow["context"]["source"] == "reauth"
    assert sync_of(entry).state.value == "error"
    await read_for(hass, entry, clock, 1)  # readings still wait in the outbox
    assert sync_of(entry).stats.queued > 0

    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_USERNAME: PLANT_USER, CONF_PASSWORD: "still wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_USERNAME: PLANT_USER, CONF_PASSWORD: PLANT_PASSWORD}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.options[CONF_CLOUD][CONF_PASSWORD] == PLANT_PASSWORD
    await drained(entry)
    await receiver.wait_for(lambda m: data_ids(receiver) >= expected_ids(entry, range(1), CONSENTED))
    assert sync_of(entry).state.value == "active"


async def test_reauth_without_cloud_settings_aborts(hass: HomeAssistant, plant: SimulatedPlant) -> None:
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_REAUTH, "entry_id": entry.entry_id}, data=dict(entry.data)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "cloud_not_configured"


# --- what is a reading, and the rarer paths -----------------------------------------------------------------


async def test_only_fresh_readings_count(
    hass: HomeAssistant, broker: Broker, plant: SimulatedPlant, receiver: Subscriber, clock: Clock
) -> None:
    """A poll that fails keeps the last reading on screen, but that is no new reading: the period's power
    mean is made of the polls that answered (n counts them)."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    await enable_sync(hass, entry, broker, categories=["power"])
    server = plant.server(GOODWE_ET_TCP.endpoint)
    coordinator = entry.runtime_data
    for second, fails in ((0, False), (20, True), (40, False)):
        clock.now = T0 + timedelta(seconds=second)
        server.faults.exception_code = 4 if fails else None  # "device failure": a failed poll
        await coordinator.async_refresh()
    server.faults.clear()
    assert coordinator.monitor.failed_polls == 0
    await sync_of(entry).async_tick(T0 + timedelta(minutes=1))
    await drained(entry)
    await receiver.wait_for(lambda m: len(receiver.data()) > 0)
    power = next(m.json() for m in receiver.data() if m.topic.endswith("/power"))
    assert power["values"]["pv_power"]["n"] == 2


async def test_unusable_options_leave_sync_off(
    hass: HomeAssistant, broker: Broker, plant: SimulatedPlant, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    hass.config_entries.async_update_entry(
        entry, options={CONF_CLOUD: {CONF_URL: "mqtts://x"}, CONF_CLOUD_CONSENT: {"consent_id": 1}}
    )
    await hass.async_block_till_done()
    assert state(hass, SYNC) == "off"
    assert "Ignoring unusable cloud sync settings" in caplog.text
    settings = await enable_sync(hass, entry, broker)
    hass.config_entries.async_update_entry(
        entry, options={CONF_CLOUD: settings.to_options(), CONF_CLOUD_CONSENT: {"consent_id": 1}}
    )
    await hass.async_block_till_done()
    assert state(hass, SYNC) == "off"
    assert "unreadable cloud sync consent record" in caplog.text
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_an_outbox_that_cannot_be_opened_is_an_error_state(
    hass: HomeAssistant, broker: Broker, plant: SimulatedPlant, config_dir: Path
) -> None:
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    blocked = cloud.sync_directory(hass, entry.entry_id)
    blocked.parent.mkdir(parents=True)
    blocked.write_text("not a directory")
    await enable_sync(hass, entry, broker)
    assert sync_of(entry).state.value == "error"
    assert state(hass, SYNC) == "error"


async def test_cloud_steps_while_the_plant_is_down(
    hass: HomeAssistant, broker: Broker, plant: SimulatedPlant, receiver: Subscriber, config_dir: Path
) -> None:
    """An entry that is not loaded can still be given consent (no example yet) and have it withdrawn; the
    withdrawal is sent when the entry loads."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    assert await hass.config_entries.async_unload(entry.entry_id)
    result = await open_cloud_step(hass, entry)
    result = await hass.config_entries.options.async_configure(result["flow_id"], form(broker))
    assert result["description_placeholders"]["example"] == "-"
    await hass.config_entries.options.async_configure(result["flow_id"], {"agree": True})
    assert entry.options[CONF_CLOUD_CONSENT]

    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "cloud_stop"}
    )
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"erase": True})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert CONF_CLOUD not in entry.options
    assert entry.options[CONF_CLOUD_ERASE]["erase"] is True
    assert files_under(config_dir) == []

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert CONF_CLOUD_ERASE not in entry.options  # sent at setup, acknowledged
    assert receiver.on("/erase/ack")


async def test_waiting_for_an_erase_can_be_retried_now_or_given_up(
    hass: HomeAssistant,
    broker: Broker,
    plant: SimulatedPlant,
    issue_registry: ir.IssueRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cloud, "WITHDRAWAL_WAIT", 0.5)
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    await enable_sync(hass, entry, broker)
    broker.stop()
    options = await cloud.async_withdraw(hass, entry, erase=True)
    await hass.async_block_till_done(wait_background_tasks=True)
    issue_id = f"cloud_erase_pending_{entry.entry_id}"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    assert entry.options == options

    # "Stop cloud sync" again, erase ticked: send now rather than in an hour.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["menu_options"] == ["polling", "controls", "cloud_sync", "cloud_stop"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "cloud_stop"}
    )
    assert result["description_placeholders"] == {"destination": "-", "plant": "-"}
    await hass.config_entries.options.async_configure(result["flow_id"], {"erase": True})
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.options[CONF_CLOUD_ERASE]["request_id"] == options[CONF_CLOUD_ERASE]["request_id"]

    # ...or give up waiting: credentials and issue go.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "cloud_stop"}
    )
    await hass.config_entries.options.async_configure(result["flow_id"], {"erase": False})
    await hass.async_block_till_done(wait_background_tasks=True)
    assert CONF_CLOUD_ERASE not in entry.options
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None

    # An unreadable pending record is dropped, not retried for ever.
    hass.config_entries.async_update_entry(entry, options={CONF_CLOUD_ERASE: {"request_id": "r1"}})
    await hass.async_block_till_done(wait_background_tasks=True)
    assert CONF_CLOUD_ERASE not in entry.options


async def test_removing_an_entry_whose_broker_refuses_says_so(
    hass: HomeAssistant,
    broker: Broker,
    plant: SimulatedPlant,
    caplog: pytest.LogCaptureFixture,
    config_dir: Path,
) -> None:
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    await enable_sync(hass, entry, broker, password="revoked")
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert files_under(config_dir) == []
    assert "erase request" in caplog.text
    assert "was not acknowledged" in caplog.text
