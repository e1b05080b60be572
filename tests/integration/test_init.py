"""Setup, retry, availability, unload, stale devices and the cloud-entry repair issue."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_PORT, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.sems import async_remove_config_entry_device
from custom_components.sems.const import CONF_DEVICES, DOMAIN
from custom_components.sems.plantkit.model import DeviceIdentity
from custom_components.sems.plantkit.profiles.sunspec import models as sunspec_models
from custom_components.sems.plantkit.profiles.sunspec.models import load_layouts
from simulator.plant import SimulatedPlant

from .common import CLOUD_DATA, closed_port, entry_for, poll
from .conftest import GOODWE_ET_TCP, SUNSPEC_TCP, add_plant


async def test_setup_reads_stored_devices_without_probing(hass: HomeAssistant, plant: SimulatedPlant) -> None:
    """With devices stored, setup sends exactly one planned read pass, no identification reads."""
    first = await add_plant(hass, plant, GOODWE_ET_TCP)
    stored = list(first.data[CONF_DEVICES])
    await hass.config_entries.async_remove(first.entry_id)

    server = plant.server(GOODWE_ET_TCP.endpoint)
    server.requests.clear()
    entry = entry_for(plant, GOODWE_ET_TCP, stored)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    planned = entry.runtime_data.client.planned_requests()
    # A new entry's energy guards take a counter once a second reading agrees: the first start reads twice.
    assert server.count() == 2 * planned
    assert [d.key for d in entry.runtime_data.devices] == [DeviceIdentity.from_dict(d).key for d in stored]

    server.requests.clear()  # a restart: the guards continue from their store, one planned read pass
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert server.count() == planned


async def test_setup_from_stored_sunspec_devices_reads_no_file_in_the_event_loop(
    hass: HomeAssistant, plant: SimulatedPlant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a restart the stored SunSpec devices are restored before anything is probed: the model
    definitions they need are read from disk in a worker thread then, not in the event loop (Home
    Assistant logged "Detected blocking call to import_module/open" at every start)."""
    first = await add_plant(hass, plant, SUNSPEC_TCP)
    stored = list(first.data[CONF_DEVICES])
    await hass.config_entries.async_remove(first.entry_id)
    load_layouts.cache_clear()  # a fresh Home Assistant process: nothing loaded yet
    in_event_loop: list[bool] = []

    def parse_model(definition: Any) -> Any:  # runs once per model file read
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            in_event_loop.append(False)  # a worker thread
        else:
            in_event_loop.append(True)
        return real_parse_model(definition)

    real_parse_model = sunspec_models.parse_model
    monkeypatch.setattr(sunspec_models, "parse_model", parse_model)
    entry = entry_for(plant, SUNSPEC_TCP, stored)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    assert in_event_loop
    assert not any(in_event_loop)


@pytest.mark.parametrize(
    "stored", [[], [{"role": "inverter", "profile": "renamed_profile"}]], ids=["empty", "stale"]
)
async def test_setup_probes_when_nothing_usable_is_stored(
    hass: HomeAssistant, plant: SimulatedPlant, stored: list[dict[str, object]]
) -> None:
    """No (usable) stored devices: setup probes once and stores what it found for the next start."""
    entry = entry_for(plant, SUNSPEC_TCP, stored)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    keys = [DeviceIdentity.from_dict(d).key for d in entry.data[CONF_DEVICES]]
    assert keys == ["SS-INV-0001", "SS-INV-0001_battery", "SS-MTR-0001_meter"]


@pytest.mark.parametrize("stored", [True, False], ids=["stored-devices", "probe"])
async def test_unreachable_device_retries_setup(
    hass: HomeAssistant, plant: SimulatedPlant, stored: bool
) -> None:
    """Nothing answers: setup is retried later, with a translated reason, and no connection is left open."""
    devices = []
    if stored:
        first = await add_plant(hass, plant, GOODWE_ET_TCP)
        devices = list(first.data[CONF_DEVICES])
        await hass.config_entries.async_remove(first.entry_id)
    entry = entry_for(plant, GOODWE_ET_TCP, devices)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_PORT: closed_port()})

    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.error_reason_translation_key == "cannot_connect"


