"""Faults automations can trust: problem sensors per fault group, the fault event entity (exactly once
per raise and clear, also across reloads and restarts), and translations for every fault, state and
event type. Device faults are injected into the simulator and read over loopback."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import EVENT_STATE_CHANGED, STATE_OFF, STATE_ON, STATE_UNKNOWN, Platform
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    async_mock_restore_state_shutdown_restart,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.sems.binary_sensor import ROLE_FAULT_GROUPS
from custom_components.sems.const import EVENT_FAULT_CLEARED, EVENT_FAULT_RAISED
from custom_components.sems.event import announced_from
from custom_components.sems.plantkit.faults import FAULT_CODES, FAULT_DEFINITIONS, FaultGroup, Severity
from custom_components.sems.plantkit.model import DeviceStatus, Role
from custom_components.sems.plantkit.profiles import FAULT_SOURCES
from simulator.faults import DEVICE_FAULTS
from simulator.plant import SimulatedPlant

from .common import poll
from .conftest import ALL_CASES, GOODWE_DT_UDP, GOODWE_ET_TCP, SUNSPEC_TCP, PlantCase, add_plant

COMPONENT = Path(__file__).parents[2] / "custom_components" / "sems"
ET = "goodwe_gw10k_et"
ET_BATTERY = "goodwe_gw10k_et_battery"
ET_METER = "goodwe_gw10k_et_grid_meter"
DT = "goodwe_gw15k_dt"
SS = "sunspecsim_sim_inv_10k"
SS_BATTERY = "sunspecsim_sim_inv_10k_battery"
SS_METER = "sunspecsim_sim_meter_3p_grid_meter"


def group_sensor(device: str, group: str) -> str:
    """A group's problem sensor; a battery's battery group is "BMS problem", a grid meter's grid group
    "Supply problem" (the device's name says battery or grid already)."""
    if device.endswith("_battery") and group == "battery":
        group = "bms"
    elif device.endswith("_grid_meter") and group == "grid":
        group = "supply"
    return f"binary_sensor.{device}_{group}_problem"


def load_json(name: str) -> dict[str, Any]:
    return json.loads((COMPONENT / name).read_text(encoding="utf-8"))


# -- catalogue, translations, icons -------------------------------------------------------------------


def test_every_fault_state_and_event_type_is_translated() -> None:
    """No missing key: every fault code, group and severity, every status, event type and problem
    sensor has English text, and the repair issue names what to check."""
    strings = load_json("translations/en.json")
    event = strings["entity"]["event"]["faults"]
    assert event["name"]
    attributes = event["state_attributes"]
    assert set(attributes["event_type"]["state"]) == {EVENT_FAULT_RAISED, EVENT_FAULT_CLEARED}
    assert set(attributes["code"]["state"]) == set(FAULT_CODES)
    assert set(attributes["group"]["state"]) == {str(group) for group in FaultGroup}
    assert set(attributes["severity"]["state"]) == {str(severity) for severity in Severity}
    for attribute in ("code", "name", "severity", "group", "raw", "time"):
        assert attributes[attribute]["name"], attribute
    texts = [
        text
        for attribute in attributes.values()
        for text in [attribute.get("name", "x"), *attribute.get("state", {}).values()]
    ]
    assert all(texts)

    problems = strings["entity"]["binary_sensor"]
    assert set(problems) == {"problem", "bms_problem", "supply_problem"} | {
        f"{group}_problem" for group in FaultGroup
    }
    assert all(
        sensor["name"] and sensor["state_attributes"]["active_faults"]["name"] for sensor in problems.values()
    )

    statuses = strings["entity"]["sensor"]["status"]["state"]
    assert set(statuses) == {str(status) for status in DeviceStatus if status is not DeviceStatus.UNKNOWN}

    issue = strings["issues"]["unreachable"]
    assert set(_placeholders(issue["title"] + issue["description"])) == {"title", "endpoint", "minutes"}
    for what in ("power", "network", "dongle", "Modbus TCP", "port", "unit ID"):
        assert what in issue["description"], what

    init = strings["options"]["step"]["polling"]
    assert init["data"]["unavailable_after"]
    assert init["data_description"]["unavailable_after"]


def _placeholders(text: str) -> list[str]:
    return re.findall(r"{(\w+)}", text)


def test_icons_of_problem_sensors_and_fault_events() -> None:
    icons = load_json("icons.json")["entity"]
    strings = load_json("translations/en.json")["entity"]
    assert set(icons["binary_sensor"]) == set(strings["binary_sensor"])
    for icon in icons["binary_sensor"].values():
        assert set(icon["state"]) == {"on"}
        assert icon["state"]["on"] != icon["default"]
    assert set(icons["event"]) == set(strings["event"])
    event_types = icons["event"]["faults"]["state_attributes"]["event_type"]["state"]
    assert set(event_types) == {EVENT_FAULT_RAISED, EVENT_FAULT_CLEARED}

    names = [icons["event"]["faults"]["default"], *event_types.values()]
    names += [
        name for icon in icons["binary_sensor"].values() for name in (icon["default"], icon["state"]["on"])
    ]
    hass_frontend = pytest.importorskip("hass_frontend")
    icon_list = Path(hass_frontend.__file__).parent / "static" / "mdi" / "iconList.json"
    known = {icon["name"] for icon in json.loads(icon_list.read_text())}
    assert {name.removeprefix("mdi:") for name in names} <= known


def test_problem_sensor_groups_cover_every_fault_source() -> None:
    """Every fault a role's registers can report lands in a problem sensor that role has."""
    for source in FAULT_SOURCES:
        for bit in (*source.bits, 99):  # every named bit, and one no table names (its fallback)
            fault = source.fault(bit)
            assert fault.group in ROLE_FAULT_GROUPS[source.role], (str(fault.raw), fault.code, source.role)
    # Bits without a published table, and unknown bits, are "other": every role has it.
    assert all(FaultGroup.OTHER in groups for groups in ROLE_FAULT_GROUPS.values())


@pytest.mark.parametrize("platform", [Platform.BINARY_SENSOR, Platform.EVENT])
@pytest.mark.parametrize("case", ALL_CASES, ids=lambda case: case.endpoint)
async def test_problem_and_event_entities(
    hass: HomeAssistant,
    plant: SimulatedPlant,
    case: PlantCase,
    platform: Platform,
    entity_registry: er.EntityRegistry,
    ha_snapshot: SnapshotAssertion,
) -> None:
    """Problem sensors and fault event entities of every endpoint (registry entries and states)."""
    with patch("custom_components.sems.PLATFORMS", [platform]):
        entry = await add_plant(hass, plant, case)
        await snapshot_platform(hass, entity_registry, ha_snapshot, entry.entry_id)
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_problem_sensors_per_role(hass: HomeAssistant, plant: SimulatedPlant) -> None:
    """Inverter, battery and meter each get the aggregate problem sensor and their own groups; the
    aggregate one is a primary entity, the groups are diagnostic."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    registry = er.async_get(hass)
    problems = {
        e.entity_id: e
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if e.domain == "binary_sensor"
    }
    expected = {
        group_sensor(prefix, group)
        for prefix, role in ((ET, Role.INVERTER), (ET_BATTERY, Role.BATTERY), (ET_METER, Role.METER))
        for group in ROLE_FAULT_GROUPS[role]
    } | {f"binary_sensor.{prefix}_problem" for prefix in (ET, ET_BATTERY, ET_METER)}
    assert set(problems) == expected
    unique_ids = {entity.unique_id for entity in problems.values()}
    assert "9010KETU000SIM01_problem_battery" not in unique_ids  # the inverter's words carry no battery bit
    assert "9010KETU000SIM01_battery_problem_battery" in unique_ids  # the battery device has them
    assert "9010KETU000SIM01_battery_problem" in unique_ids  # the battery's aggregate sensor
    assert "9010KETU000SIM01_meter_problem_pv" not in unique_ids
    for entity_id, entity in problems.items():
        assert entity.original_device_class == "problem"
        assert (entity.entity_category is None) is (entity.translation_key == "problem")
        assert hass.states.get(entity_id).state == STATE_OFF

    events = [e for e in er.async_entries_for_config_entry(registry, entry.entry_id) if e.domain == "event"]
    assert sorted(e.entity_id for e in events) == sorted(
        f"event.{p}_faults" for p in (ET, ET_BATTERY, ET_METER)
    )
    state = hass.states.get(f"event.{ET}_faults")
    assert state.state == STATE_UNKNOWN  # no event yet
    assert state.attributes["event_types"] == [EVENT_FAULT_RAISED, EVENT_FAULT_CLEARED]


# -- device faults through the simulator --------------------------------------------------------------


class FaultEvents:
    """Every fault event the entry's event entities fire, once each (restored states are not events)."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.fired: list[tuple[str, str, str, str]] = []
        self._seen: set[tuple[str, ...]] = set()

        @callback
        def record(event: Event[EventStateChangedData]) -> None:
            new = event.data["new_state"]
            if new is None or new.domain != "event" or "time" not in new.attributes:
                return
            attrs = new.attributes
            key = (new.entity_id, attrs["event_type"], attrs["code"], attrs["raw"], attrs["time"])
            if key not in self._seen:
                self._seen.add(key)
                self.fired.append((new.entity_id, attrs["event_type"], attrs["code"], attrs["raw"]))

        self.unsubscribe = hass.bus.async_listen(EVENT_STATE_CHANGED, record)

    def take(self) -> list[tuple[str, str, str, str]]:
        """The events since the last call."""
        fired, self.fired = self.fired, []
        return fired


@dataclass(frozen=True, slots=True)
class FaultCase:
    """One device fault injected into one endpoint, and what must show."""

    case: PlantCase
    fault: str
    device: str  # entity id prefix of the device that reports it
    faults: tuple[tuple[str, str, str, str], ...]  # (code, severity, group, raw) of each active fault
    status_fault: bool = False  # the aggregate sensor is on from the status alone (no fault code)

    @property
    def id(self) -> str:
        return f"{self.case.endpoint}-{self.fault}"


FAULT_CASES = [
    FaultCase(
        GOODWE_ET_TCP,
        "over_temperature",
        ET,
        (("over_temperature", "fault", "temperature", "goodwe_error:13"),),
    ),
    FaultCase(
        GOODWE_ET_TCP, "ground_fault", ET, (("ground_fault", "fault", "insulation", "goodwe_error:10"),)
    ),
    FaultCase(
        GOODWE_ET_TCP,
        "grid_over_voltage",
        ET,
        (("grid_voltage_out_of_range", "fault", "grid", "goodwe_error:17"),),
    ),
    FaultCase(GOODWE_ET_TCP, "grid_loss", ET, (("grid_loss", "fault", "grid", "goodwe_error:9"),)),
    FaultCase(
        GOODWE_ET_TCP,
        "bms_alarm",
        ET_BATTERY,
        (
            ("bms_over_temperature_alarm", "fault", "temperature", "goodwe_bms_alarm:2"),
            ("bms_voltage_imbalance_warning", "warning", "battery", "goodwe_bms_warning:8"),
        ),
    ),
    FaultCase(GOODWE_ET_TCP, "meter_comm_lost", ET_METER, (), status_fault=True),
    # The DT's error word has no published table: the bit stays visible as an unknown fault.
    FaultCase(
        GOODWE_DT_UDP, "over_temperature", DT, (("unknown_fault", "fault", "other", "goodwe_dt_error:13"),)
    ),
    # SunSpec reports a trip in 103 Evt1 and in 701 Alrm: one fault, both raw codes.
    FaultCase(
        SUNSPEC_TCP,
        "over_temperature",
        SS,
        (("over_temperature", "fault", "temperature", "sunspec_alrm:7, sunspec_evt1:7"),),
    ),
    FaultCase(
        SUNSPEC_TCP,
        "ground_fault",
        SS,
        (("ground_fault", "fault", "insulation", "sunspec_alrm:0, sunspec_evt1:0"),),
    ),
    FaultCase(
        SUNSPEC_TCP,
        "grid_over_voltage",
        SS,
        (("grid_over_voltage", "fault", "grid", "sunspec_alrm:10, sunspec_evt1:10"),),
    ),
    FaultCase(
        SUNSPEC_TCP,
        "bms_alarm",
        SS_BATTERY,
        (("bms_over_temperature_alarm", "fault", "temperature", "sunspec_802_evt1:1"),),
    ),
    FaultCase(
        SUNSPEC_TCP,
        "meter_comm_lost",
        SS_METER,
        (("meter_sensor_missing", "fault", "communication", "sunspec_meter_evt:7"),),
    ),
]


def test_fault_cases_cover_every_device_fault() -> None:
    """Each simulator device fault that shows as a fault is exercised (sentinels are tested apart)."""
    assert {c.fault for c in FAULT_CASES} == set(DEVICE_FAULTS) - {"sentinel_values"}


def problem_states(hass: HomeAssistant, entry: ConfigEntry) -> dict[str, str]:
    return {
        e.entity_id: hass.states.get(e.entity_id).state
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if e.domain == "binary_sensor"
    }


async def set_faults(hass: HomeAssistant, plant: SimulatedPlant, *faults: str) -> None:
    """Switch the plant's device faults and let the integration poll once."""
    plant.physics.state.faults = set(faults)
    plant.render()
    await poll(hass, 31)


@pytest.mark.parametrize("fault_case", FAULT_CASES, ids=[c.id for c in FAULT_CASES])
async def test_device_fault_raised_and_cleared(
    hass: HomeAssistant, plant: SimulatedPlant, fault_case: FaultCase
) -> None:
    """Exactly the device's matching problem sensors turn on, with the faults as an attribute; one
    fault_raised per fault, nothing more while it lasts, one fault_cleared when it goes away."""
    entry = await add_plant(hass, plant, fault_case.case)
    events = FaultEvents(hass)
    quiet = problem_states(hass, entry)
    assert set(quiet.values()) == {STATE_OFF}

    await set_faults(hass, plant, fault_case.fault)
    device = fault_case.device
    groups = {group for _, _, group, _ in fault_case.faults}
    expected_on = {f"binary_sensor.{device}_problem"} | {group_sensor(device, g) for g in groups}
    assert {entity_id for entity_id, s in problem_states(hass, entry).items() if s == STATE_ON} == expected_on

    active = [
        {"code": code, "name": FAULT_DEFINITIONS[code].name, "severity": severity, "group": group, "raw": raw}
        for code, severity, group, raw in fault_case.faults
    ]
    attributes = hass.states.get(f"binary_sensor.{device}_problem").attributes
    assert attributes["active_faults"] == active
    for group in groups:
        group_state = hass.states.get(group_sensor(device, group))
        assert group_state.attributes["active_faults"] == [f for f in active if f["group"] == group]

    event_entity = f"event.{device}_faults"
    raised = [(event_entity, EVENT_FAULT_RAISED, code, raw) for code, _, _, raw in fault_case.faults]
    assert events.take() == raised
    await poll(hass, 31)  # still active: nothing new
    assert events.take() == []

    await set_faults(hass, plant)
    assert problem_states(hass, entry) == quiet
    cleared = [(event_entity, EVENT_FAULT_CLEARED, code, raw) for code, _, _, raw in fault_case.faults]
    assert events.take() == cleared
    await poll(hass, 31)
    assert events.take() == []


async def test_fault_event_attributes(hass: HomeAssistant, plant: SimulatedPlant) -> None:
    """What an automation gets: the event type, canonical code, English name, severity, group, the raw
    vendor code and the time."""
    await add_plant(hass, plant, GOODWE_ET_TCP)
    await set_faults(hass, plant, "ground_fault")
    state = hass.states.get(f"event.{ET}_faults")
    attributes = dict(state.attributes)
    time = attributes.pop("time")
    assert attributes == {
        "event_types": [EVENT_FAULT_RAISED, EVENT_FAULT_CLEARED],
        "event_type": EVENT_FAULT_RAISED,
        "code": "ground_fault",
        "name": "Ground fault",
        "severity": "fault",
        "group": "insulation",
        "raw": "goodwe_error:10",
        "friendly_name": "GoodWe GW10K-ET Faults",
    }
    assert time.startswith(state.state[:19])  # the event entity's state is the time of its last event


async def test_fault_active_at_first_setup_is_announced_once(
    hass: HomeAssistant, plant: SimulatedPlant
) -> None:
    """Faults that are already there when the plant is added are news: one fault_raised each."""
    events = FaultEvents(hass)
    plant.physics.state.faults = {"over_temperature", "grid_loss"}
    plant.render()
    await add_plant(hass, plant, GOODWE_ET_TCP)
    assert events.take() == [
        (f"event.{ET}_faults", EVENT_FAULT_RAISED, "grid_loss", "goodwe_error:9"),
        (f"event.{ET}_faults", EVENT_FAULT_RAISED, "over_temperature", "goodwe_error:13"),
    ]
    await poll(hass, 31)
    assert events.take() == []


async def restart(
    hass: HomeAssistant, entry: ConfigEntry, how: str, plant: SimulatedPlant, *faults: str
) -> None:
    """Reload the entry, or stop Home Assistant (restore data saved and loaded again) and start it;
    the plant's faults are switched while the entry is down."""
    assert await hass.config_entries.async_unload(entry.entry_id)
    if how == "restart":
        await async_mock_restore_state_shutdown_restart(hass)
    plant.physics.state.faults = set(faults)
    plant.render()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


@pytest.mark.parametrize("how", ["reload", "restart"])
async def test_events_once_across_restarts(hass: HomeAssistant, plant: SimulatedPlant, how: str) -> None:
    """A fault still active after a restart is not announced again; one that cleared while Home
    Assistant was down is announced as cleared, once; a new one is announced."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    events = FaultEvents(hass)
    entity = f"event.{ET}_faults"
    await set_faults(hass, plant, "over_temperature", "grid_loss")
    assert [e[1:3] for e in events.take()] == [
        (EVENT_FAULT_RAISED, "grid_loss"),
        (EVENT_FAULT_RAISED, "over_temperature"),
    ]

    await restart(hass, entry, how, plant, "over_temperature", "grid_loss")
    assert events.take() == []
    await poll(hass, 31)
    assert events.take() == []

    await restart(hass, entry, how, plant, "over_temperature", "ground_fault")
    assert events.take() == [
        (entity, EVENT_FAULT_CLEARED, "grid_loss", "goodwe_error:9"),
        (entity, EVENT_FAULT_RAISED, "ground_fault", "goodwe_error:10"),
    ]
    await poll(hass, 31)
    assert events.take() == []
    assert hass.states.get(f"binary_sensor.{ET}_problem").state == STATE_ON


async def test_no_events_while_the_device_does_not_answer(hass: HomeAssistant, plant: SimulatedPlant) -> None:
    """A fault that comes and goes while the device is unreachable was never seen: no events for it;
    one that cleared during the outage is announced as cleared when the device answers again."""
    await add_plant(hass, plant, GOODWE_ET_TCP)
    events = FaultEvents(hass)
    server = plant.server(GOODWE_ET_TCP.endpoint)
    await set_faults(hass, plant, "grid_loss")
    assert len(events.take()) == 1

    server.faults.drop_connection = True
    for faults in (("grid_loss", "over_temperature"), ()):
        await set_faults(hass, plant, *faults)
        await poll(hass, 31)
    assert events.take() == []
    server.faults.clear()
    await poll(hass, 31)
    assert events.take() == [(f"event.{ET}_faults", EVENT_FAULT_CLEARED, "grid_loss", "goodwe_error:9")]


@pytest.mark.parametrize("case", [GOODWE_ET_TCP, SUNSPEC_TCP], ids=lambda case: case.endpoint)
async def test_sentinel_values_are_unknown_not_faults(
    hass: HomeAssistant, plant: SimulatedPlant, case: PlantCase
) -> None:
    """Registers showing "not available" read unknown (never 0) and raise no fault."""
    entry = await add_plant(hass, plant, case)
    events = FaultEvents(hass)
    await set_faults(hass, plant, "sentinel_values")
    energy = f"sensor.{ET}_pv_energy" if case is GOODWE_ET_TCP else f"sensor.{SS}_ac_energy"
    assert hass.states.get(energy).state == STATE_UNKNOWN
    assert set(problem_states(hass, entry).values()) == {STATE_OFF}
    assert events.take() == []


@pytest.mark.parametrize(
    ("restored", "announced"),
    [
        ({"last_event_type": None, "last_event_attributes": None}, None),  # stored by an older version
        ({"announced_faults": ["goodwe_error:9"]}, None),
        (
            {"announced_faults": {"grid_loss": {"code": "grid_loss"}, "x": "y"}},
            {},  # entries without every field are dropped
        ),
    ],
)
def test_restore_data_that_does_not_fit_is_ignored(restored: dict[str, Any], announced: Any) -> None:
    assert announced_from(restored) == announced


class LogbookLines:
    """State changes the logbook would list: an old and a new state that differ (the logbook leaves
    out entities appearing or disappearing, and attribute-only changes)."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        self.lines: list[tuple[str, str, str]] = []
        ours = {e.entity_id for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)}

        @callback
        def record(event: Event[EventStateChangedData]) -> None:
            old, new = event.data["old_state"], event.data["new_state"]
            if event.data["entity_id"] not in ours or old is None or new is None:
                return
            if old.state != new.state and new.last_changed == new.last_updated:
                self.lines.append((new.entity_id, old.state, new.state))

        self.unsubscribe = hass.bus.async_listen(EVENT_STATE_CHANGED, record)


