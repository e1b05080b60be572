"""Cloud sync in Home Assistant, against the simulated plant and a real Mosquitto (TLS, passwords, ACL).

Each privacy-policy clause the README names has its test here: off by default with no DNS lookup, socket
or file (§1.1, §3.1); consent per category in the options flow (§1.1, §1.5, §1.6); TLS with verification
(§4.3); diagnostics show the consent record and the last message (§5.1); withdrawal stops, purges and
asks for erasure until acknowledged (§5.4, §5.3); removing the entry deletes everything (§5.3, §5.5);
no IP, MAC, location, names or credentials in any message (retention of IP addresses). Outages,
restarts, reauthentication and the rarer paths are in ``test_cloud_resilience.py``.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from homeassistant.const import CONF_PASSWORD
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.sems import cloud
from custom_components.sems.cloud import (
    CONF_CA,
    CONF_CATEGORIES,
    CONF_CLOUD,
    CONF_CLOUD_CONSENT,
    CONF_CLOUD_ERASE,
    CONF_PLANT,
    CONF_URL,
)
from custom_components.sems.const import DOMAIN
from custom_components.sems.plantkit.uplink import Category
from simulator.plant import SimulatedPlant
from tests.broker import (
    HOST,
    PLANT,
    PLANT_PASSWORD,
    PLANT_USER,
    Broker,
    Subscriber,
    check_published,
    free_port,
)

from .cloud_common import (
    CONSENTED,
    SYNC,
    USER_TITLE,
    Clock,
    SocketLog,
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
from .common import entry_device
from .conftest import GOODWE_ET_TCP, add_plant

# Each test has a config directory of its own: the sync's files land there, and nothing else may.
pytestmark = pytest.mark.usefixtures("config_dir")

# --- off by default -----------------------------------------------------------------------------------------


async def test_sync_is_off_by_default_no_lookup_no_socket_no_file(
    hass: HomeAssistant,
    broker: Broker,
    plant: SimulatedPlant,
    sockets: SocketLog,
    config_dir: Path,
    hass_client: ClientSessionGenerator,
) -> None:
    """§1.1 consent before collection, §3.1 no sharing without consent: without consent the sync makes no
    name lookup, opens no socket other than the plant's, and writes no file."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    for _ in range(3):
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=31))
        await hass.async_block_till_done(wait_background_tasks=True)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["menu_options"] == ["polling", "controls", "cloud_sync"]  # nothing to stop
    await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "polling"})

    assert state(hass, SYNC) == "off"
    assert state(hass, "sensor.goodwe_gw10k_et_plant_cloud_sync_sent") == "0"
    assert sockets.ports() <= {plant.port(GOODWE_ET_TCP.endpoint), 0}  # 0: loopback socket pairs
    assert sockets.lookups == []  # no name lookup at all (the plant is at a literal address)
    assert broker.port not in sockets.ports()
    assert files_under(config_dir) == []
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["cloud_sync"]["state"] == "off"
    assert diagnostics["cloud_sync"]["consent"] is None


# --- consent, delivery, what is in a message ----------------------------------------------------------------


