"""Controls: the vendor-neutral model, its safety rules, and each brand's mapping through the simulator.

The simulator implements the control registers from the vendors' documents on its own, and its plant
follows them: a forced charge shows as battery power and grid import in the next read.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custom_components.sems.plantkit.client import PlantClient
from custom_components.sems.plantkit.control import BatteryMode, Control, ControlSpec
from custom_components.sems.plantkit.controller import PlantController, Revert, RevertBook, WriteBudget
from custom_components.sems.plantkit.exceptions import (
    ControlNotAllowedError,
    ControlNotOfferedError,
    ControlValueError,
    ForcedModeRequiredError,
    ModbusExceptionError,
    ModeTakesNoPowerError,
    PartlyWrittenError,
    PlantTimeoutError,
    WriteBudgetExceededError,
    WriteNotTakenError,
)
from custom_components.sems.plantkit.model import DeviceIdentity, Quantity, Role
from custom_components.sems.plantkit.profiles.goodwe.controls import battery_controls, inverter_controls
from custom_components.sems.plantkit.profiles.huawei import controls as huawei_controls
from custom_components.sems.plantkit.profiles.settings import NumberSetting
from custom_components.sems.plantkit.profiles.sunspec import controls as sunspec_controls
from custom_components.sems.plantkit.profiles.sunspec.chain import ModelInstance, SunSpecDetails
from custom_components.sems.plantkit.profiles.sunspec.models import ensure_models_loaded
from custom_components.sems.plantkit.registers import DataType, Point, RegisterKind, Sentinel, encode
from custom_components.sems.plantkit.transport import Endpoint, TransportType
from simulator.device import SimDevice
from simulator.devices.sunspec import SunSpecChain
from simulator.physics import PlantState
from simulator.plant import SimulatedPlant
from simulator.server import SimServer

NIGHT = datetime(2026, 6, 21, 2, 0, 0)  # no sun: the battery feeds the house
NOON = datetime(2026, 6, 21, 12, 0, 0)  # plenty of sun: the plant exports
ET = "goodwe_et_tcp"
SUNSPEC = "sunspec_tcp"
ET_KEY = "9010KETU000SIM01"
ET_BATTERY = f"{ET_KEY}_battery"
SS_KEY = "SS-INV-0001"
SS_BATTERY = f"{SS_KEY}_battery"
# GoodWe settings registers (the simulator's own statement of them: simulator/devices/goodwe.py).
EMS_MODE, EMS_POWER, EXPORT_ENABLED, EXPORT_LIMIT, DEPTH_OF_DISCHARGE = 47511, 47512, 47509, 47510, 45356
ET_UNIT = 247
HUAWEI = "huawei_tcp"
HW_KEY = "HV2240SIM001"
HW_BATTERY = "HVLUNA0SIM01_battery"


# -- the model ------------------------------------------------------------------------------------------

SPEC = ControlSpec(Control.FORCE_POWER, minimum=0, maximum=10_000, step=1)


@given(st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(10**6), 10**6) | st.just(-(10**400)))
def test_a_number_is_accepted_only_within_the_limits(value: float) -> None:
    """Any number, also an integer too large for a float (an action's YAML can carry one)."""
    if (isinstance(value, float) and not math.isfinite(value)) or not 0 <= value <= 10_000:
        with pytest.raises(ControlValueError) as caught:
            SPEC.validate(value)
        assert (caught.value.minimum, caught.value.maximum, caught.value.control) == (
            0,
            10_000,
            "force_power",
        )
        return
    checked = SPEC.validate(value)
    assert isinstance(checked, float)
    assert 0 <= checked <= 10_000
    assert abs(checked - value) <= 0.5
    assert SPEC.validate(checked) == checked  # idempotent


@given(st.sampled_from([True, False, None, "1000", [1], {"a": 1}]))
def test_a_number_must_be_a_number(value: object) -> None:
    with pytest.raises(ControlValueError):
        SPEC.validate(value)


@given(st.text(max_size=20) | st.sampled_from([str(mode) for mode in BatteryMode]))
def test_a_choice_is_one_the_device_offers(value: str) -> None:
    spec = ControlSpec(Control.BATTERY_MODE, options=(BatteryMode.SELF_USE, BatteryMode.HOLD))
    if value in ("self_use", "hold"):
        assert spec.validate(value) is BatteryMode(value)
    else:
        with pytest.raises(ControlValueError) as caught:
            spec.validate(value)
        assert caught.value.options == ("self_use", "hold")


def test_a_switch_takes_only_on_or_off() -> None:
    spec = ControlSpec(Control.EXPORT_LIMIT)
    assert spec.validate(True) is True
    for value in (1, "on", None):
        with pytest.raises(ControlValueError):
            spec.validate(value)


@given(
    st.sampled_from([DataType.U16, DataType.S16]),
    st.integers(0, 0xFFFF),
    st.sampled_from([(1.0, 0.0, 1), (1.0, 100.0, -1), (0.1, 0.0, 1), (100.0, 0.0, 1)]),
    st.integers(-3, 2),
)
def test_number_settings_round_trip(
    dtype: DataType, word: int, linear: tuple[float, float, int], sf: int
) -> None:
    """Whatever a register holds, encoding its decoded value writes the same word back."""
    scale, offset, sign = linear
    point = Point("x", 100, dtype, RegisterKind.HOLDING, scale_factor="sf")
    factor = Point("sf", 101, DataType.SUNSSF)
    setting = NumberSetting(ControlSpec(Control.MIN_SOC), point, scale, offset, sign, scale_factor=factor)
    raw: dict[str, Any] = {
        "x": word - 0x10000 if dtype is DataType.S16 and word >= 0x8000 else word,
        "sf": sf,
    }
    value = setting.decode(raw)
    assert value is not None
    [write] = setting.encode(value, raw)
    assert (write.address, write.words) == (100, (word,))


def test_a_missing_scale_factor_reads_as_unknown_and_refuses_to_encode() -> None:
    point = Point("x", 100, DataType.U16, scale_factor="sf")
    setting = NumberSetting(
        ControlSpec(Control.MIN_SOC, maximum=100), point, scale_factor=Point("sf", 101, DataType.SUNSSF)
    )
    assert setting.decode({"x": 5, "sf": None}) is None
    with pytest.raises(Exception, match="scale factor"):
        setting.encode(5.0, {"x": 5, "sf": None})


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.tuples(st.sampled_from(list(BatteryMode)), st.datetimes(timezones=st.just(UTC))),
        max_size=4,
    )
)
def test_revert_books_round_trip(items: dict[str, tuple[BatteryMode, datetime]]) -> None:
    book = RevertBook()
    for device, (mode, until) in items.items():
        book.add(Revert(device, mode, until))
    assert RevertBook.from_dict(book.to_dict()) == book


def test_revert_books_skip_what_does_not_parse() -> None:
    good = {"device": "a", "mode": "hold", "until": "2026-06-21T03:00:00+00:00"}
    junk = [{"device": "b"}, {"device": "c", "mode": "nap", "until": "2026-06-21T03:00:00+00:00"}, 7]
    junk.append({"device": "d", "mode": "hold", "until": "2026-06-21T03:00:00"})  # no time zone
    book = RevertBook.from_dict({"reverts": [good, *junk]})
    assert list(book.items) == ["a"]
    assert RevertBook.from_dict("garbage").items == {}
    assert book.due(datetime(2026, 6, 21, 2, 59, tzinfo=UTC)) == []
    assert [r.device for r in book.due(datetime(2026, 6, 21, 3, 0, tzinfo=UTC))] == ["a"]


# -- what each brand offers ------------------------------------------------------------------------------


def _identity(role: Role, profile: str, **extra: Any) -> DeviceIdentity:
    return DeviceIdentity(role, profile, 1, "X", "Y", "S1", **extra)


def test_goodwe_offers_battery_controls_on_the_battery_and_the_export_limit_on_the_inverter() -> None:
    inverter = _identity(Role.INVERTER, "goodwe_et", rated_power=8000)
    battery = _identity(Role.BATTERY, "goodwe_et_battery", via_serial="S1")
    plant = [inverter, battery]
    by_control = {b.control: b for b in battery_controls(battery, plant)}
    assert list(by_control) == [Control.BATTERY_MODE, Control.FORCE_POWER, Control.MIN_SOC]
    assert by_control[Control.FORCE_POWER].spec.maximum == 8000  # the inverter's rated power
    assert (by_control[Control.MIN_SOC].spec.minimum, by_control[Control.MIN_SOC].spec.maximum) == (1, 100)
    assert [b.control for b in inverter_controls(inverter, plant)] == [
        Control.EXPORT_LIMIT,
        Control.EXPORT_LIMIT_POWER,
    ]
    # Without a stated rated power there is no limit to check a power against: not offered.
    assert inverter_controls(_identity(Role.INVERTER, "goodwe_et"), []) == ()
    assert [b.control for b in battery_controls(battery, [])] == [Control.BATTERY_MODE, Control.MIN_SOC]


