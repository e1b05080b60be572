"""SunSpec: offsets computed from the pysunspec2 model definitions; the profiles against simulated devices
(the manufacturers' chain layouts are in ``test_sunspec_layouts.py``)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest

from custom_components.sems.plantkit.client import PlantClient
from custom_components.sems.plantkit.exceptions import ModbusExceptionError, UnsupportedDeviceError
from custom_components.sems.plantkit.model import DeviceIdentity, DeviceStatus, Quantity, Role
from custom_components.sems.plantkit.profiles.base import UnitSession
from custom_components.sems.plantkit.profiles.sunspec import SUNSPEC_PROFILES
from custom_components.sems.plantkit.profiles.sunspec import models as sunspec_models
from custom_components.sems.plantkit.profiles.sunspec.chain import ModelInstance, SunSpecDetails
from custom_components.sems.plantkit.profiles.sunspec.models import (
    ModelDefinitionError,
    ensure_models_loaded,
    load_layouts,
    model_point,
    parse_model,
)
from custom_components.sems.plantkit.profiles.sunspec.profile import SunSpecInverterProfile
from custom_components.sems.plantkit.registers import DataType, RegisterKind, Sentinel, decode
from custom_components.sems.plantkit.transport import Endpoint
from simulator.device import SimDevice
from simulator.devices.sunspec import SunSpecChain, SunSpecInverterSim, SunSpecMeterSim
from simulator.physics import PlantPhysics, PlantState
from simulator.plant import SimulatedPlant
from simulator.server import SimServer

from .sunspec_support import ChainDevice, by_role, serve_devices, sunspec_client
from .support import raw_codes

H = RegisterKind.HOLDING
NOON = datetime(2026, 6, 21, 12, 0, 0)

# -- offsets from the model definitions (values as in the SunSpec tables, header included) ----------


@pytest.mark.parametrize(
    ("model_id", "name", "offset"),
    [
        (1, "Mn", 2),
        (1, "Md", 18),
        (1, "Vr", 42),
        (1, "SN", 50),
        (1, "DA", 66),
        (103, "A", 2),
        (103, "PhVphA", 10),
        (103, "V_SF", 13),
        (103, "W", 14),
        (103, "W_SF", 15),
        (103, "Hz", 16),
        (103, "WH", 24),
        (103, "WH_SF", 26),
        (103, "DCW", 31),
        (103, "TmpCab", 33),
        (103, "St", 38),
        (103, "Evt1", 40),
        (113, "W", 22),
        (113, "WH", 32),
        (113, "St", 48),
        (113, "Evt1", 50),
        (122, "ActWh", 5),
        (124, "ChaState", 8),
        (124, "ChaSt", 11),
        (160, "DCW_SF", 4),
        (160, "N", 8),
        (203, "W", 18),
        (203, "W_SF", 22),
        (203, "TotWhExp", 38),
        (203, "TotWhImp", 46),
        (203, "TotWh_SF", 54),
        (203, "Evt", 105),
        (213, "W", 28),
        (213, "TotWhExp", 60),
        (213, "TotWhImp", 68),
        (213, "Evt", 124),
        (701, "InvSt", 4),
        (701, "Alrm", 6),
        (701, "W", 10),
        (701, "Hz", 17),
        (701, "TotWhInj", 19),
        (701, "TotWhAbs", 23),
        (701, "W_SF", 116),
        (701, "TotWh_SF", 120),
        (713, "SoC", 4),
        (713, "Pct_SF", 8),
        (714, "DCW", 6),
        (802, "SoC", 11),
        (802, "Evt1", 26),
        (802, "V", 34),
        (802, "A", 44),
        (802, "W", 47),
        (802, "SoC_SF", 56),
        (802, "W_SF", 63),
    ],
)
def test_point_offsets_match_the_sunspec_tables(model_id: int, name: str, offset: int) -> None:
    assert load_layouts()[model_id].points[name].offset == offset
    assert model_point(model_id, 40000, name).address == 40000 + offset


@pytest.mark.parametrize(
    ("model_id", "length"),
    [
        (1, 66),
        (101, 50),
        (103, 50),
        (113, 60),
        (120, 26),
        (122, 44),
        (124, 24),
        (160, 8),
        (201, 105),
        (203, 105),
        (213, 124),
        (701, 153),
        (713, 7),
        (714, 18),
        (802, 62),
    ],
)
def test_model_lengths(model_id: int, length: int) -> None:
    assert load_layouts()[model_id].length == length


def test_repeating_groups_follow_the_fixed_part() -> None:
    mppt, der_dc = load_layouts()[160], load_layouts()[714]
    assert mppt.group is not None
    assert der_dc.group is not None
    assert (mppt.group.length, der_dc.group.length) == (20, 25)
    assert mppt.repetitions(8 + 2 * 20) == 2
    assert der_dc.repetitions(18 + 3 * 25) == 3
    dcw = model_point(160, 1000, "DCW", 1)
    assert dcw.key == "160.module[1].DCW"
    assert dcw.address == 1000 + 2 + 8 + 20 + 11
    assert dcw.dtype is DataType.U16
    # Module points are scaled by the SF in the model's fixed part.
    assert dcw.scale_factor == "160.DCW_SF"
    assert model_point(714, 2000, "DCW", 0).address == 2000 + 2 + 18 + 12
    assert model_point(714, 2000, "DCW", 0).scale_factor == "714.DCW_SF"


def test_points_carry_types_sentinels_and_scale_factors() -> None:
    wh = model_point(103, 40070, "WH")
    assert (wh.dtype, wh.sentinel, wh.scale_factor) == (DataType.ACC32, Sentinel.SUNSPEC, "103.WH_SF")
    assert decode(wh, [0, 0]) is None  # accumulator 0 = not accumulated
    assert decode(model_point(103, 40070, "W"), [0x8000]) is None
    assert decode(model_point(103, 40070, "St"), [0xFFFF]) is None
    assert decode(model_point(103, 40070, "W_SF"), [0xFFFE]) == -2
    assert decode(model_point(701, 40070, "TotWhInj"), [0xFFFF] * 4) is None
    assert decode(model_point(113, 40070, "W"), [0x7FC0, 0]) is None  # NaN
    float_w = model_point(113, 40070, "W")
    assert (float_w.dtype, float_w.scale_factor) == (DataType.F32, None)
    serial = model_point(1, 40002, "SN")
    assert (serial.dtype, serial.count) == (DataType.STRING, 16)


def _definition(points: list[dict[str, Any]], *groups: dict[str, Any]) -> dict[str, Any]:
    header = [{"name": "ID", "size": 1, "type": "uint16"}, {"name": "L", "size": 1, "type": "uint16"}]
    top: dict[str, Any] = {"name": "test", "type": "group", "points": header + points}
    if groups:
        top["groups"] = list(groups)
    return {"id": 64999, "group": top}


def test_parser_resolves_nested_and_fixed_scale_factors() -> None:
    layout = parse_model(
        _definition(
            [
                {"name": "X_SF", "size": 1, "type": "sunssf"},
                {"name": "Fixed", "size": 1, "type": "int16", "sf": -1},
                {"name": "Text", "size": 4, "type": "string"},
            ],
            {
                "name": "row",
                "type": "group",
                "count": "N",
                "points": [
                    {"name": "Outer", "size": 1, "type": "uint16", "sf": "X_SF"},
                    {"name": "Own_SF", "size": 1, "type": "sunssf"},
                    {"name": "Inner", "size": 2, "type": "acc32", "sf": "Own_SF"},
                ],
            },
        )
    )
    assert layout.length == 1 + 1 + 4
    assert layout.points["Fixed"].sf == -1
    assert layout.group is not None
    assert layout.group.length == 4
    outer, inner = layout.group.points["Outer"], layout.group.points["Inner"]
    assert (outer.offset, outer.sf, outer.sf_in_group) == (0, "X_SF", False)
    assert (inner.offset, inner.sf, inner.sf_in_group) == (2, "Own_SF", True)


def test_parser_rejects_unresolvable_scale_factors_and_nested_groups() -> None:
    with pytest.raises(ModelDefinitionError, match="Nope"):
        parse_model(_definition([{"name": "W", "size": 1, "type": "int16", "sf": "Nope"}]))
    inner = {"name": "i", "type": "group", "count": 1, "points": [{"name": "Q", "size": 1, "type": "uint16"}]}
    group = {"name": "g", "type": "group", "count": 2, "points": [{"name": "P", "size": 1, "type": "uint16"}]}
    with pytest.raises(ModelDefinitionError, match="nested"):
        parse_model(_definition([], {**group, "groups": [inner]}))


def test_fixed_count_groups_count_toward_the_model_length() -> None:
    """704's power-factor groups follow its fixed points: part of L, none of their points exposed."""
    group = {"name": "g", "type": "group", "count": 2, "points": [{"name": "P", "size": 2, "type": "uint32"}]}
    once = {**group, "name": "h", "count": None}
    layout_ = parse_model(_definition([{"name": "X", "size": 1, "type": "uint16"}], group, once))
    assert layout_.length == 1 + 2 * 2 + 2
    assert layout_.group is None
    assert set(layout_.points) == {"ID", "L", "X"}