async def test_consent_in_the_options_flow_then_only_consented_data_arrives(
    hass: HomeAssistant,
    broker: Broker,
    plant: SimulatedPlant,
    receiver: Subscriber,
    clock: Clock,
    hass_client: ClientSessionGenerator,
    hass_admin_user: Any,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
    config_dir: Path,
) -> None:
    """The user ticks categories, reads what will leave (with an example), agrees; then every reading of
    those categories arrives, valid, in order, without anything private; nothing else is sent."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    hass.config_entries.async_update_entry(entry, title=USER_TITLE)
    inverter = next(d for d in dr.async_entries_for_config_entry(device_registry, entry.entry_id) if d.model)
    device_registry.async_update_device(inverter.id, name_by_user="Roof inverter")

    result = await open_cloud_step(hass, entry)
    assert result["data_schema"]({CONF_URL: "x", CONF_PLANT: "p"})[CONF_CATEGORIES] == []  # none preselected
    result = await hass.config_entries.options.async_configure(result["flow_id"], form(broker))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "cloud_confirm"
    placeholders = result["description_placeholders"]
    assert placeholders["destination"] == f"{HOST}:{broker.port}"
    assert placeholders["minutes"] == "1"
    assert placeholders["device_ref"] == "A pseudonym (recommended)"  # in the user's language
    assert "`energy`: pv_energy_total" in placeholders["categories"]
    example = json.loads(placeholders["example"])
    assert example["category"] in CONSENTED
    assert example["plant"] == PLANT
    assert result["data_schema"]({})["agree"] is False  # "I agree" starts unticked
    assert not receiver.snapshot()  # nothing published before consent
    assert files_under(config_dir) == []

    result = await hass.config_entries.options.async_configure(result["flow_id"], {"agree": False})
    assert result["errors"] == {"agree": "consent_required"}
    assert await async_setup_component(hass, "config", {})
    assert await async_setup_component(hass, "diagnostics", {})  # before the client freezes the routes
    client = await hass_client()  # agree through the HTTP API, as the frontend does: the user is recorded
    response = await client.post(
        f"/api/config/config_entries/options/flow/{result['flow_id']}", json={"agree": True}
    )
    assert response.status == 200, await response.text()
    await hass.async_block_till_done()

    consent = entry.options[CONF_CLOUD_CONSENT]
    assert consent["user_id"] == hass_admin_user.id
    assert consent["categories"] == CONSENTED
    assert consent["destination"] == broker.url
    assert consent["resolution"] == 60
    assert consent["schema"] == "sems/v1"
    await receiver.wait_for(lambda m: any(x.topic.endswith("/consent") for x in m))

    await read_for(hass, entry, clock, 3)
    await drained(entry)
    expected = expected_ids(entry, range(3), CONSENTED)
    await receiver.wait_for(lambda m: data_ids(receiver) >= expected)
    await hass.async_block_till_done()

    messages = receiver.snapshot()
    forbidden = [
        USER_TITLE,
        "Roof inverter",
        entry.entry_id,
        inverter.id,
        hass_admin_user.id,
        hass_admin_user.name,
        PLANT_USER,
        PLANT_PASSWORD,
        HOST,
        str(hass.config.latitude),
        str(hass.config.longitude),
        hass.config.location_name,
        GOODWE_ET_TCP.unique_id,  # the serial: pseudonyms by default
        *(e.entity_id for e in er.async_entries_for_config_entry(entity_registry, entry.entry_id)),
    ]
    check_published(messages, forbidden)
    data = [m.json() for m in messages if "/data/" in m.topic]
    assert {p["msg_id"] for p in data} == expected
    assert {p["category"] for p in data} == set(CONSENTED)
    assert [p["seq"] for p in data] == sorted(p["seq"] for p in data)
    retained_consent = json.loads(next(m for m in messages if m.topic.endswith("/consent")).payload)
    assert retained_consent["consent_id"] == consent["consent_id"]
    assert "user" not in json.dumps(retained_consent)

    await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=2))  # the sensors' debounce
    await hass.async_block_till_done()
    assert state(hass, SYNC) == "active"
    assert state(hass, "sensor.goodwe_gw10k_et_plant_cloud_sync_sent") == str(len(expected))
    assert state(hass, "sensor.goodwe_gw10k_et_plant_cloud_sync_queued") == "0"
    assert state(hass, "sensor.goodwe_gw10k_et_plant_cloud_sync_dropped") == "0"
    assert state(hass, "sensor.goodwe_gw10k_et_plant_cloud_sync_last_success") not in (
        "unknown",
        "unavailable",
    )
    registry_entry = entity_registry.async_get("sensor.goodwe_gw10k_et_plant_cloud_sync_sent_power")
    assert registry_entry is not None
    assert registry_entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    plant_device = entry_device(hass, entry, f"{entry.unique_id}_plant")
    assert plant_device is not None
    assert plant_device.name == f"{GOODWE_ET_TCP.title} plant"  # named after the entry

    # §5.1 access: diagnostics show the consent record and the last message; no secret.
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    section = diagnostics["cloud_sync"]
    assert section["consent"]["consent_id"] == consent["consent_id"]
    assert section["consent"]["user_id"] == hass_admin_user.id
    assert section["last_message"]["msg_id"] in expected
    assert section["sent_by_category"] == {c: sum(1 for p in data if p["category"] == c) for c in CONSENTED}
    text = json.dumps(diagnostics)
    for secret in (
        PLANT_PASSWORD,
        PLANT_USER,
        broker.pki.ca.splitlines()[1],
        entry.options[CONF_CLOUD]["device_key"],
    ):
        assert secret not in text
    assert files_under(config_dir)  # the outbox exists while sync runs


async def test_every_category_is_valid_and_leaks_nothing(
    hass: HomeAssistant,
    broker: Broker,
    plant: SimulatedPlant,
    receiver: Subscriber,
    clock: Clock,
    device_registry: dr.DeviceRegistry,
) -> None:
    """All seven categories at once (the flow test sends three): every message is valid and carries no
    host, serial, MAC, location, Home Assistant name or id, or credential."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    hass.config_entries.async_update_entry(entry, title=USER_TITLE)
    everything = [str(category) for category in Category]
    await enable_sync(hass, entry, broker, categories=everything)
    await read_for(hass, entry, clock, 2)
    await drained(entry)
    await receiver.wait_for(lambda m: {x.json()["category"] for x in receiver.data()} == set(everything))
    devices = dr.async_entries_for_config_entry(device_registry, entry.entry_id)
    forbidden = [
        USER_TITLE,
        entry.entry_id,
        PLANT_USER,
        PLANT_PASSWORD,
        HOST,
        str(hass.config.latitude),
        str(hass.config.longitude),
        hass.config.location_name,
        GOODWE_ET_TCP.unique_id,
        *(device.id for device in devices),
        *(device.name for device in devices if device.name),
        *(mac for device in devices for _kind, mac in device.connections),
        *(serial for device in devices if (serial := device.serial_number)),
    ]
    check_published(receiver.snapshot(), forbidden)


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({CONF_URL: "mqtt://127.0.0.1:1883"}, {CONF_URL: "invalid_url"}),
        ({CONF_URL: f"mqtts://{'a' * 64}.example"}, {CONF_URL: "invalid_url"}),  # no host name
        ({CONF_PLANT: "plant/7"}, {CONF_PLANT: "invalid_plant"}),
        ({CONF_CATEGORIES: []}, {CONF_CATEGORIES: "no_categories"}),
        (
            {CONF_CA: "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----"},
            {CONF_CA: "invalid_certificate"},
        ),
        ({CONF_CA: "Chứng chỉ CA của tôi"}, {CONF_CA: "invalid_certificate"}),  # not ASCII
        ({"other_ca": True}, {"base": "tls_error"}),
        ({CONF_PASSWORD: "wrong"}, {"base": "invalid_auth"}),
        ({"closed_port": True}, {"base": "cloud_cannot_connect"}),
    ],
    ids=["url", "host", "plant", "categories", "pem", "pem_text", "wrong_ca", "password", "closed_port"],
)
async def test_cloud_step_errors_and_recovery(
    hass: HomeAssistant,
    broker: Broker,
    plant: SimulatedPlant,
    changes: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """Each bad input is a clear error on the step (a wrong CA too); the user corrects it and finishes."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    result = await open_cloud_step(hass, entry)
    if changes.pop("other_ca", False):
        changes[CONF_CA] = broker.pki.other_ca
    if changes.pop("closed_port", False):
        changes[CONF_URL] = f"mqtts://{HOST}:{free_port()}"
    result = await hass.config_entries.options.async_configure(result["flow_id"], form(broker, **changes))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "cloud_sync"
    assert result["errors"] == errors
    assert CONF_CLOUD not in entry.options

    result = await hass.config_entries.options.async_configure(result["flow_id"], form(broker))
    assert result["step_id"] == "cloud_confirm"
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"agree": True})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert sync_of(entry).state.value == "active"


async def test_changing_what_is_sent_pauses_until_confirmed_again(
    hass: HomeAssistant,
    broker: Broker,
    plant: SimulatedPlant,
    receiver: Subscriber,
    clock: Clock,
    config_dir: Path,
) -> None:
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    await enable_sync(hass, entry, broker)
    first_consent = entry.options[CONF_CLOUD_CONSENT]["consent_id"]
    assert state(hass, SYNC) == "active"

    result = await open_cloud_step(hass, entry)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], form(broker, **{CONF_CATEGORIES: ["energy", "faults"], CONF_PASSWORD: ""})
    )
    assert result["step_id"] == "cloud_confirm"
    await hass.async_block_till_done()
    assert state(hass, SYNC) == "paused"
    assert files_under(config_dir) == []  # what was queued under the old terms is gone
    hass.config_entries.options.async_abort(result["flow_id"])  # the user closes the dialog
    await read_for(hass, entry, clock, 2)
    assert state(hass, SYNC) == "paused"
    assert not receiver.data()

    result = await open_cloud_step(hass, entry)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], form(broker, **{CONF_CATEGORIES: ["energy", "faults"], CONF_PASSWORD: ""})
    )
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"agree": True})
    await hass.async_block_till_done()
    assert state(hass, SYNC) == "active"
    assert entry.options[CONF_CLOUD][CONF_PASSWORD] == PLANT_PASSWORD  # an empty field kept it
    consent = entry.options[CONF_CLOUD_CONSENT]
    assert consent["consent_id"] != first_consent
    assert consent["categories"] == ["energy", "faults"]
    await receiver.wait_for(
        lambda m: any(
            x.topic.endswith("/consent") and x.json()["consent_id"] == consent["consent_id"] for x in m
        )
    )

    # Changing only the credentials needs no new consent.
    result = await open_cloud_step(hass, entry)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], form(broker, **{CONF_CATEGORIES: ["energy", "faults"]})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options[CONF_CLOUD_CONSENT]["consent_id"] == consent["consent_id"]
    assert state(hass, SYNC) == "active"


# --- TLS --------------------------------------------------------------------------------------------------


async def test_unverified_tls_works_but_raises_a_warning(
    hass: HomeAssistant, broker: Broker, plant: SimulatedPlant, issue_registry: ir.IssueRegistry
) -> None:
    """§4.3: turning verification off needs an explicit choice, and a repair warning stays until it is on."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    await enable_sync(hass, entry, broker, ca=broker.pki.other_ca, verify=False)
    issue_id = f"cloud_tls_unverified_{entry.entry_id}"
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.WARNING
    uplink = sync_of(entry).uplink
    assert uplink is not None
    async with asyncio_timeout(10):
        while not uplink.status.connected:
            await hass.async_block_till_done()

    await enable_sync(hass, entry, broker)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


# --- withdrawal and removal ---------------------------------------------------------------------------------


async def test_stop_cloud_sync_purges_erases_and_then_nothing(
    hass: HomeAssistant,
    broker: Broker,
    plant: SimulatedPlant,
    clock: Clock,
    config_dir: Path,
    issue_registry: ir.IssueRegistry,
    sockets: SocketLog,
    hass_client: ClientSessionGenerator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """§5.4: one step stops at once and deletes what waited; §5.3: the erase request is repeated until SEMS
    acknowledges it; afterwards no lookup, no socket to the broker, no file, no credentials."""
    receiver = Subscriber(broker)  # does not answer erase requests yet
    receiver.start()
    try:
        monkeypatch.setattr(cloud, "WITHDRAWAL_WAIT", 1.0)
        entry = await add_plant(hass, plant, GOODWE_ET_TCP)
        await enable_sync(hass, entry, broker)
        await read_for(hass, entry, clock, 1)
        await drained(entry)
        sent = data_ids(receiver)
        # The spy sees paho's thread: the lookup and the connection of a running sync are in the log.
        assert broker.port in sockets.looked_up_ports()
        assert broker.port in sockets.ports()
        broker.kill()
        await read_for(hass, entry, clock, 2)  # a backlog that must never leave
        assert sync_of(entry).stats.queued > 0
        assert files_under(config_dir)

        result = await hass.config_entries.options.async_init(entry.entry_id)
        assert result["menu_options"] == ["polling", "controls", "cloud_sync", "cloud_stop"]
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {"next_step_id": "cloud_stop"}
        )
        assert result["data_schema"]({})["erase"] is True  # erase is ticked by default
        result = await hass.config_entries.options.async_configure(result["flow_id"], {"erase": True})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert files_under(config_dir) == []  # purged at once
        assert CONF_CLOUD not in entry.options
        assert CONF_CLOUD_CONSENT not in entry.options
        assert state(hass, SYNC) == "off"
        await hass.async_block_till_done(wait_background_tasks=True)
        issue_id = f"cloud_erase_pending_{entry.entry_id}"
        assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None  # the broker is down
        assert entry.options[CONF_CLOUD_ERASE]["erase"] is True

        broker.start()
        await receiver.wait_for(lambda m: receiver.connected.is_set(), 10)
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(hours=1, seconds=1))  # the hourly retry
        await hass.async_block_till_done(wait_background_tasks=True)
        assert entry.options[CONF_CLOUD_ERASE]  # sent, but not acknowledged: still pending
        assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None

        receiver.answer_erase = True
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(hours=2, seconds=2))
        await hass.async_block_till_done(wait_background_tasks=True)
        assert CONF_CLOUD_ERASE not in entry.options  # acknowledged: credentials gone
        assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
        assert data_ids(receiver) == sent  # the backlog never left
        erase = receiver.on("/erase")[-1].json()
        assert receiver.on("/erase/ack")
        assert erase["scope"] == "plant"
        check_published(receiver.snapshot(), [PLANT_PASSWORD, PLANT_USER])
        assert json.loads(receiver.on("/status")[-1].payload)["state"] == "withdrawn"
        assert receiver.on("/consent")[-1].payload == b""  # the retained consent is cleared

        # After withdrawal: nothing at all towards the broker, no file, even across a restart.
        before = len(sockets.connects)
        assert await hass.config_entries.async_reload(entry.entry_id)
        for _ in range(3):
            async_fire_time_changed(hass, dt_util.utcnow() + timedelta(hours=3, seconds=31))
            await hass.async_block_till_done(wait_background_tasks=True)
        later = {a[1] for a in sockets.connects[before:] if isinstance(a, tuple)}
        assert broker.port not in later
        assert broker.port not in {port for _h, port in sockets.lookups[before:]}
        assert files_under(config_dir) == []
        diagnostics = json.dumps(await get_diagnostics_for_config_entry(hass, hass_client, entry))
        assert PLANT_PASSWORD not in json.dumps(dict(entry.options))
        assert '"state": "off"' in diagnostics
    finally:
        receiver.stop()


async def test_stop_without_erase_forgets_at_once(
    hass: HomeAssistant, broker: Broker, plant: SimulatedPlant, receiver: Subscriber, config_dir: Path
) -> None:
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    await enable_sync(hass, entry, broker)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "cloud_stop"}
    )
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"erase": False})
    await hass.async_block_till_done(wait_background_tasks=True)
    assert CONF_CLOUD_ERASE not in entry.options
    assert not receiver.on("/erase")
    assert receiver.on("/consent")[-1].payload == b""
    assert files_under(config_dir) == []


async def test_removing_the_entry_deletes_every_file_and_asks_to_erase(
    hass: HomeAssistant,
    broker: Broker,
    plant: SimulatedPlant,
    receiver: Subscriber,
    clock: Clock,
    config_dir: Path,
) -> None:
    """§5.3/§5.5: removing the entry deletes every file the sync made and sends the erase request."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    await enable_sync(hass, entry, broker)
    await read_for(hass, entry, clock, 1)
    assert files_under(config_dir)
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert files_under(config_dir) == []
    assert receiver.on("/erase")
    assert receiver.on("/erase/ack")
    assert json.loads(receiver.on("/status")[-1].payload)["state"] == "withdrawn"