async def test_sunspec_offers_what_the_chain_has() -> None:
    await ensure_models_loaded()

    def identity(role: Role, *models: tuple[int, int], rated: int | None = 5000) -> DeviceIdentity:
        chain = tuple(
            ModelInstance(model_id, address, length) for model_id, address, length in _lengths(models)
        )
        return _identity(role, "x", details=SunSpecDetails(40000, chain), rated_power=rated)

    def offered(bindings: tuple[Any, ...]) -> list[Control]:
        return [binding.control for binding in bindings]

    assert offered(sunspec_controls.inverter_controls(identity(Role.INVERTER, (123, 40100)))) == [
        Control.EXPORT_LIMIT,
        Control.EXPORT_LIMIT_POWER,
    ]
    assert offered(sunspec_controls.inverter_controls(identity(Role.INVERTER, (704, 40100)))) == [
        Control.EXPORT_LIMIT,
        Control.EXPORT_LIMIT_POWER,
    ]
    assert sunspec_controls.inverter_controls(identity(Role.INVERTER, (123, 40100), rated=None)) == ()
    assert sunspec_controls.inverter_controls(identity(Role.INVERTER, (103, 40100))) == ()
    assert offered(sunspec_controls.battery_controls(identity(Role.BATTERY, (124, 40100)))) == [
        Control.BATTERY_MODE,
        Control.FORCE_POWER,  # carried by the mode's own registers
        Control.MIN_SOC,
    ]
    assert offered(sunspec_controls.battery_controls(identity(Role.BATTERY, (802, 40100)))) == [
        Control.MIN_SOC
    ]
    assert sunspec_controls.battery_controls(identity(Role.BATTERY, (713, 40100))) == ()


def _lengths(models: tuple[tuple[int, int], ...]) -> list[tuple[int, int, int]]:
    from custom_components.sems.plantkit.profiles.sunspec.models import layout

    found = []
    for model_id, address in models:
        model_layout = layout(model_id)
        assert model_layout is not None
        found.append((model_id, address, model_layout.length))
    return found


# -- through the simulator ------------------------------------------------------------------------------


def _night_plant(start: datetime = NIGHT) -> Callable[[], SimulatedPlant]:
    return lambda: SimulatedPlant(start=start, endpoints=[ET, "goodwe_et_udp", SUNSPEC])


@contextlib.asynccontextmanager
async def _serving(sim: SimulatedPlant) -> AsyncIterator[SimulatedPlant]:
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


@pytest.fixture
async def night(socket_enabled: None) -> AsyncIterator[SimulatedPlant]:
    """The GoodWe ET (TCP and UDP) and the SunSpec hybrid at 02:00: no sun, the battery feeds the house."""
    async with _serving(_night_plant()()) as sim:
        yield sim


@pytest.fixture
async def noon(socket_enabled: None) -> AsyncIterator[SimulatedPlant]:
    """The same at a sunny noon: the plant exports."""
    async with _serving(_night_plant(NOON)()) as sim:
        yield sim


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _controller(
    sim: SimulatedPlant,
    endpoint: str,
    *,
    budget: WriteBudget | None = None,
    clock: Clock | None = None,
    reply_timeout: float = 1.0,
) -> PlantController:
    framing = TransportType.UDP if endpoint.endswith("udp") else TransportType.TCP
    client = PlantClient(Endpoint("127.0.0.1", sim.port(endpoint), framing, timeout=reply_timeout, retries=1))
    client.devices = await client.probe([1] if endpoint == SUNSPEC else None)
    controller = PlantController(
        client, budget=budget or WriteBudget(per_hour=100, min_interval=0), clock=clock or Clock()
    )
    controller.writes_allowed = True
    return controller


def _values(readings: list[Any], key: str) -> dict[Quantity, float | None]:
    return next(r.values for r in readings if r.identity.key == key)


async def test_goodwe_controls_read_their_factory_settings(night: SimulatedPlant) -> None:
    async with (controller := await _controller(night, ET)).client:
        states = await controller.read()
    battery, inverter = states[ET_BATTERY], states[ET_KEY]
    assert {control: state.value for control, state in battery.items()} == {
        Control.BATTERY_MODE: BatteryMode.SELF_USE,
        Control.FORCE_POWER: 0.0,
        Control.MIN_SOC: 10.0,
    }
    assert {control: state.value for control, state in inverter.items()} == {
        Control.EXPORT_LIMIT: False,
        Control.EXPORT_LIMIT_POWER: 10_000.0,
    }
    assert night.server(ET).write_requests() == 0


async def test_a_refused_control_register_leaves_the_others_readable(night: SimulatedPlant) -> None:
    """A firmware without the export limit switch (47509) refuses it: that control reads as unknown, the
    others still read, and the refusal is remembered (the next read does not ask for it again)."""
    server = night.server(ET)
    night.devices["goodwe_et"].image.refused.add((RegisterKind.HOLDING, 47509))
    async with (controller := await _controller(night, ET)).client:
        states = await controller.read()
        server.requests.clear()
        again = await controller.read()
    assert states[ET_KEY][Control.EXPORT_LIMIT].value is None
    assert states[ET_KEY][Control.EXPORT_LIMIT_POWER].value == 10_000.0
    assert states[ET_BATTERY][Control.BATTERY_MODE].value is BatteryMode.SELF_USE
    assert again == states
    assert server.count() == 2  # 45356 alone, then 47510-47512: 47509 is not asked for again


async def _check_no_writes(plant: SimulatedPlant, endpoint: str, battery: str, inverter: str) -> None:
    """With writes not allowed, every control refuses and reads and polls send no write."""
    controller = await _controller(plant, endpoint)
    controller.writes_allowed = False
    async with controller.client:
        with pytest.raises(ControlNotAllowedError):
            await controller.set_battery_mode(battery, "force_charge", 3000)
        with pytest.raises(ControlNotAllowedError):
            await controller.set(inverter, Control.EXPORT_LIMIT, True)
        await controller.read()
        await controller.client.read()
    assert plant.server(endpoint).write_requests() == 0


async def test_nothing_is_written_until_writes_are_allowed(night: SimulatedPlant) -> None:
    await _check_no_writes(night, ET, ET_BATTERY, ET_KEY)


async def test_huawei_nothing_is_written_until_writes_are_allowed(huawei_night: SimulatedPlant) -> None:
    await _check_no_writes(huawei_night, HUAWEI, HW_BATTERY, HW_KEY)


@pytest.mark.parametrize("endpoint", [ET, "goodwe_et_udp"])
async def test_goodwe_forced_charge_charges_the_battery_from_the_grid(
    night: SimulatedPlant, endpoint: str
) -> None:
    async with (controller := await _controller(night, endpoint)).client:
        before = _values(await controller.client.read(), ET_BATTERY)
        assert before[Quantity.BATTERY_POWER] is not None
        assert before[Quantity.BATTERY_POWER] > 0  # the battery feeds the house at night
        changes = await controller.set_battery_mode(ET_BATTERY, "force_charge", 3000)
        assert [(c.control, c.old, c.new) for c in changes] == [
            (Control.FORCE_POWER, 0.0, 3000.0),
            (Control.BATTERY_MODE, BatteryMode.SELF_USE, BatteryMode.FORCE_CHARGE),
        ]
        readings = await controller.client.read()
    assert _values(readings, ET_BATTERY)[Quantity.BATTERY_POWER] == -3000.0
    grid = _values(readings, f"{ET_KEY}_meter")[Quantity.GRID_POWER]
    assert grid is not None
    assert grid == pytest.approx(night.physics.state.load_power + 3000, abs=1)  # imported
    server = night.server(endpoint)
    assert (server.write_count(ET_UNIT, EMS_POWER), server.write_count(ET_UNIT, EMS_MODE)) == (1, 1)


