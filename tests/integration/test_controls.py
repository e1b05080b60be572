"""Battery and export controls in Home Assistant, against the simulated plant on loopback.

Every write is counted at the simulator's server, so "nothing was written" is checked on the wire, and the
simulated plant follows what was written, so "the plant does what it was told" is checked in its physics
and in the sensors of the next poll.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.number import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.components.select import ATTR_OPTION, SERVICE_SELECT_OPTION
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_ON, STATE_UNKNOWN, Platform
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    async_capture_events,
    async_fire_time_changed,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.sems import logbook
from custom_components.sems.const import (
    CONF_ALLOW_CONTROL,
    CONTROL_READ_INTERVAL,
    DOMAIN,
    EVENT_CONTROL_CHANGED,
    SERVICE_SET_BATTERY_MODE,
    SERVICE_SET_EXPORT_LIMIT,
)
from custom_components.sems.plantkit.control import Control
from custom_components.sems.plantkit.exceptions import ModbusExceptionError
from custom_components.sems.plantkit.model import Quantity
from custom_components.sems.plantkit.registers import RegisterKind
from simulator.device import SimDevice
from simulator.plant import SimulatedPlant

from .common import entry_device
from .conftest import GOODWE_DT_UDP, GOODWE_ET_TCP, HUAWEI_TCP, SUNSPEC_TCP, PlantCase, add_plant

ET = GOODWE_ET_TCP.endpoint
ET_KEY = "9010KETU000SIM01"
ET_BATTERY = f"{ET_KEY}_battery"
ET_UNIT = 247
EMS_MODE, EMS_POWER, EXPORT_SWITCH, EXPORT_LIMIT = 47511, 47512, 47509, 47510  # GoodWe ET settings
SELF_USE, FORCE_CHARGE = 1, 11  # their EMS mode codes
SS_KEY = "SS-INV-0001"
SS_BATTERY = f"{SS_KEY}_battery"
HUAWEI = HUAWEI_TCP.endpoint
HW_KEY = "HV2240SIM001"
HW_BATTERY = "HVLUNA0SIM01_battery"
HW_UNIT = 1


async def allow_control(hass: HomeAssistant, entry: ConfigEntry, allowed: bool = True) -> None:
    """Turn "Allow control of this plant" on (or off) in the options, as a user would; the entry reloads."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert "controls" in result["menu_options"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "controls"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "controls"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_ALLOW_CONTROL: allowed}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED
    assert entry.options[CONF_ALLOW_CONTROL] is allowed


async def controlled_plant(
    hass: HomeAssistant, plant: SimulatedPlant, case: PlantCase = GOODWE_ET_TCP
) -> ConfigEntry:
    entry = await add_plant(hass, plant, case)
    await allow_control(hass, entry)
    return entry


def entity_id(hass: HomeAssistant, platform: str, unique_id: str) -> str:
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, unique_id)
    assert found is not None, unique_id
    return found


async def refused(hass: HomeAssistant, service: str, data: dict[str, Any]) -> ServiceValidationError:
    """The error a sems action is refused with before anything is sent (it must be refused)."""
    return await raised(hass, service, data, ServiceValidationError)


async def failed(hass: HomeAssistant, service: str, data: dict[str, Any]) -> HomeAssistantError:
    """The error a sems action fails with at the device (it must fail, and not be a refusal)."""
    caught = await raised(hass, service, data, HomeAssistantError)
    assert not isinstance(caught, ServiceValidationError)
    return caught


async def raised[E: HomeAssistantError](
    hass: HomeAssistant, service: str, data: dict[str, Any], error: type[E]
) -> E:
    with pytest.raises(error) as caught:
        await hass.services.async_call(DOMAIN, service, data, blocking=True)
    return caught.value


def state_of(hass: HomeAssistant, entity: str) -> str:
    found = hass.states.get(entity)
    assert found is not None, entity
    return found.state


def device_id(hass: HomeAssistant, entry: ConfigEntry, key: str) -> str:
    device = entry_device(hass, entry, key)
    assert device is not None, key
    return device.id


def writes(plant: SimulatedPlant, endpoint: str = ET) -> int:
    return plant.server(endpoint).write_requests()


def register(plant: SimulatedPlant, address: int) -> int:
    return plant.devices["goodwe_et"].image.read(RegisterKind.HOLDING, address, 1)[0]