def test_chain_round_trips_through_details() -> None:
    """Stored details come back as they were, and 0.1's chain strings still parse."""
    chain = (ModelInstance(103, 40070, 50), ModelInstance(160, 40150, 48))
    details = SunSpecDetails(40000, chain)
    assert details.to_dict() == {"base": 40000, "chain": [[103, 40070, 50], [160, 40150, 48]]}
    assert SunSpecDetails.parse(details.to_dict()) == details
    assert SunSpecDetails.parse([["base", 40000], ["chain", "103@40070+50 160@40150+48"]]) == details


async def test_model_definitions_load_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: set[str] = set()
    real_loads = sunspec_models.json.loads

    def recording_loads(text: str) -> Any:
        threads.add(threading.current_thread().name)
        return real_loads(text)

    monkeypatch.setattr(sunspec_models.json, "loads", recording_loads)
    load_layouts.cache_clear()
    try:
        await ensure_models_loaded()
        assert load_layouts.cache_info().currsize == 1
        assert threads
        assert threading.current_thread().name not in threads
        threads.clear()
        await ensure_models_loaded()  # cached: no second load
        assert not threads
    finally:
        load_layouts.cache_clear()
        load_layouts()


# -- simulated devices on loopback -------------------------------------------------------------------


@pytest.fixture
async def sunspec_plant(socket_enabled: None) -> AsyncIterator[tuple[SimServer, PlantState]]:
    """The simulated SunSpec inverter+battery (unit 1) and meter (unit 2), rendered at a sunny noon."""
    state = PlantPhysics(start=NOON).state
    devices: list[SimDevice] = [SunSpecInverterSim(), SunSpecMeterSim()]
    for device in devices:
        device.render(state)
    server = await serve_devices(devices)
    try:
        yield server, state
    finally:
        await server.stop()