async def test_goodwe_discharge_hold_reserve_and_minimum_soc(night: SimulatedPlant) -> None:
    async with (controller := await _controller(night, ET)).client:
        await controller.set_battery_mode(ET_BATTERY, "force_discharge", 2500)
        assert night.physics.state.battery_power == 2500.0
        await controller.set_battery_mode(ET_BATTERY, "hold")
        assert night.physics.state.battery_power == 0.0
        await controller.set_battery_mode(ET_BATTERY, "off_grid_reserve")
        assert night.physics.state.battery_power == 0.0  # no sun: nothing to charge from, no discharge
        await controller.set_battery_mode(ET_BATTERY, "self_use")
        assert night.physics.state.battery_power > 0
        change = await controller.set(ET_BATTERY, Control.MIN_SOC, 55)
        assert (change.old, change.new) == (10.0, 55.0)
        assert night.devices["goodwe_et"].image.read(RegisterKind.HOLDING, DEPTH_OF_DISCHARGE, 1) == [
            45
        ]  # kept as the depth of discharge
        assert night.physics.state.battery_soc == 55.0
        assert night.physics.state.battery_power == 0.0  # at its minimum: no discharge
        await controller.set(ET_BATTERY, Control.MIN_SOC, 40)
        await controller.set_battery_mode(ET_BATTERY, "force_discharge", 5000)
        night.advance(3 * 3600)  # 15 kWh asked of a 10 kWh battery: it stops at 40 %
        assert night.physics.state.battery_soc == pytest.approx(40, abs=1.5)
        assert night.physics.state.battery_power == 0.0


async def test_goodwe_export_limit_caps_the_export(noon: SimulatedPlant) -> None:
    async with (controller := await _controller(noon, ET)).client:
        before = _values(await controller.client.read(), f"{ET_KEY}_meter")[Quantity.GRID_POWER]
        assert before is not None
        assert before < -500  # exporting
        changes = await controller.set_export_limit(ET_KEY, True, 200)
        after = _values(await controller.client.read(), f"{ET_KEY}_meter")[Quantity.GRID_POWER]
        states = await controller.read()
        await controller.set(ET_KEY, Control.EXPORT_LIMIT_POWER, 0)  # negative prices
        zero = _values(await controller.client.read(), f"{ET_KEY}_meter")[Quantity.GRID_POWER]
    assert [(c.control, c.old, c.new) for c in changes] == [
        (Control.EXPORT_LIMIT_POWER, 10_000.0, 200.0),
        (Control.EXPORT_LIMIT, False, True),
    ]
    assert after == pytest.approx(-200, abs=1)
    assert zero is not None
    assert zero >= 0
    assert states[ET_KEY][Control.EXPORT_LIMIT].value is True
    assert states[ET_KEY][Control.EXPORT_LIMIT_POWER].value == 200.0


async def test_a_two_part_write_reads_each_part_once_before_it(night: SimulatedPlant) -> None:
    """The export limit with its power: each part's registers are read once (limits and budget checked for
    both before either is written), then each is written and read back: six requests, no more."""
    server = night.server(ET)
    async with (controller := await _controller(night, ET)).client:
        await controller.client.prepare()
        server.requests.clear()
        await controller.set_export_limit(ET_KEY, True, 200)
    assert server.count() == 6
    assert server.write_requests() == 2


async def test_a_two_part_write_failing_halfway_puts_the_first_part_back(night: SimulatedPlant) -> None:
    """A firmware that locks the export limit switch (47509) refuses it after the limit's power was
    written: the power is put back as it was (one write, not held back by the 5 s between two writes, and
    counted), so the failed action changed nothing; the device's exception is raised. The same for a
    battery mode after its forced power."""
    image = night.devices["goodwe_et"].image
    image.read_only.update((EXPORT_ENABLED, EMS_MODE))
    server = night.server(ET)
    async with (controller := await _controller(night, ET, budget=WriteBudget(), clock=Clock())).client:
        with pytest.raises(ModbusExceptionError) as caught:
            await controller.set_export_limit(ET_KEY, True, 200)
        assert caught.value.code == ModbusExceptionError.ILLEGAL_DATA_ADDRESS
        with pytest.raises(ModbusExceptionError):
            await controller.set_battery_mode(ET_BATTERY, "force_charge", 3000)
        states = await controller.read()
    assert image.read(RegisterKind.HOLDING, EXPORT_LIMIT, 1) == [10_000]
    assert image.read(RegisterKind.HOLDING, EMS_POWER, 1) == [0]
    assert states[ET_KEY][Control.EXPORT_LIMIT_POWER].value == 10_000.0
    assert states[ET_BATTERY][Control.FORCE_POWER].value == 0.0
    assert (server.write_count(ET_UNIT, EXPORT_LIMIT), server.write_count(ET_UNIT, EMS_POWER)) == (2, 2)
    assert len(controller.write_log[f"{ET_UNIT}:{EXPORT_LIMIT}"]) == 2


async def test_a_first_part_that_cannot_be_put_back_is_reported_as_left(night: SimulatedPlant) -> None:
    """The switch is refused and the device then refuses the power's restore too: the error says which
    control failed (the switch, the device's exception as its cause) and which change stays (the power)."""
    image = night.devices["goodwe_et"].image
    image.read_only.add(EXPORT_ENABLED)
    server = night.server(ET)
    server.also_on_write(lambda device: image.read_only.add(EXPORT_LIMIT))
    async with (controller := await _controller(night, ET)).client:
        with pytest.raises(PartlyWrittenError) as caught:
            await controller.set_export_limit(ET_KEY, True, 200)
    assert caught.value.control == "export_limit"
    assert isinstance(caught.value.__cause__, ModbusExceptionError)
    left = caught.value.change
    assert (left.device, left.control, left.old, left.new) == (
        ET_KEY,
        Control.EXPORT_LIMIT_POWER,
        10_000.0,
        200.0,
    )
    assert image.read(RegisterKind.HOLDING, EXPORT_LIMIT, 1) == [200]
    assert server.write_count(ET_UNIT, EXPORT_LIMIT) == 2  # the power, and one try to put it back


async def test_a_device_gone_silent_halfway_leaves_the_first_part_reported(night: SimulatedPlant) -> None:
    """The device answers too late from the switch on (after the limit's power): the switch times out, and
    so does putting the power back. The error names the power as changed and not confirmed set back (the
    timeout as its cause): a late device may still have taken the put-back, as this one did."""
    server = night.server(ET)
    written: list[SimDevice] = []

    def fall_silent_at_the_second_write(device: SimDevice) -> None:
        written.append(device)
        if len(written) == 2:
            server.faults.delay = 0.5  # past the client's timeout

    server.also_on_write(fall_silent_at_the_second_write)
    async with (controller := await _controller(night, ET, reply_timeout=0.2)).client:
        with pytest.raises(PartlyWrittenError) as caught:
            await controller.set_export_limit(ET_KEY, True, 200)
        server.faults.delay = 0.0
        states = await controller.read()
    assert isinstance(caught.value.__cause__, PlantTimeoutError)
    assert (caught.value.control, caught.value.change.control) == ("export_limit", Control.EXPORT_LIMIT_POWER)
    assert caught.value.change.new == 200.0
    assert states[ET_KEY][Control.EXPORT_LIMIT_POWER].value == 10_000.0  # its put-back's answer was late


async def test_values_outside_the_limits_are_refused_before_anything_is_sent(night: SimulatedPlant) -> None:
    async with (controller := await _controller(night, ET)).client:
        for call in (
            controller.set_battery_mode(ET_BATTERY, "force_charge", 20_000),  # above the rated power
            controller.set_battery_mode(ET_BATTERY, "nap"),
            controller.set(ET_BATTERY, Control.MIN_SOC, 0),  # GoodWe keeps at least 1 %
            controller.set(ET_KEY, Control.EXPORT_LIMIT_POWER, -1),
            controller.set_export_limit(ET_KEY, True, 10_001),  # the switch is not written either
            controller.set_export_limit(ET_KEY, "yes", 200),  # nor the power
        ):
            with pytest.raises(ControlValueError):
                await call
        with pytest.raises(ControlNotOfferedError):
            await controller.set(ET_KEY, Control.MIN_SOC, 20)  # the inverter has no battery settings
        with pytest.raises(ControlNotOfferedError):
            await controller.set("no-such-device", Control.MIN_SOC, 20)
    assert night.server(ET).write_requests() == 0