@pytest.mark.parametrize("faulty", [False, True], ids=["quiet", "with-an-active-fault"])
async def test_a_reload_writes_no_logbook_lines(
    hass: HomeAssistant, plant: SimulatedPlant, faulty: bool
) -> None:
    """Reloading an entry (reconfigure, a moved device, the Reload button) changes nothing a user could
    see: no "became unavailable", no "cleared (no problem detected)", no "Faults detected an event"."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    events = FaultEvents(hass)
    if faulty:
        await set_faults(hass, plant, "grid_loss")
        assert hass.states.get(f"binary_sensor.{ET}_problem").state == STATE_ON
        assert len(events.take()) == 1
    logbook = LogbookLines(hass, entry)

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await poll(hass, 31)

    assert logbook.lines == []
    assert events.take() == []
    assert hass.states.get(f"binary_sensor.{ET}_problem").state == (STATE_ON if faulty else STATE_OFF)


async def test_entities_of_an_entry_that_cannot_come_back_are_unavailable(
    hass: HomeAssistant, plant: SimulatedPlant
) -> None:
    """A reload whose setup fails (the plant went away meanwhile) leaves the entities unavailable, not
    missing from the state machine (dashboards would show "entity not available")."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    plant.server(GOODWE_ET_TCP.endpoint).faults.offline = True
    assert not await hass.config_entries.async_reload(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    entity_ids = [
        e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if e.disabled_by is None
    ]
    assert entity_ids
    for entity_id in entity_ids:
        state = hass.states.get(entity_id)
        assert state is not None, entity_id
        assert state.state == "unavailable", entity_id