def _render(server: SimServer, state: PlantState) -> None:
    for device in server.devices.values():
        device.render(state)


async def test_probe_finds_inverter_battery_and_meter(sunspec_plant: tuple[SimServer, PlantState]) -> None:
    server, _ = sunspec_plant
    async with sunspec_client(server) as client:
        devices = await client.probe(unit_ids=[1, 2])
    inverter, battery, meter = devices
    assert (inverter.role, inverter.profile, inverter.unit_id) == (Role.INVERTER, "sunspec_inverter", 1)
    assert (inverter.manufacturer, inverter.model, inverter.serial) == (
        "SunSpecSim",
        "SIM-INV-10K",
        "SS-INV-0001",
    )
    assert inverter.firmware == "1.4.2"
    assert isinstance(inverter.details, SunSpecDetails)
    assert inverter.details.base == 40000
    assert [m.model_id for m in inverter.details.chain] == [103, 120, 160, 701, 713, 802, 123, 124]
    assert (battery.role, battery.profile, battery.unit_id) == (Role.BATTERY, "sunspec_battery", 1)
    assert (battery.serial, battery.via_serial) == ("SS-INV-0001", "SS-INV-0001")
    assert battery.key != inverter.key
    assert (meter.role, meter.profile, meter.unit_id) == (Role.METER, "sunspec_meter", 2)
    assert (meter.model, meter.serial, meter.via_serial) == ("SIM-METER-3P", "SS-MTR-0001", None)