async def test_a_value_already_set_is_not_written_again(night: SimulatedPlant) -> None:
    async with (controller := await _controller(night, ET)).client:
        change = await controller.set_battery_mode(ET_BATTERY, "self_use")
    assert change[0].registers == ()
    assert night.server(ET).write_requests() == 0


async def test_a_write_the_device_does_not_take_reports_the_real_value(night: SimulatedPlant) -> None:
    night.server(ET).faults.ignore_writes = True
    async with (controller := await _controller(night, ET)).client:
        with pytest.raises(WriteNotTakenError) as caught:
            await controller.set_battery_mode(ET_BATTERY, "hold")
        assert (caught.value.requested, caught.value.actual) == (BatteryMode.HOLD, BatteryMode.SELF_USE)
        assert (await controller.read())[ET_BATTERY][Control.BATTERY_MODE].value is BatteryMode.SELF_USE
    assert night.server(ET).write_count(ET_UNIT, EMS_MODE) == 1  # it was sent, and echoed


async def test_a_refused_write_raises_the_device_s_exception(night: SimulatedPlant) -> None:
    night.server(ET).faults.refuse_writes = ModbusExceptionError.ILLEGAL_DATA_VALUE
    async with (controller := await _controller(night, ET)).client:
        with pytest.raises(ModbusExceptionError):
            await controller.set(ET_KEY, Control.EXPORT_LIMIT, True)


async def test_the_write_budget_refuses_without_sending(night: SimulatedPlant) -> None:
    clock = Clock()
    budget = WriteBudget(per_hour=3, min_interval=10)
    async with (controller := await _controller(night, ET, budget=budget, clock=clock)).client:
        await controller.set(ET_KEY, Control.EXPORT_LIMIT_POWER, 1000)
        with pytest.raises(WriteBudgetExceededError) as too_soon:
            await controller.set(ET_KEY, Control.EXPORT_LIMIT_POWER, 2000)  # within 10 s
        assert too_soon.value.retry_after == pytest.approx(10)
        assert too_soon.value.interval == 10  # the cause: the least time between two writes
        for power in (2000, 3000):
            clock.now += 11
            await controller.set(ET_KEY, Control.EXPORT_LIMIT_POWER, power)
        clock.now += 11
        with pytest.raises(WriteBudgetExceededError) as used_up:
            await controller.set(ET_KEY, Control.EXPORT_LIMIT_POWER, 4000)  # a fourth in the hour
        assert used_up.value.limit == 3
        assert used_up.value.interval is None  # the cause: the hour's count
        assert used_up.value.retry_after == pytest.approx(3600 - 33)
        await controller.set(ET_KEY, Control.EXPORT_LIMIT, True)  # another register has its own budget
        clock.now += 3600
        await controller.set(ET_KEY, Control.EXPORT_LIMIT_POWER, 4000)
    server = night.server(ET)
    assert server.write_count(ET_UNIT, EXPORT_LIMIT) == 4
    assert server.write_count(ET_UNIT, EXPORT_ENABLED) == 1


async def test_an_export_limit_the_budget_refuses_writes_neither_value(night: SimulatedPlant) -> None:
    """The limit was switched on a moment ago; asked to switch it off with a new power, the switch is
    refused by the budget, so the power is not written either (it was, leaving a half-applied limit)."""
    clock = Clock()
    budget = WriteBudget(per_hour=10, min_interval=5)
    async with (controller := await _controller(night, ET, budget=budget, clock=clock)).client:
        await controller.set(ET_KEY, Control.EXPORT_LIMIT, True)
        clock.now += 1
        with pytest.raises(WriteBudgetExceededError) as caught:
            await controller.set_export_limit(ET_KEY, False, 2000)
        assert caught.value.control == Control.EXPORT_LIMIT
        assert night.server(ET).write_count(ET_UNIT, EXPORT_LIMIT) == 0
        clock.now += 5
        changes = await controller.set_export_limit(ET_KEY, False, 2000)
        assert [(c.control, c.new) for c in changes] == [
            (Control.EXPORT_LIMIT_POWER, 2000),
            (Control.EXPORT_LIMIT, False),
        ]
    server = night.server(ET)
    assert server.write_count(ET_UNIT, EXPORT_LIMIT) == 1
    assert server.write_count(ET_UNIT, EXPORT_ENABLED) == 2


async def test_a_battery_mode_the_budget_refuses_writes_no_power(night: SimulatedPlant) -> None:
    """Forced discharge chosen in the select a moment ago; a forced charge at 3000 W is refused by the
    budget of the mode register, so the power is not written either (it was: the discharge ran at 3000 W)."""
    clock = Clock()
    budget = WriteBudget(per_hour=10, min_interval=5)
    async with (controller := await _controller(night, ET, budget=budget, clock=clock)).client:
        await controller.set(ET_BATTERY, Control.BATTERY_MODE, "force_discharge")
        clock.now += 1
        with pytest.raises(WriteBudgetExceededError) as caught:
            await controller.set_battery_mode(ET_BATTERY, "force_charge", 3000)
        assert caught.value.control == Control.BATTERY_MODE
        assert night.server(ET).write_count(ET_UNIT, EMS_POWER) == 0
        clock.now += 5
        await controller.set_battery_mode(ET_BATTERY, "force_charge", 3000)
    assert night.physics.state.battery_power == -3000.0


async def test_a_restored_write_log_keeps_the_budget(night: SimulatedPlant) -> None:
    """A new controller (a reload, a restart) given the old one's write log refuses what the old one
    would; a time ahead of the clock (it went back) or a log that does not parse blocks nothing."""
    clock = Clock()
    budget = WriteBudget(per_hour=3, min_interval=10)
    async with (first := await _controller(night, ET, budget=budget, clock=clock)).client:
        await first.set(ET_KEY, Control.EXPORT_LIMIT_POWER, 1000)
    log = first.write_log
    assert log == {f"{ET_UNIT}:{EXPORT_LIMIT}": [clock.now]}
    async with (second := await _controller(night, ET, budget=budget, clock=clock)).client:
        second.restore_write_log(log)
        with pytest.raises(WriteBudgetExceededError):
            await second.set(ET_KEY, Control.EXPORT_LIMIT_POWER, 2000)
        second.restore_write_log({f"{ET_UNIT}:{EXPORT_LIMIT}": [clock.now + 5000], "x": [1], "1:2": "a"})
        await second.set(ET_KEY, Control.EXPORT_LIMIT_POWER, 2000)
    assert night.server(ET).write_count(ET_UNIT, EXPORT_LIMIT) == 2


async def test_a_temporary_mode_goes_back_to_self_use_when_due(night: SimulatedPlant) -> None:
    start = datetime(2026, 6, 21, 2, 0, tzinfo=UTC)
    async with (controller := await _controller(night, ET)).client:
        await controller.set_battery_mode(ET_BATTERY, "force_charge", 2000, until=start + timedelta(hours=1))
        assert controller.reverts.next_due() == start + timedelta(hours=1)
        assert await controller.expire(start + timedelta(minutes=59)) == []
        assert night.physics.state.battery_power == -2000.0
        [change] = await controller.expire(start + timedelta(hours=1))
        assert (change.old, change.new) == (BatteryMode.FORCE_CHARGE, BatteryMode.SELF_USE)
        assert controller.reverts.items == {}
        assert night.physics.state.battery_power > 0
        # A mode set for good ends a temporary one.
        await controller.set_battery_mode(ET_BATTERY, "hold", until=start + timedelta(hours=2))
        await controller.set(ET_BATTERY, Control.BATTERY_MODE, "force_discharge")
        assert controller.reverts.items == {}


async def test_an_expiry_that_cannot_be_written_stays_pending(night: SimulatedPlant) -> None:
    start = datetime(2026, 6, 21, 2, 0, tzinfo=UTC)
    async with (controller := await _controller(night, ET)).client:
        await controller.set_battery_mode(ET_BATTERY, "hold", until=start)
        night.server(ET).faults.refuse_writes = ModbusExceptionError.DEVICE_BUSY
        with pytest.raises(ModbusExceptionError):
            await controller.expire(start)
        assert list(controller.reverts.items) == [ET_BATTERY]
        night.server(ET).faults.refuse_writes = None
        await controller.expire(start)
        assert controller.reverts.items == {}


