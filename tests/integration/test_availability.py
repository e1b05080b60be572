"""Availability that automations can trust: transport faults, the failure threshold, the repair issue,
night sleep of a PV-only inverter, and energy totals that never publish a bogus value.

Everything runs against the simulator over loopback. Tests that need Home Assistant's clock (the sun,
the 30-minute repair threshold) freeze it with ``tick=True``: time then runs on from the frozen moment,
so network timeouts still expire, and ``freezer.tick`` jumps ahead.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import EVENT_STATE_CHANGED, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.sems.const import CONF_UNAVAILABLE_AFTER, DOMAIN
from custom_components.sems.coordinator import unavailable_after
from custom_components.sems.plantkit.model import QUANTITY_INFO, Kind
from custom_components.sems.plantkit.profiles.goodwe.registers import ET_INVERTER
from simulator.plant import SimulatedPlant
from simulator.server import SimServer

from .common import open_polling_options, poll
from .conftest import (
    EASTRON_GATEWAY,
    GOODWE_DT_UDP,
    GOODWE_ET_TCP,
    GOODWE_ET_UDP,
    SDM630_TCP,
    SUNSPEC_TCP,
    PlantCase,
    add_plant,
    quantity_of,
)

# Home Assistant's test location is San Diego (UTC-7 in June): 19:00 UTC is noon, 09:00 UTC 2 a.m.
NOON = "2026-06-21 19:00:00+00:00"
NIGHT = "2026-06-22 09:00:00+00:00"
ET_PV_POWER = "sensor.goodwe_gw10k_et_pv_power"
ET_PV_ENERGY = "sensor.goodwe_gw10k_et_pv_energy"
ET_AC_POWER = "sensor.goodwe_gw10k_et_ac_power"
DT = "goodwe_gw15k_dt"
POLL_GAP = 661  # seconds between polls in the repair-issue tests: 3 failures span 22 minutes, 4 span 33
# (661, not 660: the outage is counted in whole minutes from the first failed poll, and a poll that fails
# a few milliseconds faster than the first must not make 33 minutes read as 32)
SEMS_LOGGER = "custom_components.sems"


pytestmark = pytest.mark.usefixtures("fast_timeouts")


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    """Move Home Assistant's clock on and wait for the poll that falls due."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def state(hass: HomeAssistant, entity_id: str) -> str:
    found = hass.states.get(entity_id)
    assert found is not None, entity_id
    return found.state


def entity_ids(hass: HomeAssistant, entry: ConfigEntry) -> list[str]:
    """The entities of an entry that show the plant's readings and are enabled (have a state); the cloud
    sync sensors of the plant device do not depend on the plant answering."""
    entries = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    return [
        e.entity_id
        for e in entries
        if e.disabled_by is None and not (e.translation_key or "").startswith("cloud_")
    ]


def lifetime_totals(hass: HomeAssistant, entry: ConfigEntry) -> list[str]:
    """The enabled lifetime energy counters of an entry."""
    return [
        e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if e.domain == "sensor"
        and e.disabled_by is None
        and (quantity := quantity_of(e)) is not None
        and QUANTITY_INFO[quantity].kind is Kind.LIFETIME_TOTAL
    ]


class PublishedValues:
    """Every state some entities publish, from now on (to check what statistics would have seen)."""

    def __init__(self, hass: HomeAssistant, watched: list[str]) -> None:
        assert watched
        self.states: dict[str, list[str]] = {entity_id: [state(hass, entity_id)] for entity_id in watched}

        @callback
        def record(event: Event[EventStateChangedData]) -> None:
            new = event.data["new_state"]
            if new is not None and new.entity_id in self.states:
                self.states[new.entity_id].append(new.state)

        self.unsubscribe = hass.bus.async_listen(EVENT_STATE_CHANGED, record)

    def numbers(self, entity_id: str) -> list[float]:
        return [float(s) for s in self.states[entity_id] if s not in (STATE_UNAVAILABLE, STATE_UNKNOWN)]

    def assert_never_decreased(self) -> None:
        """Lifetime totals: every published number is positive and at least the one before."""
        for entity_id in self.states:
            numbers = self.numbers(entity_id)
            assert numbers, entity_id
            assert all(n > 0 for n in numbers), (entity_id, numbers)
            assert numbers == sorted(numbers), (entity_id, numbers)