async def test_read_matches_the_plant_state(sunspec_plant: tuple[SimServer, PlantState]) -> None:
    server, state = sunspec_plant
    assert state.battery_power < 0 < state.pv_power  # charging from the sun
    assert state.grid_power < 0  # and exporting
    async with sunspec_client(server) as client:
        await client.probe(unit_ids=[1, 2])
        readings = by_role(await client.read())
    inverter = readings[Role.INVERTER].values
    assert inverter[Quantity.AC_POWER] == pytest.approx(state.ac_power, abs=0.5)
    assert inverter[Quantity.AC_ENERGY_TOTAL] == pytest.approx(state.ac_energy_total, abs=0.001)
    assert inverter[Quantity.PV_POWER] == pytest.approx(state.pv_power, abs=0.01)
    assert inverter[Quantity.PV1_POWER] == pytest.approx(state.pv1_power, abs=0.01)
    assert inverter[Quantity.PV2_POWER] == pytest.approx(state.pv2_power, abs=0.01)
    assert inverter[Quantity.PV1_VOLTAGE] == pytest.approx(state.pv1_voltage, abs=0.05)
    assert inverter[Quantity.PV_ENERGY_TOTAL] == pytest.approx(state.pv_energy_total, abs=0.001)
    assert inverter[Quantity.GRID_FREQUENCY] == pytest.approx(state.grid_frequency, abs=0.005)
    assert inverter[Quantity.GRID_VOLTAGE_L3] == pytest.approx(state.grid_voltage, abs=0.05)
    assert inverter[Quantity.INVERTER_TEMPERATURE] == pytest.approx(state.inverter_temperature, abs=0.05)
    assert readings[Role.INVERTER].status is DeviceStatus.RUNNING
    battery = readings[Role.BATTERY].values
    assert battery[Quantity.BATTERY_SOC] == pytest.approx(state.battery_soc, abs=0.05)
    assert battery[Quantity.BATTERY_SOH] == pytest.approx(state.battery_soh, abs=0.05)
    assert battery[Quantity.BATTERY_POWER] == pytest.approx(state.battery_power, abs=0.5)
    assert battery[Quantity.BATTERY_VOLTAGE] == pytest.approx(state.battery_voltage, abs=0.05)
    battery_current = battery[Quantity.BATTERY_CURRENT]
    assert battery_current is not None
    assert battery_current < 0
    assert readings[Role.BATTERY].status is DeviceStatus.RUNNING
    meter = readings[Role.METER].values
    assert meter[Quantity.GRID_POWER] == pytest.approx(state.grid_power, abs=0.5)
    assert meter[Quantity.GRID_IMPORT_ENERGY_TOTAL] == pytest.approx(
        state.grid_import_energy_total, abs=0.001
    )
    assert meter[Quantity.GRID_EXPORT_ENERGY_TOTAL] == pytest.approx(
        state.grid_export_energy_total, abs=0.001
    )
    assert meter[Quantity.GRID_VOLTAGE_L1] == pytest.approx(state.grid_voltage, abs=0.05)
    assert all(not r.faults for r in readings.values())


async def test_signs_follow_the_canonical_conventions(sunspec_plant: tuple[SimServer, PlantState]) -> None:
    """Evening: the battery discharges (+) and the house imports (+)."""
    server, _ = sunspec_plant
    state = PlantState(
        now=datetime(2026, 6, 21, 21, 0), battery_power=2500.0, ac_power=2500.0, grid_power=900.0
    )
    _render(server, state)
    async with sunspec_client(server) as client:
        await client.probe(unit_ids=[1, 2])
        readings = by_role(await client.read())
    assert readings[Role.INVERTER].values[Quantity.AC_POWER] == 2500.0
    assert readings[Role.INVERTER].values[Quantity.PV_POWER] == 0.0
    assert readings[Role.BATTERY].values[Quantity.BATTERY_POWER] == 2500.0
    battery_current = readings[Role.BATTERY].values[Quantity.BATTERY_CURRENT]
    assert battery_current is not None
    assert battery_current > 0
    assert readings[Role.METER].values[Quantity.GRID_POWER] == 900.0
    assert readings[Role.METER].values[Quantity.GRID_CURRENT_L1] == pytest.approx(900 / 3 / 230, abs=0.01)