async def test_a_temporary_mode_ends_on_time_when_the_budget_is_used_up(night: SimulatedPlant) -> None:
    """The end of a temporary mode is not held back by the write budget: a forced charge from the grid
    that ended up to an hour late would cost money (found trying ten mode changes in an hour)."""
    clock = Clock()
    start = datetime(2026, 6, 21, 2, 0, tzinfo=UTC)
    budget = WriteBudget(per_hour=2, min_interval=10)
    async with (controller := await _controller(night, ET, budget=budget, clock=clock)).client:
        await controller.set(ET_BATTERY, Control.BATTERY_MODE, "hold")
        clock.now += 11
        await controller.set_battery_mode(ET_BATTERY, "force_charge", until=start)
        with pytest.raises(WriteBudgetExceededError):  # the budget is used up for anything else
            await controller.set(ET_BATTERY, Control.BATTERY_MODE, "force_discharge")
        [change] = await controller.expire(start)  # within min_interval too
        assert (change.old, change.new) == (BatteryMode.FORCE_CHARGE, BatteryMode.SELF_USE)
        assert controller.reverts.items == {}
        clock.now += 11
        with pytest.raises(WriteBudgetExceededError):  # and the end counts against the budget
            await controller.set(ET_BATTERY, Control.BATTERY_MODE, "hold")
    assert night.physics.state.battery_power > 0  # self-use again


async def test_a_mode_that_could_not_be_set_keeps_the_temporary_mode_s_end(night: SimulatedPlant) -> None:
    """A forced discharge for an hour, then a mode set for good that the device does not take: the forced
    discharge must still end on time (else it would run until the battery is at its minimum, for good)."""
    start = datetime(2026, 6, 21, 2, 0, tzinfo=UTC)
    async with (controller := await _controller(night, ET)).client:
        await controller.set_battery_mode(ET_BATTERY, "force_discharge", 2000, until=start)
        night.server(ET).faults.refuse_writes = ModbusExceptionError.DEVICE_BUSY
        with pytest.raises(ModbusExceptionError):
            await controller.set(ET_BATTERY, Control.BATTERY_MODE, "hold")
        night.server(ET).faults.refuse_writes = None
        assert list(controller.reverts.items) == [ET_BATTERY]
        await controller.expire(start)
    assert night.physics.state.battery_power > 0  # self-use again


async def test_a_mode_set_for_good_while_a_temporary_one_is_written_wins(night: SimulatedPlant) -> None:
    """Two calls race on the battery mode: a temporary forced charge is being written when a mode for good
    (hold) is asked. The later write wins on the device, so nothing may end it later."""
    start = datetime(2026, 6, 21, 2, 0, tzinfo=UTC)
    async with (controller := await _controller(night, ET)).client:
        async with controller.client.lock:  # both calls queue behind this, temporary first
            temporary = asyncio.create_task(
                controller.set_battery_mode(ET_BATTERY, "force_charge", 2000, until=start)
            )
            await asyncio.sleep(0)
            for_good = asyncio.create_task(controller.set(ET_BATTERY, Control.BATTERY_MODE, "hold"))
            await asyncio.sleep(0)
        await asyncio.gather(temporary, for_good)
        assert controller.reverts.items == {}
        assert await controller.expire(start) == []
    assert night.physics.state.battery_power == 0.0  # still holding


async def test_an_end_due_while_a_new_temporary_mode_is_written_leaves_the_new_one(
    night: SimulatedPlant,
) -> None:
    """A temporary hold ends while a new temporary forced charge is already queued: the end must not undo
    the new mode nor forget when it ends."""
    start = datetime(2026, 6, 21, 2, 0, tzinfo=UTC)
    later = start + timedelta(hours=1)
    async with (controller := await _controller(night, ET)).client:
        await controller.set_battery_mode(ET_BATTERY, "hold", until=start)
        async with controller.client.lock:  # the new mode queues first, the due end after it
            new = asyncio.create_task(
                controller.set_battery_mode(ET_BATTERY, "force_charge", 2000, until=later)
            )
            await asyncio.sleep(0)
            ending = asyncio.create_task(controller.expire(start))
            await asyncio.sleep(0)
        await asyncio.gather(new, ending)
        assert night.physics.state.battery_power == -2000.0  # still charging
        assert controller.reverts.next_due() == later


# -- SunSpec ---------------------------------------------------------------------------------------------


async def test_sunspec_controls_read_their_factory_settings(night: SimulatedPlant) -> None:
    async with (controller := await _controller(night, SUNSPEC)).client:
        states = await controller.read()
    assert {c: s.value for c, s in states[SS_BATTERY].items()} == {
        Control.BATTERY_MODE: BatteryMode.SELF_USE,
        Control.FORCE_POWER: 0.0,  # no forced mode runs
        Control.MIN_SOC: 10.0,
    }
    # WChaMax, in steps of one rate count (0.01 % of it): a rate of 0 would be no forced mode
    power_spec = ControlSpec(Control.FORCE_POWER, minimum=0.5, maximum=5000, step=0.5)
    assert states[SS_BATTERY][Control.FORCE_POWER].spec == power_spec
    assert states[SS_BATTERY][Control.BATTERY_MODE].power_spec == power_spec
    assert {c: s.value for c, s in states[SS_KEY].items()} == {
        Control.EXPORT_LIMIT: False,
        Control.EXPORT_LIMIT_POWER: 10_000.0,  # 100 % of the nameplate 10 kW
    }


async def test_sunspec_storage_modes_drive_the_battery(night: SimulatedPlant) -> None:
    state = night.physics.state
    async with (controller := await _controller(night, SUNSPEC)).client:
        [change] = await controller.set_battery_mode(SS_BATTERY, "force_charge", 2000)
        assert (change.old, change.new) == (BatteryMode.SELF_USE, BatteryMode.FORCE_CHARGE)
        assert state.battery_power == -2000.0
        assert state.grid_power == pytest.approx(state.load_power + 2000, abs=1)  # from the grid
        reading = _values(await controller.client.read(), SS_BATTERY)
        assert reading[Quantity.BATTERY_POWER] == -2000.0
        states = await controller.read()
        assert states[SS_BATTERY][Control.BATTERY_MODE].forced_power == 2000.0
        await controller.set_battery_mode(SS_BATTERY, "force_discharge", 1500)
        assert state.battery_power == 1500.0
        await controller.set_battery_mode(SS_BATTERY, "force_discharge")  # keeps its power
        assert state.battery_power == 1500.0
        await controller.set_battery_mode(SS_BATTERY, "hold")
        assert state.battery_power == 0.0
        await controller.set_battery_mode(SS_BATTERY, "force_charge")  # the full rate, WChaMax
        assert state.battery_power == -5000.0
        with pytest.raises(ControlValueError):
            await controller.set_battery_mode(SS_BATTERY, "force_charge", 6000)  # above WChaMax
        with pytest.raises(ControlValueError):
            await controller.set_battery_mode(SS_BATTERY, "off_grid_reserve")  # 124 has no such mode
        await controller.set_battery_mode(SS_BATTERY, "self_use")
        assert state.battery_power > 0
        change = await controller.set(SS_BATTERY, Control.MIN_SOC, 55)
        assert (change.old, change.new) == (10.0, 55.0)
        assert state.battery_power == 0.0  # 55 % is the battery's SOC: it keeps it


@pytest.mark.parametrize(
    ("endpoint", "battery"), [(SUNSPEC, SS_BATTERY), (HUAWEI, HW_BATTERY)], ids=["sunspec", "huawei"]
)
async def test_a_carried_forced_power_changes_the_running_forced_mode(
    night: SimulatedPlant, huawei_night: SimulatedPlant, endpoint: str, battery: str
) -> None:
    """SunSpec 124 and Huawei keep the forced power in the mode's own registers: the number shows the power
    of the forced mode running (0 W outside one), setting it sends that mode again at the new power, and in
    self-use it is refused with nothing sent."""
    plant = night if endpoint == SUNSPEC else huawei_night
    state = plant.physics.state
    async with (controller := await _controller(plant, endpoint)).client:
        with pytest.raises(ForcedModeRequiredError):
            await controller.set(battery, Control.FORCE_POWER, 1000)
        assert plant.server(endpoint).write_requests() == 0
        await controller.set_battery_mode(battery, "force_discharge", 1500)
        change = await controller.set(battery, Control.FORCE_POWER, 2500)
        assert (change.old, change.new) == (1500.0, 2500.0)
        assert state.battery_power == 2500.0
        states = await controller.read()
        assert states[battery][Control.BATTERY_MODE].value is BatteryMode.FORCE_DISCHARGE
        assert states[battery][Control.FORCE_POWER].value == 2500.0
        with pytest.raises(ControlValueError):
            await controller.set(battery, Control.FORCE_POWER, 5001)  # above the device's limit
        await controller.set_battery_mode(battery, "force_charge", 2000)  # the mode still takes its power
        assert state.battery_power == -2000.0
        await controller.set_battery_mode(battery, "self_use")
        assert (await controller.read())[battery][Control.FORCE_POWER].value == 0.0