async def test_control_is_off_by_default_and_nothing_is_written(
    hass: HomeAssistant, plant: SimulatedPlant
) -> None:
    """Without the option no control entity exists, the actions are refused, and no write request ever
    reaches the device (setup, polls and the refused calls included)."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    registry = er.async_get(hass)
    platforms = {e.domain for e in er.async_entries_for_config_entry(registry, entry.entry_id)}
    assert platforms.isdisjoint({Platform.SELECT, Platform.NUMBER, Platform.SWITCH})
    battery = device_id(hass, entry, ET_BATTERY)
    caught = await refused(
        hass, SERVICE_SET_BATTERY_MODE, {"device_id": battery, "mode": "force_charge", "power": 3000}
    )
    assert caught.translation_key == "control_not_allowed"
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            DOMAIN,
            SERVICE_SET_EXPORT_LIMIT,
            {"device_id": device_id(hass, entry, ET_KEY), "enabled": True, "power": 0},
            blocking=True,
        )
    await entry.runtime_data.async_refresh()
    assert writes(plant) == 0


async def test_allowing_control_adds_the_entities_and_still_writes_nothing(
    hass: HomeAssistant,
    plant: SimulatedPlant,
    entity_registry: er.EntityRegistry,
    ha_snapshot: SnapshotAssertion,
) -> None:
    """The option adds each device's controls with the device's own limits; setting up writes nothing;
    turning it off again removes them."""
    entry = await controlled_plant(hass, plant)
    with_controls = [Platform.SELECT, Platform.NUMBER, Platform.SWITCH]
    registry_entries = er.async_entries_for_config_entry(entity_registry, entry.entry_id)
    for control in sorted(
        (e for e in registry_entries if e.domain in with_controls), key=lambda e: e.unique_id
    ):
        assert control == ha_snapshot(name=f"{control.unique_id}-entry")
        assert hass.states.get(control.entity_id) == ha_snapshot(name=f"{control.unique_id}-state")
    mode = hass.states.get(entity_id(hass, "select", f"{ET_BATTERY}_battery_mode"))
    assert mode is not None
    assert mode.state == "self_use"
    assert mode.attributes["options"] == [
        "self_use",
        "force_charge",
        "force_discharge",
        "hold",
        "off_grid_reserve",
    ]
    power = hass.states.get(entity_id(hass, "number", f"{ET_BATTERY}_force_power"))
    assert power is not None
    assert (power.attributes["min"], power.attributes["max"]) == (0, 10_000)  # the rated power
    soc = hass.states.get(entity_id(hass, "number", f"{ET_BATTERY}_min_soc"))
    assert soc is not None
    assert (soc.state, soc.attributes["min"], soc.attributes["max"]) == ("10.0", 1, 100)
    assert state_of(hass, entity_id(hass, "switch", f"{ET_KEY}_export_limit")) == "off"
    assert writes(plant) == 0

    await allow_control(hass, entry, allowed=False)
    assert hass.states.get(entity_id(hass, "select", f"{ET_BATTERY}_battery_mode")) is None
    assert writes(plant) == 0


async def test_a_plant_without_controls_offers_none(hass: HomeAssistant, plant: SimulatedPlant) -> None:
    """A PV-only GoodWe DT has no controls: the options do not offer them, no entity appears."""
    entry = await add_plant(hass, plant, GOODWE_DT_UDP)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert "controls" not in result["menu_options"]
    hass.config_entries.options.async_abort(result["flow_id"])


async def test_entities_drive_the_plant_and_read_back(hass: HomeAssistant, plant: SimulatedPlant) -> None:
    """Forced power, then a forced charge: the battery charges at that power from the next poll on, the
    entities show what the device read back, and the logbook gets one entry per write."""
    entry = await controlled_plant(hass, plant)
    events = async_capture_events(hass, EVENT_CONTROL_CHANGED)
    power = entity_id(hass, "number", f"{ET_BATTERY}_force_power")
    mode = entity_id(hass, "select", f"{ET_BATTERY}_battery_mode")
    await hass.services.async_call(
        "number", SERVICE_SET_VALUE, {ATTR_ENTITY_ID: power, ATTR_VALUE: 3000}, blocking=True
    )
    await hass.services.async_call(
        "select", SERVICE_SELECT_OPTION, {ATTR_ENTITY_ID: mode, ATTR_OPTION: "force_charge"}, blocking=True
    )
    assert (state_of(hass, power), state_of(hass, mode)) == ("3000.0", "force_charge")
    assert (register(plant, EMS_POWER), register(plant, EMS_MODE)) == (3000, FORCE_CHARGE)
    assert plant.physics.state.battery_power == -3000.0
    await entry.runtime_data.async_refresh()
    await hass.async_block_till_done()
    battery_power = hass.states.get(entity_id(hass, "sensor", f"{ET_BATTERY}_{Quantity.BATTERY_POWER}"))
    assert battery_power is not None
    assert float(battery_power.state) == -3000.0
    assert [(e.data["control"], e.data["old"], e.data["new"]) for e in events] == [
        ("force_power", 0.0, 3000.0),
        ("battery_mode", "self_use", "force_charge"),
    ]
    assert events[1].data["device_id"] == device_id(hass, entry, ET_BATTERY)
    assert plant.server(ET).write_count(ET_UNIT, EMS_MODE) == 1


async def test_logbook_describes_a_change(hass: HomeAssistant, plant: SimulatedPlant) -> None:
    """The logbook entry names the device, the control, the old and the new value."""
    entry = await controlled_plant(hass, plant)
    events = async_capture_events(hass, EVENT_CONTROL_CHANGED)
    await hass.services.async_call(
        DOMAIN,
        SERVICE_SET_BATTERY_MODE,
        {"device_id": device_id(hass, entry, ET_BATTERY), "mode": "hold"},
        blocking=True,
    )
    described: dict[str, Any] = {}

    def register_description(domain: str, event_type: str, describe: Any) -> None:
        described[event_type] = describe

    await hass.services.async_call(
        DOMAIN,
        SERVICE_SET_EXPORT_LIMIT,
        {"device_id": device_id(hass, entry, ET_KEY), "enabled": True, "power": 500},
        blocking=True,
    )
    logbook.async_describe_events(hass, register_description)
    messages = [described[EVENT_CONTROL_CHANGED](event)["message"] for event in events]
    assert messages == [
        "Mode: Self-use \u2192 Hold (no charge or discharge)",
        "Export limit: 10000 W \u2192 500 W",
        "Limit export: Off \u2192 On",  # Home Assistant's own words for a switch's states
    ]
    assert all(described[EVENT_CONTROL_CHANGED](event)["name"] for event in events)


async def test_logbook_survives_any_event_data_and_speaks_vietnamese(
    hass: HomeAssistant, plant: SimulatedPlant
) -> None:
    """Anyone can fire ``sems_control_changed``: whatever its data, the logbook line is made (never an
    exception in the describe callback); in Vietnamese the names come from vi.json and Home Assistant."""
    hass.config.language = "vi"
    entry = await controlled_plant(hass, plant)
    described: dict[str, Any] = {}

    def register_description(domain: str, event_type: str, describe: Any) -> None:
        described[event_type] = describe

    logbook.async_describe_events(hass, register_description)
    describe = described[EVENT_CONTROL_CHANGED]
    inverter = device_id(hass, entry, ET_KEY)
    odd: list[object] = [None, {"a": [1]}, [1, 2], 10**400, -(10**400), float("nan"), float("inf"), "x" * 5]
    odd += [True, 0, "hold", "", -1.5]
    for control in [None, {"x": 1}, 5, "nonsense", *(str(c) for c in Control)]:
        for old, new in zip(odd, reversed(odd), strict=True):
            data = {"device_id": inverter, "device": ET_KEY, "control": control, "old": old, "new": new}
            line = describe(Event(EVENT_CONTROL_CHANGED, data))
            assert isinstance(line["message"], str)
            assert isinstance(line["name"], str)
    for data in ({}, {"device_id": None}, {"device_id": ["x"], "control": "min_soc", "old": 10**400}):
        assert isinstance(describe(Event(EVENT_CONTROL_CHANGED, data))["message"], str)
    said = [
        describe(Event(EVENT_CONTROL_CHANGED, {"device_id": inverter, "control": c, "old": o, "new": n}))
        for c, o, n in (("export_limit", False, True), ("battery_mode", "self_use", "hold"))
    ]
    assert [line["message"] for line in said] == [
        "Giới hạn phát lưới: Tắt \u2192 Bật",
        "Chế độ: Tự dùng \u2192 Giữ (không sạc, không xả)",
    ]


@pytest.mark.freeze_time(tick=True)
async def test_the_battery_mode_action_follows_the_commanded_mode(
    hass: HomeAssistant, plant: SimulatedPlant, freezer: FrozenDateTimeFactory
) -> None:
    """Asked of the inverter, the battery mode action sets its battery's: forced discharge at a power, then
    hold, then self-use again (a few seconds apart: the write budget swallows bursts)."""
    entry = await controlled_plant(hass, plant)
    inverter = device_id(hass, entry, ET_KEY)
    mode = entity_id(hass, "select", f"{ET_BATTERY}_battery_mode")
    await hass.services.async_call(
        DOMAIN,
        SERVICE_SET_BATTERY_MODE,
        {"device_id": inverter, "mode": "force_discharge", "power": 2500},
        blocking=True,
    )
    assert plant.physics.state.battery_power == 2500.0
    assert state_of(hass, mode) == "force_discharge"
    for name, expected in (("hold", 0.0), ("self_use", None)):
        freezer.tick(timedelta(seconds=6))
        await hass.services.async_call(
            DOMAIN, SERVICE_SET_BATTERY_MODE, {"device_id": inverter, "mode": name}, blocking=True
        )
        assert state_of(hass, mode) == name
        if expected is not None:
            assert plant.physics.state.battery_power == expected


async def test_the_export_limit_action_caps_the_export(hass: HomeAssistant, plant: SimulatedPlant) -> None:
    """At a sunny noon the plant exports; a limit of 0 W (negative prices) stops the export."""
    entry = await controlled_plant(hass, plant)
    assert plant.physics.state.grid_power < -500  # exporting
    await hass.services.async_call(
        DOMAIN,
        SERVICE_SET_EXPORT_LIMIT,
        {"device_id": device_id(hass, entry, entry.unique_id + "_plant"), "enabled": True, "power": 0},
        blocking=True,
    )
    assert plant.physics.state.grid_power >= 0
    assert state_of(hass, entity_id(hass, "switch", f"{ET_KEY}_export_limit")) == "on"
    assert state_of(hass, entity_id(hass, "number", f"{ET_KEY}_export_limit_power")) == "0.0"


@pytest.mark.parametrize(
    ("service", "data", "key"),
    [
        (SERVICE_SET_BATTERY_MODE, {"mode": "force_charge", "power": 20_000}, "control_out_of_range"),
        (SERVICE_SET_BATTERY_MODE, {"mode": "nap"}, "control_invalid_choice"),
        (SERVICE_SET_BATTERY_MODE, {"mode": "hold", "duration": {"hours": 25}}, "invalid_duration"),
        (SERVICE_SET_EXPORT_LIMIT, {"enabled": True, "power": -1}, "control_out_of_range"),
        (SERVICE_SET_EXPORT_LIMIT, {"enabled": True, "power": 10_001}, "control_out_of_range"),
        (SERVICE_SET_EXPORT_LIMIT, {"enabled": True, "power": "nan"}, "control_out_of_range"),
        (SERVICE_SET_EXPORT_LIMIT, {"enabled": True, "power": float("inf")}, "control_out_of_range"),
        (SERVICE_SET_EXPORT_LIMIT, {"enabled": True, "power": 10**400}, "control_out_of_range"),
        (SERVICE_SET_BATTERY_MODE, {"mode": "force_charge", "power": -5}, "control_out_of_range"),
        (SERVICE_SET_BATTERY_MODE, {"mode": "hold", "duration": {"seconds": 0}}, "invalid_duration"),
        (SERVICE_SET_BATTERY_MODE, {"mode": "hold", "duration": "-01:00:00"}, "invalid_duration"),
    ],
)
async def test_values_outside_the_limits_are_refused(
    hass: HomeAssistant, plant: SimulatedPlant, service: str, data: dict[str, Any], key: str
) -> None:
    """Out of range or not offered: a translated ServiceValidationError, and nothing on the wire."""
    entry = await controlled_plant(hass, plant)
    caught = await refused(hass, service, {"device_id": device_id(hass, entry, ET_KEY), **data})
    assert caught.translation_key == key
    assert str(caught)  # the translated message
    assert writes(plant) == 0


async def test_a_mode_the_device_does_not_offer_lists_the_keys_the_action_accepts(
    hass: HomeAssistant, plant: SimulatedPlant
) -> None:
    """A YAML author who typed the mode's label (or a mode the device lacks) learns the keys to type, in
    either language: the choices are listed as the action takes them, not as the select shows them."""
    hass.config.language = "vi"
    entry = await controlled_plant(hass, plant, HUAWEI_TCP)
    caught = await refused(
        hass,
        SERVICE_SET_BATTERY_MODE,
        {"device_id": device_id(hass, entry, HW_BATTERY), "mode": "Force charge"},
    )
    assert caught.translation_key == "control_invalid_choice"
    assert caught.translation_placeholders == {
        "control": "Chế độ",
        "value": "Force charge",
        "options": "self_use, force_charge, force_discharge",  # Huawei has no hold, no off-grid reserve
    }
    assert "self_use, force_charge, force_discharge" in str(caught)
    assert writes(plant, HUAWEI) == 0


@pytest.mark.parametrize(
    ("case", "battery", "mode", "said"),
    [
        (GOODWE_ET_TCP, ET_BATTERY, "self_use", "Self-use"),
        (GOODWE_ET_TCP, ET_BATTERY, "hold", "Hold (no charge or discharge)"),
        (SUNSPEC_TCP, SS_BATTERY, "self_use", "Self-use"),
        (HUAWEI_TCP, HW_BATTERY, "self_use", "Self-use"),
    ],
)
async def test_a_power_with_a_mode_that_uses_none_is_refused(
    hass: HomeAssistant, plant: SimulatedPlant, case: PlantCase, battery: str, mode: str, said: str
) -> None:
    """`power` with a mode that uses none is a mistake in the automation: every brand refuses it alike,
    with a translated message naming the mode, and writes nothing."""
    entry = await controlled_plant(hass, plant, case)
    caught = await refused(
        hass,
        SERVICE_SET_BATTERY_MODE,
        {"device_id": device_id(hass, entry, battery), "mode": mode, "power": 1000},
    )
    assert caught.translation_key == "mode_takes_no_power"
    assert caught.translation_placeholders == {"mode": said}
    assert said in str(caught)
    assert writes(plant, case.endpoint) == 0


async def test_export_limit_refusals_name_the_control_that_failed(
    hass: HomeAssistant, plant: SimulatedPlant
) -> None:
    """The action writes two controls: an out-of-range power names the power (not the switch), and with
    control off the refusal is "control is off", before anything is sent."""
    entry = await controlled_plant(hass, plant)
    inverter = device_id(hass, entry, ET_KEY)
    caught = await refused(
        hass, SERVICE_SET_EXPORT_LIMIT, {"device_id": inverter, "enabled": True, "power": 10_001}
    )
    assert caught.translation_key == "control_out_of_range"
    assert caught.translation_placeholders == {
        "control": "Export limit",
        "value": "10001",
        "minimum": "0",
        "maximum": "10000",
    }
    await allow_control(hass, entry, allowed=False)
    caught = await refused(
        hass, SERVICE_SET_EXPORT_LIMIT, {"device_id": inverter, "enabled": True, "power": 0}
    )
    assert caught.translation_key == "control_not_allowed"
    assert writes(plant) == 0


async def test_an_unknown_device_is_refused(hass: HomeAssistant, plant: SimulatedPlant) -> None:
    await controlled_plant(hass, plant)
    caught = await refused(hass, SERVICE_SET_BATTERY_MODE, {"device_id": "nope", "mode": "hold"})
    assert caught.translation_key == "unknown_device"


async def test_a_write_the_device_does_not_take_leaves_the_real_value(
    hass: HomeAssistant, plant: SimulatedPlant
) -> None:
    """The device acknowledges but keeps its value: a translated error, and the entity shows the real
    value; a device that refuses the write with a Modbus exception says so."""
    await controlled_plant(hass, plant)
    mode = entity_id(hass, "select", f"{ET_BATTERY}_battery_mode")
    plant.server(ET).faults.ignore_writes = True
    with pytest.raises(HomeAssistantError) as caught:
        await hass.services.async_call(
            "select", SERVICE_SELECT_OPTION, {ATTR_ENTITY_ID: mode, ATTR_OPTION: "hold"}, blocking=True
        )
    assert not isinstance(caught.value, ServiceValidationError)
    assert caught.value.translation_key == "write_not_taken"
    assert "Self-use" in str(caught.value)
    assert state_of(hass, mode) == "self_use"
    assert register(plant, EMS_MODE) == SELF_USE

    plant.server(ET).faults.ignore_writes = False
    plant.server(ET).faults.refuse_writes = ModbusExceptionError.ILLEGAL_DATA_VALUE
    switch = entity_id(hass, "switch", f"{ET_KEY}_export_limit")
    with pytest.raises(HomeAssistantError) as caught:
        await hass.services.async_call("switch", SERVICE_TURN_ON, {ATTR_ENTITY_ID: switch}, blocking=True)
    assert caught.value.translation_key == "device_error"
    assert state_of(hass, switch) == "off"


async def test_an_export_limit_whose_switch_is_refused_keeps_the_old_power(
    hass: HomeAssistant, plant: SimulatedPlant
) -> None:
    """The action writes the limit's power, then the switch; a firmware that locks the switch refuses it:
    the power is put back, so the failed action changed nothing (entities, registers, logbook)."""
    entry = await controlled_plant(hass, plant)
    events = async_capture_events(hass, EVENT_CONTROL_CHANGED)
    plant.devices["goodwe_et"].image.read_only.add(EXPORT_SWITCH)
    caught = await failed(
        hass,
        SERVICE_SET_EXPORT_LIMIT,
        {"device_id": device_id(hass, entry, ET_KEY), "enabled": True, "power": 500},
    )
    assert caught.translation_key == "device_error"
    assert register(plant, EXPORT_LIMIT) == 10_000
    assert plant.server(ET).write_count(ET_UNIT, EXPORT_LIMIT) == 2  # the power, and putting it back
    assert state_of(hass, entity_id(hass, "number", f"{ET_KEY}_export_limit_power")) == "10000.0"
    assert state_of(hass, entity_id(hass, "switch", f"{ET_KEY}_export_limit")) == "off"
    assert events == []


async def test_a_power_that_cannot_be_put_back_is_said_to_stay(
    hass: HomeAssistant, plant: SimulatedPlant
) -> None:
    """The switch is refused and so is putting the power back: the error names the switch, why it failed,
    and the power that stays; the entity and the logbook show that power."""
    entry = await controlled_plant(hass, plant)
    events = async_capture_events(hass, EVENT_CONTROL_CHANGED)
    image = plant.devices["goodwe_et"].image
    image.read_only.add(EXPORT_SWITCH)
    plant.server(ET).also_on_write(lambda device: image.read_only.add(EXPORT_LIMIT))
    caught = await failed(
        hass,
        SERVICE_SET_EXPORT_LIMIT,
        {"device_id": device_id(hass, entry, ET_KEY), "enabled": True, "power": 500},
    )
    assert caught.translation_key == "control_partly_written"
    placeholders = caught.translation_placeholders
    assert placeholders is not None
    assert placeholders["reason"].endswith("answered with Modbus exception 2.")
    assert {key: placeholders[key] for key in ("control", "changed", "value")} == {
        "control": "Limit export",
        "changed": "Export limit",
        "value": "500 W",
    }
    assert "probably still 500 W" in str(caught)
    assert register(plant, EXPORT_LIMIT) == 500
    assert state_of(hass, entity_id(hass, "number", f"{ET_KEY}_export_limit_power")) == "500.0"
    assert [(e.data["control"], e.data["old"], e.data["new"]) for e in events] == [
        ("export_limit_power", 10_000.0, 500.0)
    ]


async def test_the_write_budget_refuses_without_writing(hass: HomeAssistant, plant: SimulatedPlant) -> None:
    """A register written a moment ago is not written again: refused, and nothing reaches the device."""
    entry = await controlled_plant(hass, plant)
    inverter = device_id(hass, entry, ET_KEY)
    limit = entity_id(hass, "number", f"{ET_KEY}_export_limit_power")
    await hass.services.async_call(
        "number", SERVICE_SET_VALUE, {ATTR_ENTITY_ID: limit, ATTR_VALUE: 1000}, blocking=True
    )
    caught = await refused(
        hass, SERVICE_SET_EXPORT_LIMIT, {"device_id": inverter, "enabled": False, "power": 2000}
    )
    assert caught.translation_key == "write_too_soon"  # the 5 s interval, not the hour's count
    placeholders = {"control": "Export limit", "interval": "5", "seconds": "5"}
    assert caught.translation_placeholders == placeholders
    assert plant.server(ET).write_count(ET_UNIT, EXPORT_LIMIT) == 1
    assert writes(plant) == 1
    assert state_of(hass, limit) == "1000.0"


async def test_the_write_budget_holds_across_a_reload_and_a_restart(
    hass: HomeAssistant, plant: SimulatedPlant, hass_storage: dict[str, Any]
) -> None:
    """Reloading the entry (an options change does) or restarting Home Assistant does not give a register
    a fresh budget: the write a moment ago still counts, and nothing reaches the device."""
    entry = await controlled_plant(hass, plant)
    limit = entity_id(hass, "number", f"{ET_KEY}_export_limit_power")
    await hass.services.async_call(
        "number", SERVICE_SET_VALUE, {ATTR_ENTITY_ID: limit, ATTR_VALUE: 1000}, blocking=True
    )
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            "number", SERVICE_SET_VALUE, {ATTR_ENTITY_ID: limit, ATTR_VALUE: 2000}, blocking=True
        )
    assert caught.value.translation_key == "write_too_soon"
    assert plant.server(ET).write_count(ET_UNIT, EXPORT_LIMIT) == 1
    # What a restart finds: the writes are stored with the temporary modes.
    stored = hass_storage[f"{DOMAIN}.{entry.entry_id}.controls"]["data"]
    assert stored["writes"] == {f"{ET_UNIT}:{EXPORT_LIMIT}": [pytest.approx(time.time(), abs=60)]}


@pytest.mark.freeze_time(tick=True)
async def test_a_temporary_mode_ends_on_time(
    hass: HomeAssistant, plant: SimulatedPlant, freezer: FrozenDateTimeFactory
) -> None:
    """A forced charge for 30 minutes: still charging after 29, back to self-use at 30."""
    entry = await controlled_plant(hass, plant)
    mode = entity_id(hass, "select", f"{ET_BATTERY}_battery_mode")
    await hass.services.async_call(
        DOMAIN,
        SERVICE_SET_BATTERY_MODE,
        {
            "device_id": device_id(hass, entry, ET_BATTERY),
            "mode": "force_charge",
            "power": 2000,
            "duration": {"minutes": 30},
        },
        blocking=True,
    )
    freezer.tick(timedelta(minutes=29))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert register(plant, EMS_MODE) == FORCE_CHARGE
    freezer.tick(timedelta(minutes=1, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert register(plant, EMS_MODE) == SELF_USE
    assert state_of(hass, mode) == "self_use"
    assert plant.physics.state.battery_power != -2000.0


@pytest.mark.freeze_time(tick=True)
async def test_a_temporary_mode_ends_on_time_with_the_budget_used_up(
    hass: HomeAssistant,
    plant: SimulatedPlant,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nine mode changes, then a forced charge for 30 minutes: the tenth write uses up the hour's budget
    of the mode register, and the end is still written at 30 minutes (not once the hour is over)."""
    entry = await controlled_plant(hass, plant)
    mode = entity_id(hass, "select", f"{ET_BATTERY}_battery_mode")
    for option in ["hold", "self_use"] * 4 + ["hold"]:
        await hass.services.async_call(
            "select", SERVICE_SELECT_OPTION, {ATTR_ENTITY_ID: mode, ATTR_OPTION: option}, blocking=True
        )
        freezer.tick(timedelta(seconds=6))
    await hass.services.async_call(
        DOMAIN,
        SERVICE_SET_BATTERY_MODE,
        {
            "device_id": device_id(hass, entry, ET_BATTERY),
            "mode": "force_charge",
            "duration": {"minutes": 30},
        },
        blocking=True,
    )
    assert plant.server(ET).write_count(ET_UNIT, EMS_MODE) == 10
    freezer.tick(timedelta(minutes=30, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert register(plant, EMS_MODE) == SELF_USE
    assert state_of(hass, mode) == "self_use"
    assert "ending a temporary battery mode failed" not in caplog.text


@pytest.mark.freeze_time(tick=True)
async def test_a_carried_forced_power_shows_0_once_a_temporary_mode_ends(
    hass: HomeAssistant, plant: SimulatedPlant, freezer: FrozenDateTimeFactory
) -> None:
    """SunSpec keeps the forced power in the mode's rates: when a temporary forced discharge ends, the
    Forced power number reads 0 W again (it showed the ended mode's power)."""
    entry = await controlled_plant(hass, plant, SUNSPEC_TCP)
    power = entity_id(hass, "number", f"{SS_BATTERY}_force_power")
    await hass.services.async_call(
        DOMAIN,
        SERVICE_SET_BATTERY_MODE,
        {
            "device_id": device_id(hass, entry, SS_BATTERY),
            "mode": "force_discharge",
            "power": 1500,
            "duration": {"minutes": 1},  # ends before the controls are read again with the poll
        },
        blocking=True,
    )
    assert state_of(hass, power) == "1500.0"
    freezer.move_to(dt_util.utcnow() + timedelta(minutes=1, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert state_of(hass, entity_id(hass, "select", f"{SS_BATTERY}_battery_mode")) == "self_use"
    assert state_of(hass, power) == "0.0"


@pytest.mark.freeze_time(tick=True)
async def test_a_temporary_mode_ends_across_a_restart(
    hass: HomeAssistant, plant: SimulatedPlant, freezer: FrozenDateTimeFactory
) -> None:
    """The end of a temporary mode is stored: Home Assistant down when it was due, the mode ends at the
    next start, once setup is done."""
    entry = await controlled_plant(hass, plant)
    await hass.services.async_call(
        DOMAIN,
        SERVICE_SET_BATTERY_MODE,
        {"device_id": device_id(hass, entry, ET_BATTERY), "mode": "hold", "duration": {"minutes": 30}},
        blocking=True,
    )
    assert await hass.config_entries.async_unload(entry.entry_id)
    freezer.tick(timedelta(hours=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert register(plant, EMS_MODE) == 8  # still holding: nothing ran while unloaded
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert register(plant, EMS_MODE) == 8  # not during setup
    async_fire_time_changed(hass)  # the overdue end's timer runs right after
    await hass.async_block_till_done(wait_background_tasks=True)
    assert register(plant, EMS_MODE) == SELF_USE
    assert state_of(hass, entity_id(hass, "select", f"{ET_BATTERY}_battery_mode")) == "self_use"


@pytest.mark.freeze_time(tick=True)
async def test_sunspec_controls(
    hass: HomeAssistant, plant: SimulatedPlant, freezer: FrozenDateTimeFactory
) -> None:
    """A SunSpec hybrid offers its 124 modes and reserve and its 123 output limit, and follows them."""
    entry = await controlled_plant(hass, plant, SUNSPEC_TCP)
    mode = hass.states.get(entity_id(hass, "select", f"{SS_BATTERY}_battery_mode"))
    assert mode is not None
    assert mode.attributes["options"] == ["self_use", "force_charge", "force_discharge", "hold"]
    power = entity_id(hass, "number", f"{SS_BATTERY}_force_power")  # kept in the mode's own registers
    assert state_of(hass, power) == "0.0"
    with pytest.raises(ServiceValidationError) as caught:  # self-use: nothing to carry it
        await hass.services.async_call(
            "number", SERVICE_SET_VALUE, {ATTR_ENTITY_ID: power, ATTR_VALUE: 1000}, blocking=True
        )
    assert caught.value.translation_key == "forced_power_needs_forced_mode"
    assert caught.value.translation_placeholders == {"control": "Forced power"}
    assert writes(plant, "sunspec_tcp") == 0
    await hass.services.async_call(
        DOMAIN,
        SERVICE_SET_BATTERY_MODE,
        {"device_id": device_id(hass, entry, SS_BATTERY), "mode": "force_discharge", "power": 1500},
        blocking=True,
    )
    assert plant.physics.state.battery_power == 1500.0
    assert state_of(hass, mode.entity_id) == "force_discharge"
    assert state_of(hass, power) == "1500.0"
    # The write budget swallows bursts. (A ticking clock's tick() counts from the frozen start, not now.)
    freezer.move_to(dt_util.utcnow() + timedelta(seconds=6))
    await hass.services.async_call(
        "number", SERVICE_SET_VALUE, {ATTR_ENTITY_ID: power, ATTR_VALUE: 2500}, blocking=True
    )
    assert plant.physics.state.battery_power == 2500.0
    assert (state_of(hass, mode.entity_id), state_of(hass, power)) == ("force_discharge", "2500.0")
    soc = entity_id(hass, "number", f"{SS_BATTERY}_min_soc")
    await hass.services.async_call(
        "number", SERVICE_SET_VALUE, {ATTR_ENTITY_ID: soc, ATTR_VALUE: 30}, blocking=True
    )
    assert state_of(hass, soc) == "30.0"


async def test_a_mode_and_the_power_it_carries_are_shown_together(
    hass: HomeAssistant, plant: SimulatedPlant
) -> None:
    """SunSpec keeps the forced power in the mode's registers, so a mode change also changes the Forced
    power number, which needs the registers read again. The mode's new state is not shown before that
    read: an automation triggered by it (or by the logbook's event) read the power of the mode before
    (0 W). When the action returns, both are shown."""
    entry = await controlled_plant(hass, plant, SUNSPEC_TCP)
    mode = entity_id(hass, "select", f"{SS_BATTERY}_battery_mode")
    power = entity_id(hass, "number", f"{SS_BATTERY}_force_power")
    seen: list[tuple[str, str]] = []

    @callback
    def shown(event: Event[Any]) -> None:
        seen.append((state_of(hass, mode), state_of(hass, power)))

    unsubscribe = async_track_state_change_event(hass, mode, shown)
    unlisten = hass.bus.async_listen(EVENT_CONTROL_CHANGED, shown)  # the logbook's event
    await hass.services.async_call(
        DOMAIN,
        SERVICE_SET_BATTERY_MODE,
        {"device_id": device_id(hass, entry, SS_BATTERY), "mode": "force_discharge", "power": 1500},
        blocking=True,
    )
    assert (state_of(hass, mode), state_of(hass, power)) == ("force_discharge", "1500.0")
    await hass.async_block_till_done()
    unsubscribe()
    unlisten()
    assert seen == [("force_discharge", "1500.0")] * 2


@pytest.mark.freeze_time(tick=True)
async def test_a_carried_power_that_cannot_be_read_again_is_unknown(
    hass: HomeAssistant, plant: SimulatedPlant, freezer: FrozenDateTimeFactory
) -> None:
    """The mode changes from force discharge (1500 W) to force charge, whose power SunSpec keeps in another
    register; the device takes the write and answers its read-back, then stops answering. The Forced power
    number cannot be read again: it shows unknown, not the 1500 W of the mode before, until the controls
    are read again."""
    entry = await controlled_plant(hass, plant, SUNSPEC_TCP)
    mode = entity_id(hass, "select", f"{SS_BATTERY}_battery_mode")
    power = entity_id(hass, "number", f"{SS_BATTERY}_force_power")
    battery = device_id(hass, entry, SS_BATTERY)
    await hass.services.async_call(
        DOMAIN,
        SERVICE_SET_BATTERY_MODE,
        {"device_id": battery, "mode": "force_discharge", "power": 1500},
        blocking=True,
    )
    assert state_of(hass, power) == "1500.0"
    server = plant.server(SUNSPEC_TCP.endpoint)
    answer_pdu = server.answer_pdu

    def answer_the_read_back_then_fall_silent(device: SimDevice) -> None:
        def answer(unit_id: int, pdu: bytes) -> bytes | None:
            if pdu[0] == 0x03:  # the first read after the writes: their read-back
                server.faults.offline = True  # answered, and then nothing more
                server.answer_pdu = answer_pdu  # type: ignore[method-assign]
            return answer_pdu(unit_id, pdu)

        server.answer_pdu = answer  # type: ignore[method-assign]

    undo = server.also_on_write(answer_the_read_back_then_fall_silent)
    freezer.move_to(dt_util.utcnow() + timedelta(seconds=6))  # past the write interval
    await hass.services.async_call(
        DOMAIN, SERVICE_SET_BATTERY_MODE, {"device_id": battery, "mode": "force_charge"}, blocking=True
    )
    assert (state_of(hass, mode), state_of(hass, power)) == ("force_charge", STATE_UNKNOWN)

    server.faults.offline = False
    undo()
    freezer.move_to(dt_util.utcnow() + CONTROL_READ_INTERVAL)  # the controls are read again
    await entry.runtime_data.async_refresh()
    await hass.async_block_till_done()
    assert state_of(hass, power) not in (STATE_UNKNOWN, "1500.0")


@pytest.mark.freeze_time(tick=True)
async def test_huawei_controls(
    hass: HomeAssistant,
    plant: SimulatedPlant,
    freezer: FrozenDateTimeFactory,
    entity_registry: er.EntityRegistry,
    ha_snapshot: SnapshotAssertion,
) -> None:
    """A SUN2000 with its LUNA2000 and meter offers the forcible modes (their power kept with the mode, shown
    and set through the forced power number), the end-of-discharge SOC and the feed-in limit, and the plant
    follows them."""
    entry = await controlled_plant(hass, plant, HUAWEI_TCP)
    registry_entries = er.async_entries_for_config_entry(entity_registry, entry.entry_id)
    for control in sorted(
        (e for e in registry_entries if e.domain in (Platform.SELECT, Platform.NUMBER, Platform.SWITCH)),
        key=lambda e: e.unique_id,
    ):
        assert control == ha_snapshot(name=f"{control.unique_id}-entry")
        assert hass.states.get(control.entity_id) == ha_snapshot(name=f"{control.unique_id}-state")
    mode = hass.states.get(entity_id(hass, "select", f"{HW_BATTERY}_battery_mode"))
    assert mode is not None
    assert mode.attributes["options"] == ["self_use", "force_charge", "force_discharge"]
    assert writes(plant, HUAWEI) == 0
    await hass.services.async_call(
        DOMAIN,
        SERVICE_SET_BATTERY_MODE,
        {"device_id": device_id(hass, entry, HW_BATTERY), "mode": "force_charge", "power": 2500},
        blocking=True,
    )
    assert plant.physics.state.battery_power == -2500.0
    assert state_of(hass, mode.entity_id) == "force_charge"
    assert plant.server(HUAWEI).write_count(HW_UNIT, 47100) == 1  # the write-only command register
    power = entity_id(hass, "number", f"{HW_BATTERY}_force_power")
    # The write budget swallows bursts. (A ticking clock's tick() counts from the frozen start, not now.)
    freezer.move_to(dt_util.utcnow() + timedelta(seconds=6))
    await hass.services.async_call(
        "number", SERVICE_SET_VALUE, {ATTR_ENTITY_ID: power, ATTR_VALUE: 3000}, blocking=True
    )
    assert plant.physics.state.battery_power == -3000.0
    assert (state_of(hass, mode.entity_id), state_of(hass, power)) == ("force_charge", "3000.0")
    soc = entity_id(hass, "number", f"{HW_BATTERY}_min_soc")
    await hass.services.async_call(
        "number", SERVICE_SET_VALUE, {ATTR_ENTITY_ID: soc, ATTR_VALUE: 15}, blocking=True
    )
    assert state_of(hass, soc) == "15.0"
    await hass.services.async_call(
        DOMAIN,
        SERVICE_SET_EXPORT_LIMIT,
        {"device_id": device_id(hass, entry, HW_KEY), "enabled": True, "power": 0},
        blocking=True,
    )
    assert plant.physics.state.grid_power >= 0
    assert state_of(hass, entity_id(hass, "switch", f"{HW_KEY}_export_limit")) == "on"
    caught = await refused(
        hass, SERVICE_SET_BATTERY_MODE, {"device_id": device_id(hass, entry, HW_BATTERY), "mode": "hold"}
    )
    assert caught.translation_key == "control_invalid_choice"


async def test_a_forced_power_without_a_limit_has_no_number(
    hass: HomeAssistant, plant: SimulatedPlant
) -> None:
    """A LUNA2000 that states no maximum charging or discharging power (47075/47077 = 0): a Forced power
    number would offer 0..0 W, nothing to set, so there is none; the mode and the minimum SOC are there."""
    image = plant.devices["huawei_sun2000"].image
    image.set_words(RegisterKind.HOLDING, 47075, [0, 0, 0, 0])
    await controlled_plant(hass, plant, HUAWEI_TCP)
    registry = er.async_get(hass)
    assert registry.async_get_entity_id("number", DOMAIN, f"{HW_BATTERY}_force_power") is None
    assert state_of(hass, entity_id(hass, "select", f"{HW_BATTERY}_battery_mode")) == "self_use"
    assert state_of(hass, entity_id(hass, "number", f"{HW_BATTERY}_min_soc")) == "10.0"


@pytest.mark.freeze_time(tick=True)
async def test_a_forced_power_whose_limit_appears_after_setup_gets_its_number(
    hass: HomeAssistant, plant: SimulatedPlant, freezer: FrozenDateTimeFactory
) -> None:
    """A LUNA2000 that states no maximum charging or discharging power when Home Assistant starts (set to 0
    in the app, or a battery that is not up yet) and states one later: its Forced power number comes then,
    as a limit that goes away and comes back does; it was missing until the entry was reloaded."""
    image = plant.devices["huawei_sun2000"].image
    limits = image.read(RegisterKind.HOLDING, 47075, 4)
    image.set_words(RegisterKind.HOLDING, 47075, [0, 0, 0, 0])
    entry = await controlled_plant(hass, plant, HUAWEI_TCP)
    registry = er.async_get(hass)
    assert registry.async_get_entity_id("number", DOMAIN, f"{HW_BATTERY}_force_power") is None
    image.set_words(RegisterKind.HOLDING, 47075, limits)
    freezer.move_to(dt_util.utcnow() + CONTROL_READ_INTERVAL)  # the controls are read again
    await entry.runtime_data.async_refresh()
    await hass.async_block_till_done()
    assert state_of(hass, entity_id(hass, "number", f"{HW_BATTERY}_force_power")) == "0.0"


@pytest.mark.freeze_time(tick=True)
async def test_a_forced_power_whose_limit_goes_away_is_unavailable(
    hass: HomeAssistant, plant: SimulatedPlant, freezer: FrozenDateTimeFactory
) -> None:
    """A SunSpec storage that stops stating ``WChaMax`` after setup: its Forced power number is unavailable
    (not a 0..0 W box) until the device states a limit again."""
    entry = await controlled_plant(hass, plant, SUNSPEC_TCP)
    power = entity_id(hass, "number", f"{SS_BATTERY}_force_power")
    assert state_of(hass, power) == "0.0"
    chain = plant.devices["sunspec_inverter"].chain
    for watts, shown in ((0, "unavailable"), (5000, "0.0")):
        chain.set_scaled(124, "WChaMax", watts, 0)
        freezer.move_to(dt_util.utcnow() + CONTROL_READ_INTERVAL)  # the controls are read again
        await entry.runtime_data.async_refresh()
        await hass.async_block_till_done()
        assert state_of(hass, power) == shown
    assert state_of(hass, entity_id(hass, "number", f"{SS_BATTERY}_min_soc")) == "10.0"


@pytest.mark.freeze_time(tick=True)
async def test_an_end_that_cannot_be_written_is_tried_again(
    hass: HomeAssistant,
    plant: SimulatedPlant,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The device refuses the write that ends a temporary mode: a warning (no error), and a minute later
    it is ended."""
    entry = await controlled_plant(hass, plant)
    await hass.services.async_call(
        DOMAIN,
        SERVICE_SET_BATTERY_MODE,
        {"device_id": device_id(hass, entry, ET_BATTERY), "mode": "hold", "duration": {"minutes": 5}},
        blocking=True,
    )
    plant.server(ET).faults.refuse_writes = ModbusExceptionError.DEVICE_BUSY
    freezer.tick(timedelta(minutes=5, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert register(plant, EMS_MODE) == 8
    assert "trying again" in caplog.text
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    plant.server(ET).faults.refuse_writes = None
    freezer.tick(timedelta(minutes=1, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert register(plant, EMS_MODE) == SELF_USE


@pytest.mark.freeze_time(tick=True)
async def test_a_failed_end_logs_no_serial(
    hass: HomeAssistant,
    plant: SimulatedPlant,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The device does not take the write that ends a temporary mode: the warning says so without the
    device's serial (the library's message names the device by its key)."""
    entry = await controlled_plant(hass, plant)
    await hass.services.async_call(
        DOMAIN,
        SERVICE_SET_BATTERY_MODE,
        {"device_id": device_id(hass, entry, ET_BATTERY), "mode": "hold", "duration": {"minutes": 5}},
        blocking=True,
    )
    plant.server(ET).faults.ignore_writes = True
    freezer.tick(timedelta(minutes=5, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    warnings = [r.getMessage() for r in caplog.records if "trying again" in r.getMessage()]
    assert warnings
    assert not [message for message in warnings if ET_KEY in message]
    plant.server(ET).faults.ignore_writes = False