def errors_except_loss(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What a user would see as an error: ERROR records, and tracebacks at INFO or above (a debug
    traceback, such as the coordinator's "Full error:" since HA 2026.x, shows only with debug logging
    on). The coordinator's "Error fetching" line, when the devices go unavailable, is a WARNING: a
    device that is off or refusing recovers by itself."""
    return [
        f"{r.name}: {r.levelname} {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR or (r.exc_info and r.levelno > logging.DEBUG)
    ]


def count_messages(caplog: pytest.LogCaptureFixture, text: str) -> int:
    """How many log lines of the integration or its library contain ``text``."""
    return sum(text in r.getMessage() for r in caplog.records if r.name.startswith(SEMS_LOGGER))


# -- transport faults ---------------------------------------------------------------------------------

type FaultSwitch = Callable[[SimServer, bool], Awaitable[None]]


async def switched_off(server: SimServer, on: bool) -> None:
    """The device loses power: every connection drops and nothing listens (same port when it is back)."""
    if on:
        await server.stop()
    else:
        await server.start()


def transport_fault(**settings: Any) -> FaultSwitch:
    async def switch(server: SimServer, on: bool) -> None:
        if on:
            for name, value in settings.items():
                setattr(server.faults, name, value)
        else:
            server.faults.clear()

    return switch


TRANSPORT_FAULTS: dict[str, FaultSwitch] = {
    "switched_off": switched_off,
    "silent": transport_fault(offline=True),
    "drops_connection": transport_fault(drop_connection=True),
    # Past every attempt's timeout (0.3 s; TCP tries twice, GoodWe UDP four times, and a reply that
    # arrives during a retry of the same request is a valid answer to it).
    "answers_late": transport_fault(delay=1.0),
    "answers_too_late": transport_fault(delay=2.0),
    "device_failure": transport_fault(exception_code=4),
    "device_busy": transport_fault(exception_code=6),
    "gateway_no_response": transport_fault(exception_code=11),
    "garbage": transport_fault(garbage=True),
    "truncated": transport_fault(truncate=True),
}
CASE_FAULTS = [
    *((GOODWE_ET_TCP, name) for name in TRANSPORT_FAULTS if name not in ("silent", "answers_too_late")),
    *(
        (GOODWE_ET_UDP, name)
        for name in ("silent", "answers_too_late", "device_failure", "garbage", "truncated")
    ),
    *((EASTRON_GATEWAY, name) for name in ("switched_off", "gateway_no_response", "truncated")),
]


@pytest.mark.parametrize(
    ("case", "fault"), CASE_FAULTS, ids=[f"{case.endpoint}-{fault}" for case, fault in CASE_FAULTS]
)
async def test_transport_fault_unavailable_after_threshold_and_back(
    hass: HomeAssistant,
    plant: SimulatedPlant,
    caplog: pytest.LogCaptureFixture,
    case: PlantCase,
    fault: str,
) -> None:
    """Two failed polls keep the last reading; the third makes every entity of the endpoint unavailable
    (and nothing else); the first good poll brings them back with fresh values. Loss and recovery are
    logged once each, nothing else is logged as an error, and no energy total ever goes down or to 0."""
    caplog.set_level(logging.INFO)
    entry = await add_plant(hass, plant, case)
    # Another endpoint (of another device) must not be affected.
    bystander = await add_plant(hass, plant, SUNSPEC_TCP if case is EASTRON_GATEWAY else SDM630_TCP)
    totals = PublishedValues(hass, lifetime_totals(hass, entry))
    before = {entity_id: state(hass, entity_id) for entity_id in entity_ids(hass, entry)}
    server = plant.server(case.endpoint)

    await TRANSPORT_FAULTS[fault](server, True)
    for _ in range(2):
        await poll(hass, 31)
        assert {entity_id: state(hass, entity_id) for entity_id in before} == before
    await poll(hass, 31)
    assert {state(hass, entity_id) for entity_id in before} == {STATE_UNAVAILABLE}
    assert STATE_UNAVAILABLE not in {state(hass, entity_id) for entity_id in entity_ids(hass, bystander)}
    assert entry.state is ConfigEntryState.LOADED

    await TRANSPORT_FAULTS[fault](server, False)
    plant.advance(600)
    await poll(hass, 31)
    after = {entity_id: state(hass, entity_id) for entity_id in before}
    assert STATE_UNAVAILABLE not in after.values()
    assert after != before  # fresh values, not the kept ones

    totals.assert_never_decreased()
    assert errors_except_loss(caplog) == []
    assert count_messages(caplog, "Error fetching") == 1
    assert count_messages(caplog, "recovered") == 1


async def test_refused_registers_read_unknown_not_zero(
    hass: HomeAssistant, plant: SimulatedPlant, caplog: pytest.LogCaptureFixture
) -> None:
    """Registers a device refuses ("illegal data address") read unknown, never 0; the rest stays live
    and no total is published lower."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    totals = PublishedValues(hass, lifetime_totals(hass, entry))
    refused = [ET_INVERTER[key].point for key in ("ppv1", "ppv2", "ppv3", "ppv4", "e_total")]
    plant.devices["goodwe_et"].image.refused.update(
        (p.kind, a) for p in refused for a in range(p.address, p.address + p.count)
    )
    await poll(hass, 31)
    assert state(hass, ET_PV_POWER) == STATE_UNKNOWN
    assert state(hass, ET_PV_ENERGY) == STATE_UNKNOWN
    assert state(hass, ET_AC_POWER) not in (STATE_UNKNOWN, STATE_UNAVAILABLE)
    totals.assert_never_decreased()
    assert errors_except_loss(caplog) == []


async def test_a_device_refusing_everything_is_a_failed_poll(
    hass: HomeAssistant, plant: SimulatedPlant, caplog: pytest.LogCaptureFixture
) -> None:
    """Refusing every register is a state (a gateway whose device boots), not a layout: the poll counts
    as failed and the last reading stays until the threshold, instead of every value turning unknown."""
    await add_plant(hass, plant, GOODWE_ET_TCP)
    plant.server(GOODWE_ET_TCP.endpoint).faults.exception_code = 2
    await poll(hass, 31)
    assert float(state(hass, ET_PV_POWER)) == 6518
    for _ in range(2):
        await poll(hass, 31)
    assert state(hass, ET_PV_POWER) == STATE_UNAVAILABLE
    assert errors_except_loss(caplog) == []
    assert count_messages(caplog, "Error fetching") == 1


async def test_refused_registers_are_read_again_when_the_device_recovers(
    hass: HomeAssistant, plant: SimulatedPlant
) -> None:
    await add_plant(hass, plant, GOODWE_ET_TCP)
    server = plant.server(GOODWE_ET_TCP.endpoint)
    server.faults.exception_code = 2
    await poll(hass, 31)
    server.faults.clear()
    for _ in range(3):
        await poll(hass, 31)
    assert float(state(hass, ET_PV_POWER)) == 6518


@pytest.mark.parametrize(("threshold", "kept_polls"), [(1, 0), (5, 4)])
async def test_threshold_comes_from_the_options(
    hass: HomeAssistant, plant: SimulatedPlant, threshold: int, kept_polls: int
) -> None:
    """The options flow sets after how many failed polls entities go unavailable; no reload needed."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    coordinator = entry.runtime_data
    result = await open_polling_options(hass, entry)
    schema_keys = {str(key) for key in result["data_schema"].schema}
    assert CONF_UNAVAILABLE_AFTER in schema_keys
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"poll_preset": "normal", CONF_UNAVAILABLE_AFTER: float(threshold)}
    )
    await hass.async_block_till_done()
    assert entry.options[CONF_UNAVAILABLE_AFTER] == threshold
    assert entry.runtime_data is coordinator
    assert coordinator.monitor.unavailable_after == threshold

    plant.server(GOODWE_ET_TCP.endpoint).faults.drop_connection = True
    for _ in range(kept_polls):
        await poll(hass, 31)
        assert float(state(hass, ET_PV_POWER)) == 6518
    await poll(hass, 31)
    assert state(hass, ET_PV_POWER) == STATE_UNAVAILABLE


# -- repair issue -------------------------------------------------------------------------------------


def unreachable_issue(hass: HomeAssistant, entry: ConfigEntry) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"unreachable_{entry.entry_id}")


@pytest.mark.freeze_time(NOON, tick=True)
async def test_repair_issue_after_long_outage_and_gone_on_recovery(
    hass: HomeAssistant, plant: SimulatedPlant, freezer: FrozenDateTimeFactory
) -> None:
    """Unreachable for 30 minutes: a repair issue that says what to check; it goes away by itself."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    server = plant.server(GOODWE_ET_TCP.endpoint)
    await server.stop()

    for _ in range(3):  # failed polls at +11, +22, +33 min: unavailable, but only 22 min since the first
        await tick(hass, freezer, POLL_GAP)
    assert state(hass, ET_PV_POWER) == STATE_UNAVAILABLE
    assert unreachable_issue(hass, entry) is None

    await tick(hass, freezer, POLL_GAP)
    issue = unreachable_issue(hass, entry)
    assert issue is not None
    assert issue.translation_key == "unreachable"
    assert issue.severity is ir.IssueSeverity.ERROR
    assert not issue.is_fixable
    assert issue.translation_placeholders == {
        "title": GOODWE_ET_TCP.title,
        "endpoint": f"tcp://127.0.0.1:{server.port}",
        "minutes": "33",
    }

    await server.start()
    await tick(hass, freezer, POLL_GAP)
    assert state(hass, ET_PV_POWER) != STATE_UNAVAILABLE
    assert unreachable_issue(hass, entry) is None


@pytest.mark.freeze_time(NOON, tick=True)
async def test_repair_issue_removed_on_unload(
    hass: HomeAssistant, plant: SimulatedPlant, freezer: FrozenDateTimeFactory
) -> None:
    """A user who removes or disables the entry of a dead device is not left with its issue."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    await plant.server(GOODWE_ET_TCP.endpoint).stop()
    for _ in range(5):
        await tick(hass, freezer, POLL_GAP)
    assert unreachable_issue(hass, entry) is not None
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert unreachable_issue(hass, entry) is None


@pytest.mark.freeze_time(NOON, tick=True)
async def test_pv_inverter_failing_in_daylight_is_an_outage(
    hass: HomeAssistant, plant: SimulatedPlant, freezer: FrozenDateTimeFactory
) -> None:
    """A PV-only inverter that goes silent at noon while producing is not asleep: unavailable, issue."""
    entry = await add_plant(hass, plant, GOODWE_DT_UDP)
    plant.server(GOODWE_DT_UDP.endpoint).faults.offline = True
    for _ in range(3):
        await tick(hass, freezer, POLL_GAP)
    assert state(hass, f"sensor.{DT}_pv_energy") == STATE_UNAVAILABLE
    assert not entry.runtime_data.asleep
    await tick(hass, freezer, POLL_GAP)
    assert unreachable_issue(hass, entry) is not None


# -- night --------------------------------------------------------------------------------------------


def dt_states(hass: HomeAssistant) -> dict[str, str]:
    return {
        name: state(hass, f"{domain}.{DT}_{name}")
        for domain, name in (
            ("sensor", "pv_energy"),
            ("sensor", "pv_energy_today"),
            ("sensor", "pv_power"),
            ("sensor", "ac_power"),
            ("sensor", "status"),
            ("sensor", "inverter_temperature"),
            ("binary_sensor", "problem"),
        )
    }


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.freeze_time(NOON, tick=True)
async def test_pv_inverter_sleeping_at_night(
    hass: HomeAssistant,
    plant: SimulatedPlant,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The DT stops answering after dark: totals keep their last value, power reads 0, the status is
    "sleeping", values it cannot have are unavailable, no error is logged and no issue raised all night;
    today's energy restarts at midnight while it sleeps; in the morning it reads normally again.

    The plant and Home Assistant's clock move together (the energy guard knows how fast 15 kW can count).
    """
    caplog.set_level(logging.INFO)
    entry = await add_plant(hass, plant, GOODWE_DT_UDP)
    totals = PublishedValues(hass, lifetime_totals(hass, entry))
    for _ in range(15):  # to 19:30, the last light, polling every half hour
        plant.advance(1800)
        await tick(hass, freezer, 1800)
    evening = float(state(hass, f"sensor.{DT}_pv_energy"))
    assert evening > 12345.6
    assert float(state(hass, f"sensor.{DT}_pv_power")) > 0
    plant.advance(1.5 * 3600)  # 21:00: no PV, the DT sleeps and stops answering
    await tick(hass, freezer, 1.5 * 3600)

    for hour in (23, 1, 3, 5):  # eight hours of night, one poll every two hours
        plant.advance(2 * 3600)
        await tick(hass, freezer, 2 * 3600)
        night = dt_states(hass)
        assert float(night.pop("pv_energy")) == evening
        today = float(night.pop("pv_energy_today"))
        assert today > 0 if hour == 23 else today == 0, hour  # a new day began at midnight
        assert night == {
            "pv_power": "0.0",
            "ac_power": "0.0",
            "status": "sleeping",
            "inverter_temperature": STATE_UNAVAILABLE,
            "problem": "off",
        }
    assert entry.runtime_data.asleep
    assert unreachable_issue(hass, entry) is None

    plant.advance(2 * 3600)  # 07:00: the sun is up, the DT answers again
    await tick(hass, freezer, 2 * 3600)
    morning = dt_states(hass)
    assert float(morning["pv_power"]) > 0
    assert morning["status"] == "running"
    assert morning["inverter_temperature"] != STATE_UNAVAILABLE
    assert not entry.runtime_data.asleep

    totals.assert_never_decreased()
    assert errors_except_loss(caplog) == []
    assert count_messages(caplog, "Error fetching") == 0
    assert count_messages(caplog, "asleep") == 1
    assert count_messages(caplog, "awake") == 1


@pytest.mark.freeze_time(NOON, tick=True)
async def test_pv_inverter_silent_after_idle_reading_sleeps_even_in_daylight(
    hass: HomeAssistant, plant: SimulatedPlant, freezer: FrozenDateTimeFactory
) -> None:
    """Snow on the panels, or Home Assistant's location is wrong: the sun may be up, but the DT's last
    answer said it was waiting without PV, so its silence is sleep too."""
    entry = await add_plant(hass, plant, GOODWE_DT_UDP)
    server = plant.server(GOODWE_DT_UDP.endpoint)
    plant.advance(9 * 3600)
    server.faults.asleep = False  # one more answer: work mode "wait", no PV
    await tick(hass, freezer, 60)
    assert state(hass, f"sensor.{DT}_status") == "standby"

    server.faults.asleep = True
    for _ in range(4):
        await tick(hass, freezer, POLL_GAP)
    assert entry.runtime_data.asleep
    assert state(hass, f"sensor.{DT}_status") == "sleeping"
    assert unreachable_issue(hass, entry) is None


@pytest.mark.freeze_time(NIGHT, tick=True)
async def test_sleep_ends_after_twenty_hours_of_silence(
    hass: HomeAssistant, plant: SimulatedPlant, freezer: FrozenDateTimeFactory
) -> None:
    """An inverter that never wakes up is reported: after 20 hours the silence is an outage."""
    entry = await add_plant(hass, plant, GOODWE_DT_UDP)
    plant.advance(9 * 3600)
    for _ in range(3):  # 18 hours asleep
        await tick(hass, freezer, 6 * 3600)
    assert entry.runtime_data.asleep
    assert state(hass, f"sensor.{DT}_pv_energy") != STATE_UNAVAILABLE

    await tick(hass, freezer, 3 * 3600)  # 21 hours: the first failed poll
    assert not entry.runtime_data.asleep
    assert state(hass, f"sensor.{DT}_pv_energy") != STATE_UNAVAILABLE
    for _ in range(2):  # 22 and 23 hours: the threshold, long after the silence began
        await tick(hass, freezer, 3600)
    assert state(hass, f"sensor.{DT}_pv_energy") == STATE_UNAVAILABLE
    assert unreachable_issue(hass, entry) is not None


@pytest.mark.freeze_time(NIGHT, tick=True)
async def test_start_at_night_shows_the_totals_from_before(
    hass: HomeAssistant, plant: SimulatedPlant, freezer: FrozenDateTimeFactory
) -> None:
    """Home Assistant restarts at night while the DT sleeps: the entry loads anyway, the totals show
    their value from before the restart, fault sensors are unavailable until the DT has answered."""
    entry = await add_plant(hass, plant, GOODWE_DT_UDP)
    before = state(hass, f"sensor.{DT}_pv_energy")
    assert await hass.config_entries.async_unload(entry.entry_id)
    plant.advance(9 * 3600)

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.asleep
    assert state(hass, f"sensor.{DT}_pv_energy") == before
    assert state(hass, f"sensor.{DT}_pv_power") == "0.0"
    assert state(hass, f"sensor.{DT}_status") == "sleeping"
    assert state(hass, f"binary_sensor.{DT}_problem") == STATE_UNAVAILABLE
    assert state(hass, f"event.{DT}_faults") == STATE_UNAVAILABLE

    plant.advance(10 * 3600)
    await tick(hass, freezer, 3600)
    assert float(state(hass, f"sensor.{DT}_pv_energy")) > float(before)
    assert state(hass, f"binary_sensor.{DT}_problem") == "off"


@pytest.mark.freeze_time(NIGHT, tick=True)
async def test_hybrid_inverter_silent_at_night_is_an_outage(
    hass: HomeAssistant, plant: SimulatedPlant, freezer: FrozenDateTimeFactory
) -> None:
    """An ET runs from its battery at night and keeps answering: its silence is never sleep."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    plant.advance(9 * 3600)
    plant.server(GOODWE_ET_TCP.endpoint).faults.drop_connection = True
    for _ in range(3):
        await poll(hass, 31)
    assert not entry.runtime_data.asleep
    assert state(hass, ET_PV_ENERGY) == STATE_UNAVAILABLE


# -- energy totals: the glitch guard ------------------------------------------------------------------


async def test_lifetime_total_never_published_lower(
    hass: HomeAssistant, plant: SimulatedPlant, caplog: pytest.LogCaptureFixture
) -> None:
    """A counter that goes backwards or drops to 0 keeps its last value (logged once); a later value
    above it is taken; a sentinel ("not available") reads unknown, never 0."""
    caplog.set_level(logging.INFO)
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    totals = PublishedValues(hass, lifetime_totals(hass, entry))
    physics = plant.physics.state
    real = physics.pv_energy_total

    for glitch in (real - 100, 0.0, real - 0.5):
        physics.pv_energy_total = glitch
        plant.render()
        await poll(hass, 31)
        assert float(state(hass, ET_PV_ENERGY)) == pytest.approx(real)
    assert count_messages(caplog, "keeping") == 1  # one episode, logged once

    physics.pv_energy_total = real + 0.1  # what 10 kW may add in two minutes
    plant.render()
    await poll(hass, 31)
    assert float(state(hass, ET_PV_ENERGY)) == pytest.approx(real + 0.1)

    physics.faults.add("sentinel_values")
    plant.render()
    await poll(hass, 31)
    assert state(hass, ET_PV_ENERGY) == STATE_UNKNOWN
    physics.faults.clear()
    plant.render()
    await poll(hass, 31)
    assert float(state(hass, ET_PV_ENERGY)) == pytest.approx(real + 0.1)

    totals.assert_never_decreased()
    assert errors_except_loss(caplog) == []


async def test_lifetime_total_guard_survives_a_reload(hass: HomeAssistant, plant: SimulatedPlant) -> None:
    """The inverter reports 0 while booting just as Home Assistant restarts: the restored value stays."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    before = float(state(hass, ET_PV_ENERGY))
    assert await hass.config_entries.async_unload(entry.entry_id)

    plant.physics.state.pv_energy_total = 0.0
    plant.render()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert float(state(hass, ET_PV_ENERGY)) == before


@pytest.mark.parametrize(
    ("options", "polls"),
    [
        ({}, 3),
        ({CONF_UNAVAILABLE_AFTER: 5.0}, 5),
        ({CONF_UNAVAILABLE_AFTER: 0}, 1),
        ({CONF_UNAVAILABLE_AFTER: "x"}, 3),
    ],
)
async def test_unavailable_after_option_is_clamped(
    hass: HomeAssistant, options: dict[str, Any], polls: int
) -> None:
    """Missing, fractional (the number selector's float), out-of-range or broken values stay usable."""
    assert unavailable_after(MockConfigEntry(domain=DOMAIN, options=options)) == polls