@pytest.mark.parametrize(
    ("endpoint", "battery"), [(SUNSPEC, SS_BATTERY), (HUAWEI, HW_BATTERY)], ids=["sunspec", "huawei"]
)
async def test_a_carried_forced_power_of_0_w_is_refused_before_anything_is_sent(
    night: SimulatedPlant, huawei_night: SimulatedPlant, endpoint: str, battery: str
) -> None:
    """A forced mode at 0 W is no mode these devices report back (SunSpec reads a rate of 0 as limits someone
    else set, Huawei a forcible mode without a power as one someone else set up). Allowed, it turned the
    running forced mode into an unknown one (SunSpec: the battery then discharged freely; Huawei: a write
    reported as not taken after it was sent) and the power could not be set again ("runs None")."""
    plant = night if endpoint == SUNSPEC else huawei_night
    server = plant.server(endpoint)
    async with (controller := await _controller(plant, endpoint)).client:
        await controller.set_battery_mode(battery, "force_discharge", 1500)
        sent = server.write_requests()
        with pytest.raises(ControlValueError):
            await controller.set(battery, Control.FORCE_POWER, 0)
        with pytest.raises(ControlValueError):
            await controller.set_battery_mode(battery, "force_charge", 0)
        with pytest.raises(ControlValueError):
            await controller.set(battery, Control.FORCE_POWER, 0.4)  # below one step: written as 0
        assert server.write_requests() == sent
        states = await controller.read()
    assert states[battery][Control.BATTERY_MODE].value is BatteryMode.FORCE_DISCHARGE
    assert states[battery][Control.FORCE_POWER].value == 1500.0
    assert plant.physics.state.battery_power == 1500.0


async def test_sunspec_export_limit_caps_the_inverter_output(noon: SimulatedPlant) -> None:
    state = noon.physics.state
    async with (controller := await _controller(noon, SUNSPEC)).client:
        await controller.set(SS_KEY, Control.EXPORT_LIMIT_POWER, 1234)
        assert state.ac_power > 1234  # not enabled yet
        await controller.set(SS_KEY, Control.EXPORT_LIMIT, True)
        states = await controller.read()
        reading = _values(await controller.client.read(), SS_KEY)
    limit = states[SS_KEY][Control.EXPORT_LIMIT_POWER].value
    assert limit == 1230.0  # 12.3 %: the register's 0.1 % steps
    assert reading[Quantity.AC_POWER] == pytest.approx(1230, abs=1)
    assert -state.grid_power <= 1230


async def test_sunspec_write_the_device_does_not_take(night: SimulatedPlant) -> None:
    night.server(SUNSPEC).faults.ignore_writes = True
    async with (controller := await _controller(night, SUNSPEC)).client:
        with pytest.raises(WriteNotTakenError) as caught:
            await controller.set(SS_BATTERY, Control.MIN_SOC, 30)
    assert (caught.value.requested, caught.value.actual) == (30.0, 10.0)


def test_encode_fits_or_refuses() -> None:
    """A value whose raw form does not fit its register is refused, never truncated."""
    point = Point("x", 1, DataType.U16, sentinel=Sentinel.NONE)
    setting = NumberSetting(ControlSpec(Control.FORCE_POWER, maximum=1e9), point)
    with pytest.raises(ControlValueError):
        setting.encode(70_000.0, {})
    assert encode(point, 65535) == [0xFFFF]


class _ChainDevice(SimDevice):
    """A hand-built SunSpec chain with the models the plant simulator does not serve (704, 802 alone)."""

    name = "sunspec_chain"

    def __init__(self) -> None:
        super().__init__()
        self.unit_id = 1
        self.serial = "DER-1"
        chain = self.chain = SunSpecChain(self.image)
        chain.add(1)
        chain.set_common("X", "DER", "1", "DER-1", 1)
        chain.add(103)
        chain.set_scaled(103, "W", 1000, 0)
        chain.add(120)
        chain.set_scaled(120, "WRtg", 8000, 0)
        chain.add(704)
        chain.set(704, "WMaxLimPctEna", 0)
        chain.set_scaled(704, "WMaxLimPct", 100.0, -1)
        chain.add(802)
        chain.set_scaled(802, "SoC", 60.0, -1)
        chain.set_scaled(802, "SoCMin", 5.0, -1)
        chain.set_scaled(802, "SoCMax", 95.0, -1)
        chain.set_scaled(802, "SoCRsvMin", 20.0, -1)
        chain.end()

    def render(self, state: PlantState) -> None:
        """Static registers."""


async def test_sunspec_704_limit_and_802_reserve_reach_their_registers(socket_enabled: None) -> None:
    """Checked against pysunspec2's own reading of the registers written."""
    device = _ChainDevice()
    server = SimServer([device], "tcp")
    await server.start()
    try:
        client = PlantClient(Endpoint("127.0.0.1", server.port, timeout=1.0, retries=0))
        async with client:
            client.devices = await client.probe([1])
            controller = PlantController(client, budget=WriteBudget(min_interval=0))
            controller.writes_allowed = True
            states = await controller.read()
            assert states["DER-1"][Control.EXPORT_LIMIT_POWER].value == 8000.0
            reserve = states["DER-1_battery"][Control.MIN_SOC]
            assert (reserve.value, reserve.spec.minimum, reserve.spec.maximum) == (20.0, 5.0, 95.0)
            await controller.set("DER-1", Control.EXPORT_LIMIT_POWER, 4000)
            await controller.set("DER-1", Control.EXPORT_LIMIT, True)
            await controller.set("DER-1_battery", Control.MIN_SOC, 50)
            with pytest.raises(ControlValueError):
                await controller.set("DER-1_battery", Control.MIN_SOC, 96)  # above the battery's SoCMax
    finally:
        await server.stop()
    limits = device.chain.refresh(704).points
    assert (limits["WMaxLimPctEna"].value, limits["WMaxLimPct"].cvalue) == (1, 50.0)
    assert device.chain.refresh(802).points["SoCRsvMin"].cvalue == 50.0


async def test_a_gateway_refusing_everything_teaches_the_controls_nothing(night: SimulatedPlant) -> None:
    """A booting gateway refuses every register for a while (as for ``read``: a state, not a layout): the
    control read fails instead of learning every control register as refused, so once the device is up
    the controls read and a write is checked against what the device holds."""
    server = night.server(ET)
    async with (controller := await _controller(night, ET)).client:
        server.faults.exception_code = 2
        with pytest.raises(ModbusExceptionError):
            await controller.read()
        server.faults.clear()
        states = await controller.read()
        assert states[ET_KEY][Control.EXPORT_LIMIT].value is False
        assert states[ET_KEY][Control.EXPORT_LIMIT_POWER].value == 10_000.0
        await controller.set_export_limit(ET_KEY, True, 4000)
        assert night.devices["goodwe_et"].image.read(RegisterKind.HOLDING, EXPORT_ENABLED, 1) == [1]


# -- Huawei SUN2000 + LUNA2000 ---------------------------------------------------------------------------

HW_UNIT = 1
# The simulator's own statement of the document's registers (simulator/devices/huawei.py).
HW_FORCIBLE, HW_CHARGE_POWER, HW_WORKING_MODE, HW_END_OF_DISCHARGE = 47100, 47247, 47086, 47082
HW_POWER_CONTROL, HW_FEED_IN_LIMIT, HW_MAX_CHARGING_POWER = 47415, 47416, 47075


@pytest.fixture
async def huawei_night(socket_enabled: None) -> AsyncIterator[SimulatedPlant]:
    """The Huawei SUN2000 with its LUNA2000 and meter at 02:00: the battery feeds the house."""
    async with _serving(SimulatedPlant(start=NIGHT, endpoints=[HUAWEI])) as sim:
        yield sim


@pytest.fixture
async def huawei_noon(socket_enabled: None) -> AsyncIterator[SimulatedPlant]:
    """The same at a sunny noon: the plant exports."""
    async with _serving(SimulatedPlant(start=NOON, endpoints=[HUAWEI])) as sim:
        yield sim