async def test_sleeping_and_faults(sunspec_plant: tuple[SimServer, PlantState]) -> None:
    server, state = sunspec_plant
    state.sleeping = True
    _render(server, state)
    async with sunspec_client(server) as client:
        await client.probe(unit_ids=[1, 2])
        assert by_role(await client.read())[Role.INVERTER].status is DeviceStatus.SLEEPING
        state.sleeping = False
        state.faults |= {"over_temperature", "grid_over_voltage", "bms_alarm", "meter_comm_lost"}
        _render(server, state)
        readings = by_role(await client.read())
    inverter, battery, meter = readings[Role.INVERTER], readings[Role.BATTERY], readings[Role.METER]
    assert inverter.status is DeviceStatus.FAULT
    assert raw_codes(inverter) == {"sunspec_evt1:7", "sunspec_evt1:10", "sunspec_alrm:7", "sunspec_alrm:10"}
    assert battery.status is DeviceStatus.FAULT
    assert raw_codes(battery) == {"sunspec_802_evt1:1"}
    assert raw_codes(meter) == {"sunspec_meter_evt:7"}
    assert meter.values[Quantity.GRID_POWER] is None
    assert meter.status is DeviceStatus.UNKNOWN
    assert meter.values[Quantity.GRID_IMPORT_ENERGY_TOTAL] is not None


async def test_not_implemented_values_read_as_none(sunspec_plant: tuple[SimServer, PlantState]) -> None:
    server, state = sunspec_plant
    state.faults.add("sentinel_values")
    _render(server, state)
    async with sunspec_client(server) as client:
        await client.probe(unit_ids=[1, 2])
        readings = await client.read()
    for reading in readings:
        assert reading.values
        assert set(reading.values.values()) == {None}, reading.identity.role
        assert reading.status is DeviceStatus.UNKNOWN
        assert not reading.faults


def _assert_scale_factors_read_with_their_values(
    client: PlantClient, server: SimServer, devices: list[DeviceIdentity]
) -> None:
    """SunSpec SFs may change at runtime: each value must come in the same request as its SF."""
    for device in devices:
        points = {p.key: p for p in client.profile(device.profile).points(device)}
        for point in points.values():
            if point.scale_factor is None:
                continue
            sf_point = points[point.scale_factor]
            [request] = [
                r
                for r in server.requests
                if r.unit_id == device.unit_id and r.address <= point.address < r.address + r.count
            ]
            assert request.address <= sf_point.address < request.address + request.count, point.key


async def test_a_full_read_takes_the_planned_requests_with_scale_factors_alongside(
    sunspec_plant: tuple[SimServer, PlantState],
) -> None:
    server, _ = sunspec_plant
    async with sunspec_client(server) as client:
        devices = await client.probe(unit_ids=[1, 2])
        server.requests.clear()
        await client.read()
        # 103+120+160 | 701 | 713+802 on unit 1, 203 on unit 2: 701 alone spans 119 registers.
        assert server.count() == client.planned_requests() == 4
        _assert_scale_factors_read_with_their_values(client, server, devices)


async def test_a_model_is_never_split_from_its_scale_factors(socket_enabled: None) -> None:
    """103 directly before 701: a 125-register window from 103 would reach 701's W but not its W_SF."""

    def inverter_then_der(chain: SunSpecChain) -> None:
        chain.add(1)
        chain.set_common("X", "Y", "1", "SPLIT-1", 1)
        chain.add(103)
        chain.set_scaled(103, "W", 1000, 0)
        chain.add(701)
        chain.set_scaled(701, "W", 1234.5, -1)
        chain.end()

    server = await serve_devices([ChainDevice(1, inverter_then_der)])
    try:
        async with sunspec_client(server) as client:
            devices = await client.probe(unit_ids=[1])
            server.requests.clear()
            readings = by_role(await client.read())
            assert readings[Role.INVERTER].values[Quantity.AC_POWER] == 1234.5
            assert server.count() == 2
            _assert_scale_factors_read_with_their_values(client, server, devices)
    finally:
        await server.stop()