async def test_unavailable_while_device_is_gone_and_back_after(
    hass: HomeAssistant, plant: SimulatedPlant, caplog: pytest.LogCaptureFixture
) -> None:
    """Entities go unavailable when the device stops answering and recover by themselves.

    Loss and recovery are logged once each, however many polls fail in between.
    """
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    entity_id = "sensor.goodwe_gw10k_et_pv_power"
    assert float(hass.states.get(entity_id).state) == 6518
    server = plant.server(GOODWE_ET_TCP.endpoint)
    caplog.set_level(logging.INFO, logger="custom_components.sems")

    await server.stop()
    for _ in range(2):  # the last reading is kept until three polls in a row failed (the default)
        await poll(hass, 31)
        assert float(hass.states.get(entity_id).state) == 6518
    for _ in range(3):
        await poll(hass, 31)
        assert hass.states.get(entity_id).state == STATE_UNAVAILABLE
    assert entry.state is ConfigEntryState.LOADED

    await server.start()  # same port again, like a rebooted inverter
    plant.advance(600)
    await poll(hass, 31)
    assert hass.states.get(entity_id).state != STATE_UNAVAILABLE
    assert float(hass.states.get(entity_id).state) != 6518  # a fresh reading, not a cached one

    records = [r for r in caplog.records if r.name.startswith("custom_components.sems")]
    failed = [r for r in records if "Error fetching" in r.getMessage()]
    assert [r.levelname for r in failed] == ["WARNING"]  # once per outage, and not an ERROR: it recovers
    assert sum("recovered" in r.getMessage() for r in records) == 1


async def test_unload_closes_the_connection(hass: HomeAssistant, plant: SimulatedPlant) -> None:
    """After unload the simulator sees no open connection from Home Assistant."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    server = plant.server(GOODWE_ET_TCP.endpoint)
    assert server._streams  # the coordinator keeps its connection between polls

    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    for _ in range(50):
        if not server._streams:
            break
        await asyncio.sleep(0.01)
    assert not server._streams


async def test_stale_devices_are_removed(
    hass: HomeAssistant, plant: SimulatedPlant, device_registry: dr.DeviceRegistry
) -> None:
    """A device the endpoint no longer has disappears at setup; live devices cannot be deleted."""
    first = await add_plant(hass, plant, GOODWE_ET_TCP)
    stored = list(first.data[CONF_DEVICES])
    await hass.config_entries.async_remove(first.entry_id)

    entry = entry_for(plant, GOODWE_ET_TCP, stored)
    entry.add_to_hass(hass)
    old = device_registry.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, "OLD-INVERTER")}, name="Old"
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert device_registry.async_get(old.id) is None
    devices = dr.async_entries_for_config_entry(device_registry, entry.entry_id)
    assert len(devices) == 4  # inverter, battery, meter, and the plant device
    for device in devices:
        assert not await async_remove_config_entry_device(hass, entry, device)
    # A device the endpoint lost while loaded (the user may delete it).
    gone = device_registry.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, "OLD-INVERTER")}, name="Old"
    )
    assert await async_remove_config_entry_device(hass, entry, gone)


async def test_cloud_entry_raises_repair_issue_quietly(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    entity_registry: er.EntityRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An entry of the cloud-only integration: a repair issue, no crash, no error in the log."""
    entry = MockConfigEntry(domain=DOMAIN, title="Inverter 0123-abcd", data=CLOUD_DATA)
    entry.add_to_hass(hass)

    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.SETUP_ERROR
    issue = issue_registry.async_get_issue(DOMAIN, f"cloud_entry_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_key == "cloud_entry"
    assert issue.translation_placeholders == {"title": "Inverter 0123-abcd"}
    assert not issue.is_fixable
    assert not [
        r for r in caplog.records if r.levelno >= logging.WARNING and r.name != "homeassistant.loader"
    ]
    assert not er.async_entries_for_config_entry(entity_registry, entry.entry_id)

    await hass.config_entries.async_remove(entry.entry_id)
    assert issue_registry.async_get_issue(DOMAIN, f"cloud_entry_{entry.entry_id}") is None


@pytest.mark.parametrize("fault", ["garbage", "device_failure"])
async def test_unavailable_on_bad_replies_and_back(
    hass: HomeAssistant, plant: SimulatedPlant, fault: str
) -> None:
    """Invalid frames, or a Modbus "device failure" answer, make the entities unavailable until the
    device answers properly again."""
    await add_plant(hass, plant, GOODWE_ET_TCP)
    entity_id = "sensor.goodwe_gw10k_et_pv_power"
    server = plant.server(GOODWE_ET_TCP.endpoint)

    if fault == "garbage":
        server.faults.garbage = True
    else:
        server.faults.exception_code = 4
    for _ in range(3):  # unavailable after three failed polls in a row (the default)
        await poll(hass, 31)
    assert hass.states.get(entity_id).state == STATE_UNAVAILABLE

    server.faults.clear()
    await poll(hass, 31)
    assert float(hass.states.get(entity_id).state) == 6518