def test_huawei_offers_battery_controls_and_the_export_limit_with_a_meter() -> None:
    inverter = _identity(Role.INVERTER, "huawei_sun2000", rated_power=10_000)
    battery = _identity(Role.BATTERY, "huawei_sun2000_battery", via_serial="S1")
    meter = _identity(Role.METER, "huawei_sun2000_meter", via_serial="S1")
    assert [b.control for b in huawei_controls.battery_controls(battery, [inverter, battery])] == [
        Control.BATTERY_MODE,
        Control.FORCE_POWER,  # carried by the mode's own registers
        Control.MIN_SOC,
    ]
    assert [b.control for b in huawei_controls.inverter_controls(inverter, [inverter, meter])] == [
        Control.EXPORT_LIMIT,
        Control.EXPORT_LIMIT_POWER,
    ]
    # Huawei limits the feed-in at its meter: without one (or without a rated power) nothing is offered.
    assert huawei_controls.inverter_controls(inverter, [inverter, battery]) == ()
    assert huawei_controls.inverter_controls(_identity(Role.INVERTER, "huawei_sun2000"), [meter]) == ()


async def test_huawei_controls_read_their_factory_settings(huawei_night: SimulatedPlant) -> None:
    async with (controller := await _controller(huawei_night, HUAWEI)).client:
        states = await controller.read()
    mode = states[HW_BATTERY][Control.BATTERY_MODE]
    assert (mode.value, mode.spec.options) == (
        BatteryMode.SELF_USE,
        (BatteryMode.SELF_USE, BatteryMode.FORCE_CHARGE, BatteryMode.FORCE_DISCHARGE),
    )
    assert mode.power_spec == ControlSpec(Control.FORCE_POWER, minimum=1, maximum=5000)  # 47075
    assert mode.forced_power is None
    reserve = states[HW_BATTERY][Control.MIN_SOC]
    assert (reserve.value, reserve.spec.minimum, reserve.spec.maximum) == (10.0, 0, 20)
    assert {control: state.value for control, state in states[HW_KEY].items()} == {
        Control.EXPORT_LIMIT: False,
        Control.EXPORT_LIMIT_POWER: 0.0,
    }
    assert huawei_night.server(HUAWEI).write_requests() == 0


async def test_huawei_forcible_register_cannot_be_read(huawei_night: SimulatedPlant) -> None:
    """47100 is write only, as the document says: the simulated device refuses to read it."""
    async with (controller := await _controller(huawei_night, HUAWEI)).client:
        with pytest.raises(ModbusExceptionError):
            await controller.client.transport.read_registers(HW_UNIT, RegisterKind.HOLDING, HW_FORCIBLE, 1)


async def test_huawei_forced_charge_charges_the_battery_from_the_grid(huawei_night: SimulatedPlant) -> None:
    state = huawei_night.physics.state
    async with (controller := await _controller(huawei_night, HUAWEI)).client:
        assert state.battery_power > 0  # the battery feeds the house at night
        [change] = await controller.set_battery_mode(HW_BATTERY, "force_charge", 3000)
        assert (change.old, change.new) == (BatteryMode.SELF_USE, BatteryMode.FORCE_CHARGE)
        assert state.battery_power == -3000.0
        assert state.grid_power == pytest.approx(state.load_power + 3000, abs=1)  # from the grid
        readings = await controller.client.read()
        states = await controller.read()
    assert _values(readings, HW_BATTERY)[Quantity.BATTERY_POWER] == -3000.0
    grid = _values(readings, f"{HW_KEY}_meter")[Quantity.GRID_POWER]
    assert grid == pytest.approx(state.load_power + 3000, abs=1)
    assert states[HW_BATTERY][Control.BATTERY_MODE].forced_power == 3000.0
    server = huawei_night.server(HUAWEI)
    assert (server.write_count(HW_UNIT, HW_CHARGE_POWER), server.write_count(HW_UNIT, HW_FORCIBLE)) == (1, 1)


async def test_huawei_discharge_self_use_and_minimum_soc(huawei_night: SimulatedPlant) -> None:
    state = huawei_night.physics.state
    async with (controller := await _controller(huawei_night, HUAWEI)).client:
        await controller.set_battery_mode(HW_BATTERY, "force_discharge", 1500)
        assert state.battery_power == 1500.0
        await controller.set_battery_mode(HW_BATTERY, "force_discharge")  # keeps its power
        assert state.battery_power == 1500.0
        await controller.set_battery_mode(HW_BATTERY, "force_charge")  # the full rate, 47075
        assert state.battery_power == -5000.0
        await controller.set_battery_mode(HW_BATTERY, "self_use")
        assert state.battery_power > 0
        change = await controller.set(HW_BATTERY, Control.MIN_SOC, 20)
        assert (change.old, change.new) == (10.0, 20.0)
        await controller.set_battery_mode(HW_BATTERY, "force_discharge", 5000)
        huawei_night.advance(3 * 3600)  # 15 kWh asked of a 10 kWh battery: it stops at 20 %
        assert state.battery_soc == pytest.approx(20, abs=1.5)
        assert state.battery_power == 0.0
    image = huawei_night.devices["huawei_sun2000"].image
    assert image.read(RegisterKind.HOLDING, HW_END_OF_DISCHARGE, 1) == [200]  # % with gain 10
    assert image.read(RegisterKind.HOLDING, HW_WORKING_MODE, 1) == [2]  # maximise self consumption


async def test_huawei_refuses_what_it_does_not_offer_before_anything_is_sent(
    huawei_night: SimulatedPlant,
) -> None:
    async with (controller := await _controller(huawei_night, HUAWEI)).client:
        for call in (
            controller.set_battery_mode(HW_BATTERY, "force_charge", 6000),  # above 47075
            controller.set_battery_mode(HW_BATTERY, "hold"),  # no documented register means it
            controller.set_battery_mode(HW_BATTERY, "off_grid_reserve"),
            controller.set(HW_BATTERY, Control.MIN_SOC, 21),  # the manuals' 0..20 %
            controller.set(HW_KEY, Control.EXPORT_LIMIT_POWER, 10_001),  # above the rated power
        ):
            with pytest.raises(ControlValueError):
                await call
        with pytest.raises(ForcedModeRequiredError):
            await controller.set(HW_BATTERY, Control.FORCE_POWER, 1000)  # self-use: nothing to carry it
    assert huawei_night.server(HUAWEI).write_requests() == 0


async def test_huawei_export_limit_caps_the_export(huawei_noon: SimulatedPlant) -> None:
    async with (controller := await _controller(huawei_noon, HUAWEI)).client:
        before = _values(await controller.client.read(), f"{HW_KEY}_meter")[Quantity.GRID_POWER]
        assert before is not None
        assert before < -500  # exporting
        await controller.set(HW_KEY, Control.EXPORT_LIMIT_POWER, 300)
        await controller.set(HW_KEY, Control.EXPORT_LIMIT, True)
        after = _values(await controller.client.read(), f"{HW_KEY}_meter")[Quantity.GRID_POWER]
        states = await controller.read()
        await controller.set(HW_KEY, Control.EXPORT_LIMIT, False)
        free = _values(await controller.client.read(), f"{HW_KEY}_meter")[Quantity.GRID_POWER]
    assert after == pytest.approx(-300, abs=1)
    assert free == pytest.approx(before, abs=1)
    assert states[HW_KEY][Control.EXPORT_LIMIT].value is True
    assert states[HW_KEY][Control.EXPORT_LIMIT_POWER].value == 300.0
    image = huawei_noon.devices["huawei_sun2000"].image
    assert image.read(RegisterKind.HOLDING, HW_FEED_IN_LIMIT, 2) == [0, 300]  # kW with gain 1000
    assert image.read(RegisterKind.HOLDING, HW_POWER_CONTROL, 1) == [0]  # unlimited again


async def test_huawei_write_the_device_does_not_take(huawei_night: SimulatedPlant) -> None:
    """The write-only command is checked through what the storage then runs: the real mode is reported."""
    huawei_night.server(HUAWEI).faults.ignore_writes = True
    async with (controller := await _controller(huawei_night, HUAWEI)).client:
        with pytest.raises(WriteNotTakenError) as caught:
            await controller.set_battery_mode(HW_BATTERY, "force_charge", 2000)
        assert (caught.value.requested, caught.value.actual) == (
            BatteryMode.FORCE_CHARGE,
            BatteryMode.SELF_USE,
        )
        with pytest.raises(WriteNotTakenError) as caught:
            await controller.set(HW_BATTERY, Control.MIN_SOC, 15)
        assert (caught.value.requested, caught.value.actual) == (15.0, 10.0)
    assert huawei_night.server(HUAWEI).write_count(HW_UNIT, HW_FORCIBLE) == 1  # sent, and echoed