async def test_the_plant_endpoint_tracks_the_physics(plant: SimulatedPlant) -> None:
    """The SunSpec endpoint of the simulated plant: counters follow the integrated powers."""
    async with PlantClient(
        Endpoint("127.0.0.1", plant.port("sunspec_tcp"), timeout=1.0, retries=0)
    ) as client:
        devices = await client.probe(unit_ids=[1, 2])
        assert [(d.role, d.unit_id) for d in devices] == [
            (Role.INVERTER, 1),
            (Role.BATTERY, 1),
            (Role.METER, 2),
        ]
        before = by_role(await client.read())
        plant.advance(3600)
        state = plant.physics.state
        after = by_role(await client.read())
    produced = after[Role.INVERTER].values[Quantity.AC_ENERGY_TOTAL]
    assert produced == pytest.approx(state.ac_energy_total, abs=0.001)
    assert produced > (before[Role.INVERTER].values[Quantity.AC_ENERGY_TOTAL] or 0)
    assert after[Role.BATTERY].values[Quantity.BATTERY_SOC] == pytest.approx(state.battery_soc, abs=0.05)
    assert after[Role.METER].values[Quantity.GRID_POWER] == pytest.approx(state.grid_power, abs=0.5)
    exported = after[Role.METER].values[Quantity.GRID_EXPORT_ENERGY_TOTAL]
    assert exported == pytest.approx(state.grid_export_energy_total, abs=0.001)


async def test_base_address_fallback(socket_enabled: None) -> None:
    server = await serve_devices([SunSpecMeterSim(unit_id=1, base=0)])
    try:
        async with sunspec_client(server) as client:
            [meter] = await client.probe(unit_ids=[1])
        assert isinstance(meter.details, SunSpecDetails)
        assert (meter.details.base, meter.serial) == (0, "SS-MTR-0001")
        # 40000 refused, then the marker at 0, then headers 1, 203, end, then the Common model.
        assert [r.address for r in server.requests] == [40000, 0, 2, 70, 177, 2]
    finally:
        await server.stop()


async def test_devices_that_are_not_sunspec_are_unsupported(socket_enabled: None) -> None:
    def no_marker(chain: SunSpecChain) -> None:
        chain.image.set_words(H, 40000, [0x1234, 0x5678])
        chain.image.define(H, 0, 10)

    server = await serve_devices([ChainDevice(1, no_marker), SunSpecMeterSim(unit_id=2)])
    try:
        async with sunspec_client(server) as client:
            with pytest.raises(UnsupportedDeviceError):
                await client.probe(unit_ids=[1])
            assert [r.address for r in server.requests] == [40000, 0, 50000]
            server.requests.clear()
            server.faults.exception_code = 2  # a device that answers every read with an exception
            with pytest.raises(UnsupportedDeviceError):
                await client.probe(unit_ids=[2])
            assert server.count() == 3
            server.faults.clear()
            server.requests.clear()
            # Gateway exception "target did not respond": the unit is absent, no point trying other bases;
            # the exception reaches the probe, which reports "no device at unit 9".
            sent = client.transport.requests_sent
            with pytest.raises(ModbusExceptionError) as raised:
                await SunSpecInverterProfile().identify(UnitSession(client.transport, 9))
            assert raised.value.code == ModbusExceptionError.GATEWAY_TARGET_NO_RESPONSE
            assert client.transport.requests_sent == sent + 1
    finally:
        await server.stop()


async def test_sub_profiles_do_not_identify(sunspec_plant: tuple[SimServer, PlantState]) -> None:
    server, _ = sunspec_plant
    async with sunspec_client(server) as client:
        for profile in SUNSPEC_PROFILES[1:]:
            with pytest.raises(UnsupportedDeviceError):
                await profile.identify(UnitSession(client.transport, 1))
    assert server.count() == 0