async def test_huawei_write_budget_refuses_without_sending(huawei_night: SimulatedPlant) -> None:
    clock = Clock()
    budget = WriteBudget(per_hour=10, min_interval=10)
    async with (controller := await _controller(huawei_night, HUAWEI, budget=budget, clock=clock)).client:
        await controller.set_battery_mode(HW_BATTERY, "force_charge", 2000)
        sent = huawei_night.server(HUAWEI).write_requests()
        with pytest.raises(WriteBudgetExceededError):
            await controller.set_battery_mode(HW_BATTERY, "self_use")  # 47100 again within 10 s
        assert huawei_night.server(HUAWEI).write_requests() == sent
        clock.now += 11
        await controller.set_battery_mode(HW_BATTERY, "self_use")
    assert huawei_night.server(HUAWEI).write_count(HW_UNIT, HW_FORCIBLE) == 2


async def test_huawei_self_use_already_set_is_not_written_again(huawei_night: SimulatedPlant) -> None:
    """The write-only command is not sent when the storage runs self-consumption already."""
    async with (controller := await _controller(huawei_night, HUAWEI)).client:
        [change] = await controller.set_battery_mode(HW_BATTERY, "self_use")
    assert (change.old, change.new, change.registers) == (BatteryMode.SELF_USE, BatteryMode.SELF_USE, ())
    assert huawei_night.server(HUAWEI).write_requests() == 0


async def test_huawei_temporary_mode_goes_back_to_self_use_when_due(huawei_night: SimulatedPlant) -> None:
    start = datetime(2026, 6, 21, 2, 0, tzinfo=UTC)
    state = huawei_night.physics.state
    async with (controller := await _controller(huawei_night, HUAWEI)).client:
        await controller.set_battery_mode(HW_BATTERY, "force_charge", 2000, until=start + timedelta(hours=1))
        assert await controller.expire(start + timedelta(minutes=59)) == []
        assert state.battery_power == -2000.0
        [change] = await controller.expire(start + timedelta(hours=1))
        assert (change.old, change.new) == (BatteryMode.FORCE_CHARGE, BatteryMode.SELF_USE)
        assert controller.reverts.items == {}
    assert state.battery_power > 0


async def test_huawei_forced_discharge_power_is_limited_by_the_maximum_discharging_power(
    huawei_night: SimulatedPlant,
) -> None:
    """A LUNA2000 that discharges at most 3000 W (47077) but charges at 5000 W (47075): in forced discharge
    the limit is 3000 W, so 4500 W is refused before anything is sent (it was written, clamped to 3000 W
    and reported as not taken), also when the forced discharge is asked for with it; a forced charge still
    takes 4500 W."""
    huawei_night.devices["huawei_sun2000"].image.write(47077, [0, 3000])
    server = huawei_night.server(HUAWEI)
    async with (controller := await _controller(huawei_night, HUAWEI)).client:
        await controller.set_battery_mode(HW_BATTERY, "force_discharge", 2000)
        sent = server.write_requests()
        states = await controller.read()
        assert states[HW_BATTERY][Control.FORCE_POWER].spec.maximum == 3000
        with pytest.raises(ControlValueError):
            await controller.set(HW_BATTERY, Control.FORCE_POWER, 4500)
        with pytest.raises(ControlValueError):
            await controller.set_battery_mode(HW_BATTERY, "force_discharge", 4500)
        assert server.write_requests() == sent
        await controller.set_battery_mode(HW_BATTERY, "force_charge", 4500)
        assert huawei_night.physics.state.battery_power == -4500.0


async def test_huawei_self_use_stops_a_forced_mode_after_the_budget_is_spent(
    huawei_night: SimulatedPlant,
) -> None:
    """Huawei rewrites its forcible command (47100) with every forced power: a forced discharge and nine
    changes of its power spend the command's budget of ten an hour, and self-use, which must write the
    command to stop it, was refused for 50 minutes while the battery kept discharging. Self-use is never
    held back (it still counts); a forced mode still is."""
    clock = Clock()
    async with (
        controller := await _controller(huawei_night, HUAWEI, budget=WriteBudget(), clock=clock)
    ).client:
        await controller.set_battery_mode(HW_BATTERY, "force_discharge", 1000)
        for step in range(9):
            clock.now += 60
            await controller.set(HW_BATTERY, Control.FORCE_POWER, 1100 + 100 * step)
        clock.now += 60
        with pytest.raises(WriteBudgetExceededError):
            await controller.set_battery_mode(HW_BATTERY, "force_charge", 1000)
        [change] = await controller.set_battery_mode(HW_BATTERY, "self_use")
        assert (change.old, change.new) == (BatteryMode.FORCE_DISCHARGE, BatteryMode.SELF_USE)
        assert huawei_night.physics.state.battery_power < 1900.0  # self-use: the house's load, not 1900 W
        assert len(controller.write_log[f"{HW_UNIT}:{HW_FORCIBLE}"]) == 11  # it counts


@pytest.mark.parametrize(
    ("endpoint", "battery", "mode"),
    [
        (ET, ET_BATTERY, "self_use"),
        (ET, ET_BATTERY, "hold"),
        (ET, ET_BATTERY, "off_grid_reserve"),
        (SUNSPEC, SS_BATTERY, "self_use"),
        (SUNSPEC, SS_BATTERY, "hold"),
        (HUAWEI, HW_BATTERY, "self_use"),
    ],
)
async def test_a_power_with_a_mode_that_uses_none_is_refused_for_every_brand(
    socket_enabled: None, endpoint: str, battery: str, mode: str
) -> None:
    """Only a forced charge or discharge uses a power: one given with any other mode is a mistake, and
    every brand says so alike before anything is sent (GoodWe checked it against the rated power and then
    dropped it, SunSpec and Huawei dropped it unchecked). The mode alone is still accepted."""
    async with (
        _serving(SimulatedPlant(start=NIGHT, endpoints=[endpoint])) as plant,
        (controller := await _controller(plant, endpoint)).client,
    ):
        if mode != "self_use":
            await controller.set_battery_mode(battery, "force_discharge", 1000)  # a mode to leave
        sent = plant.server(endpoint).write_requests()
        for power in (1000, 0, 10**9):
            with pytest.raises(ModeTakesNoPowerError) as caught:
                await controller.set_battery_mode(battery, mode, power)
            refused = caught.value
            assert (refused.control, refused.mode, refused.value) == ("force_power", mode, power)
        assert plant.server(endpoint).write_requests() == sent
        [*_, change] = await controller.set_battery_mode(battery, mode)
        assert change.new == mode


async def test_a_forced_power_without_a_limit_is_not_settable(socket_enabled: None) -> None:
    """A storage that states no maximum power (Huawei 47075/47077 = 0, SunSpec ``WChaMax`` = 0) leaves its
    forced power a range of 0..0 W: no value to choose, which the state says (``settable``); the other
    controls and a device that states its limit stay settable."""
    plant = SimulatedPlant(start=NIGHT, endpoints=[HUAWEI, SUNSPEC])
    image = plant.devices["huawei_sun2000"].image
    image.set_words(RegisterKind.HOLDING, HW_MAX_CHARGING_POWER, [0, 0, 0, 0])  # 47075 and 47077
    async with _serving(plant):
        async with (controller := await _controller(plant, SUNSPEC)).client:
            before = (await controller.read())[SS_BATTERY]
            plant.devices["sunspec_inverter"].chain.set_scaled(124, "WChaMax", 0, 0)
            after = (await controller.read())[SS_BATTERY]
        async with (controller := await _controller(plant, HUAWEI)).client:
            huawei = (await controller.read())[HW_BATTERY]
    assert before[Control.FORCE_POWER].spec.settable
    assert not after[Control.FORCE_POWER].spec.settable
    assert (after[Control.FORCE_POWER].spec.minimum, after[Control.FORCE_POWER].spec.maximum) == (0, 0)
    assert not huawei[Control.FORCE_POWER].spec.settable
    others = [state.spec for control, state in (*huawei.items(), *after.items()) if control != "force_power"]
    assert len(others) == 4
    assert all(spec.settable for spec in others)
