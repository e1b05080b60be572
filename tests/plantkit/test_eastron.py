"""Eastron SDM profiles: decoding, planning, model identification and reads over loopback."""

from __future__ import annotations

from datetime import datetime

import pytest

from custom_components.sems.plantkit.client import PlantClient
from custom_components.sems.plantkit.exceptions import ModbusExceptionError, UnsupportedDeviceError
from custom_components.sems.plantkit.model import DeviceIdentity, DeviceStatus, Quantity, Role
from custom_components.sems.plantkit.planner import Span, plan_reads
from custom_components.sems.plantkit.profiles import PROFILES, profile_by_name
from custom_components.sems.plantkit.profiles.base import Profile, UnitSession
from custom_components.sems.plantkit.profiles.eastron import (
    EASTRON_PROFILES,
    SDM72,
    SDM120,
    SDM630,
    MeterLayout,
)
from custom_components.sems.plantkit.registers import DataType, Point, RegisterKind
from custom_components.sems.plantkit.transport import Endpoint, TransportType, create_transport
from simulator.devices.eastron import Sdm72Sim, Sdm120Sim, Sdm630Sim
from simulator.image import IllegalAddress
from simulator.physics import PlantState
from simulator.server import SimServer

from .conftest import Serve

INPUT = RegisterKind.INPUT
HOLDING = RegisterKind.HOLDING
METER_CODE = (HOLDING, 0xFC02)
SERIAL_REGS = ((HOLDING, 0xFC00), (HOLDING, 0xFC01))
IDENTIFYING = profile_by_name("eastron_sdm630")

# Exporting 1054.3 W: the canonical sign (+ = import) must come through unchanged.
STATE = PlantState(
    now=datetime(2026, 6, 21, 12, 0),
    grid_power=-1054.3,
    grid_voltage=231.5,
    grid_frequency=49.98,
    grid_import_energy_total=4321.25,
    grid_export_energy_total=6789.5,
)


@pytest.fixture
def sim_state() -> PlantState:
    return STATE


def _endpoint(server: SimServer, transport: TransportType = TransportType.TCP) -> Endpoint:
    return Endpoint("127.0.0.1", server.port, transport, timeout=1.0, retries=0)


async def _identify(server: SimServer, unit_id: int, profile: Profile = IDENTIFYING) -> DeviceIdentity:
    transport = create_transport(_endpoint(server))
    try:
        (identity,) = await profile.identify(UnitSession(transport, unit_id))
    finally:
        await transport.close()
    return identity


# -- decoding and planning (no I/O) ----------------------------------------------------------------


def _identity(layout: MeterLayout) -> DeviceIdentity:
    return DeviceIdentity(Role.METER, layout.profile, 1, "Eastron", "test", "1")


def test_profiles_are_registered_in_probe_order() -> None:
    names = [p.name for p in PROFILES]
    eastron = [p.name for p in EASTRON_PROFILES]
    # decode-only first, the identifying profile last: its finding is the vendor's last word
    assert eastron == ["eastron_sdm120", "eastron_sdm72", "eastron_sdm630"]
    start = names.index(eastron[0])
    assert names[start : start + 3] == eastron  # together, in this order
    assert start > max(names.index("sunspec_inverter"), names.index("goodwe_et"))  # SunSpec, GoodWe first
    assert [p.default_units for p in EASTRON_PROFILES] == [(), (), (1, 2)]
    for profile in EASTRON_PROFILES:
        assert profile.role is Role.METER
        assert profile.default_poll_seconds == 10
        assert TransportType.UDP not in profile.transports  # RS485 meters sit behind Modbus gateways


def test_decode_keeps_import_positive_and_rounds_float32_noise() -> None:
    profile = profile_by_name("eastron_sdm630")
    raw = {
        "total_system_power": -1054.300048828125,  # what float32 makes of -1054.3
        "frequency": 49.97999954223633,
        "import_energy": 4321.25,
        "export_energy": 6789.5,
        "voltage_l1": 231.5,
        "power_l1": 1200.0,
    }
    reading = profile.decode(_identity(SDM630), raw).tidied()
    assert reading.values[Quantity.GRID_POWER] == -1054.3
    assert reading.values[Quantity.GRID_FREQUENCY] == 49.98
    assert reading.values[Quantity.GRID_IMPORT_ENERGY_TOTAL] == 4321.25
    assert reading.values[Quantity.GRID_POWER_L1] == 1200.0
    assert reading.values[Quantity.GRID_POWER_L3] is None  # not in raw: unavailable
    assert reading.status is DeviceStatus.RUNNING
    assert reading.faults == frozenset()


def test_decode_without_power_is_unknown_status() -> None:
    reading = profile_by_name("eastron_sdm120").decode(_identity(SDM120), {"power_l1": None})
    assert reading.values[Quantity.GRID_POWER] is None
    assert reading.status is DeviceStatus.UNKNOWN
    assert set(reading.values) == {
        Quantity.GRID_POWER,
        Quantity.GRID_FREQUENCY,
        Quantity.GRID_IMPORT_ENERGY_TOTAL,
        Quantity.GRID_EXPORT_ENERGY_TOTAL,
        Quantity.GRID_VOLTAGE_L1,
        Quantity.GRID_CURRENT_L1,
        Quantity.GRID_POWER_L1,
    }


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("eastron_sdm630", [(0x0000, 76)]),  # 40 values per request: one read
        ("eastron_sdm72", [(0x0000, 54), (0x0046, 6)]),  # 30 values per request
        ("eastron_sdm120", [(0x0000, 14), (0x0046, 6)]),
    ],
)
def test_plans_respect_request_limits_and_float_pairs(name: str, expected: list[tuple[int, int]]) -> None:
    profile = profile_by_name(name)
    points = profile.points(_identity(SDM630))
    assert all(p.kind is INPUT and p.dtype is DataType.F32 and p.address % 2 == 0 for p in points)
    plan = plan_reads([Span(p.kind, p.address, p.count) for p in points], profile.limits)
    assert [(r.address, r.count) for r in plan] == expected
    assert all(r.count <= profile.limits.max_registers for r in plan)


def test_single_phase_reads_total_power_at_phase_one() -> None:
    points = {p.key: p.address for p in profile_by_name("eastron_sdm120").points(_identity(SDM120))}
    assert points["power_l1"] == 0x000C
    assert "voltage_l2" not in points
    assert "total_system_power" not in points
    reading = profile_by_name("eastron_sdm120").decode(_identity(SDM120), {"power_l1": 230.0})
    assert reading.values[Quantity.GRID_POWER] == 230.0
    three = {p.key: p.address for p in profile_by_name("eastron_sdm72").points(_identity(SDM72))}
    assert three["total_system_power"] == 0x0034


def test_simulated_meter_refuses_what_a_real_one_refuses() -> None:
    meter = Sdm630Sim()
    meter.render(STATE)
    assert len(meter.image.read(INPUT, 0x0000, 80)) == 80
    assert meter.image.read(HOLDING, 0xFC02, 1) == [0x0070]  # single reads are allowed
    for address, count in ((0x0001, 2), (0x0000, 3), (0x0000, 82), (0x0050, 2), (0x0150, 2)):
        with pytest.raises(IllegalAddress):
            meter.image.read(INPUT, address, count)
    small = Sdm72Sim()
    with pytest.raises(IllegalAddress):
        small.image.read(INPUT, 0x0000, 62)


# -- identification over loopback ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("device", "profile", "model", "serial", "code"),
    [
        (Sdm630Sim(unit_id=1), "eastron_sdm630", "SDM630", "12345678", 0x0070),
        (Sdm120Sim(unit_id=1), "eastron_sdm120", "SDM120", "23456789", 0x0020),
        (Sdm72Sim(unit_id=1), "eastron_sdm72", "SDM72D-M-V2", "34567890", 0x0089),
    ],
)
async def test_identifies_model_by_meter_code(
    serve: Serve, device: Sdm630Sim, profile: str, model: str, serial: str, code: int
) -> None:
    server = await serve([device])
    identity = await _identify(server, 1)
    assert identity.profile == profile
    assert (identity.manufacturer, identity.model, identity.serial) == ("Eastron", model, serial)
    assert identity.role is Role.METER
    assert identity.unit_id == 1
    assert identity.details.to_dict()["meter_code"] == code
    # measurements check, serial, meter code: three requests, each a whole float pair or one register
    assert [(r.function, r.address, r.count) for r in server.requests] == [
        (4, 0x0046, 6),
        (3, 0xFC00, 2),
        (3, 0xFC02, 1),
    ]


async def test_without_meter_code_the_phase_count_decides(serve: Serve) -> None:
    three = Sdm630Sim(unit_id=1)
    single = Sdm120Sim(unit_id=2)
    for meter in (three, single):
        meter.image.refused.add(METER_CODE)
    single.image.refused.update(SERIAL_REGS)
    server = await serve([three, single])

    identity = await _identify(server, 1)
    assert (identity.profile, identity.model, identity.serial) == (
        "eastron_sdm72",
        "SDM (3-phase)",
        "12345678",
    )
    assert identity.details.to_dict()["meter_code"] is None
    assert identity.details.to_dict()["phases"] == 3

    identity = await _identify(server, 2)
    assert (identity.profile, identity.model) == ("eastron_sdm120", "SDM (1-phase)")
    assert identity.serial == "sdm-unit2"  # no serial register: stable per endpoint and unit only


async def test_unknown_meter_code_falls_back_to_structure(serve: Serve) -> None:
    meter = Sdm120Sim(unit_id=1)
    meter.image.set(Point("code", 0xFC02, DataType.U16, HOLDING), 0x0042)  # e.g. an SDM230
    server = await serve([meter])
    identity = await _identify(server, 1)
    assert (identity.profile, identity.model) == ("eastron_sdm120", "SDM (1-phase)")
    assert identity.details.to_dict()["meter_code"] == 0x0042


async def test_three_phase_meter_wired_single_phase_is_read_as_single_phase(serve: Serve) -> None:
    meter = Sdm630Sim(unit_id=1)
    meter.image.refused.add(METER_CODE)
    server = await serve([meter])
    for address in (0x0002, 0x0004):  # L2 and L3 dead
        meter.image.set(Point("v", address, DataType.F32, INPUT), 0.0)
    identity = await _identify(server, 1)
    assert identity.profile == "eastron_sdm120"


class _NotAMeter(Sdm630Sim):
    """A Modbus device with an input register map where an SDM has its frequency, but other content."""

    def __init__(self, frequency: float, imported: float = 10.0) -> None:
        super().__init__(unit_id=1)
        self.frequency = frequency
        self.imported = imported

    def render(self, state: PlantState) -> None:
        super().render(state)
        self.image.set(Point("f", 0x0046, DataType.F32, INPUT), self.frequency)
        self.image.set(Point("i", 0x0048, DataType.F32, INPUT), self.imported)


@pytest.mark.parametrize(
    ("frequency", "imported"),
    [(0.0, 10.0), (400.0, 10.0), (float("nan"), 10.0), (50.0, -5.0), (50.0, 3e12)],
)
async def test_implausible_values_are_not_an_eastron_meter(
    serve: Serve, frequency: float, imported: float
) -> None:
    server = await serve([_NotAMeter(frequency, imported)])
    with pytest.raises(UnsupportedDeviceError):
        await _identify(server, 1)
    assert server.count() == 1  # one request decides


async def test_refused_input_registers_are_not_an_eastron_meter(serve: Serve) -> None:
    meter = Sdm630Sim(unit_id=1)
    server = await serve([meter])
    server.faults.exception_code = ModbusExceptionError.ILLEGAL_DATA_ADDRESS
    with pytest.raises(UnsupportedDeviceError, match="no Eastron measurement registers"):
        await _identify(server, 1)


async def test_device_failure_is_not_mistaken_for_absence(serve: Serve) -> None:
    server = await serve([Sdm630Sim(unit_id=1)])
    server.faults.exception_code = ModbusExceptionError.DEVICE_FAILURE
    with pytest.raises(ModbusExceptionError) as caught:
        await _identify(server, 1)
    assert caught.value.code == ModbusExceptionError.DEVICE_FAILURE


@pytest.mark.parametrize("name", ["eastron_sdm120", "eastron_sdm72"])
async def test_decode_only_profiles_send_nothing(serve: Serve, name: str) -> None:
    server = await serve([Sdm630Sim(unit_id=1)])
    with pytest.raises(UnsupportedDeviceError):
        await _identify(server, 1, profile_by_name(name))
    assert server.count() == 0


# -- end to end through the client -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("framing", "transport"),
    [("tcp", TransportType.TCP), ("rtu-over-tcp", TransportType.RTU_OVER_TCP)],
)
async def test_probe_and_read_a_gateway_with_three_meters(
    serve: Serve, framing: str, transport: TransportType
) -> None:
    server = await serve([Sdm630Sim(unit_id=1), Sdm120Sim(unit_id=2), Sdm72Sim(unit_id=3)], framing)
    client = PlantClient(_endpoint(server, transport))
    try:
        devices = await client.probe([1, 2, 3])
        assert [(d.unit_id, d.profile) for d in devices] == [
            (1, "eastron_sdm630"),
            (2, "eastron_sdm120"),
            (3, "eastron_sdm72"),
        ]
        planned = client.planned_requests()
        assert planned == 1 + 2 + 2
        before = server.count()
        readings = await client.read()
        assert server.count() - before == planned
    finally:
        await client.close()

    for reading in readings:
        values = reading.values
        assert reading.status is DeviceStatus.RUNNING
        assert values[Quantity.GRID_POWER] == pytest.approx(STATE.grid_power, abs=0.01)
        assert values[Quantity.GRID_IMPORT_ENERGY_TOTAL] == pytest.approx(STATE.grid_import_energy_total)
        assert values[Quantity.GRID_EXPORT_ENERGY_TOTAL] == pytest.approx(STATE.grid_export_energy_total)
        assert values[Quantity.GRID_FREQUENCY] == pytest.approx(STATE.grid_frequency, abs=0.001)
        assert values[Quantity.GRID_VOLTAGE_L1] == pytest.approx(STATE.grid_voltage, abs=0.01)
        phases = [
            values.get(q) for q in (Quantity.GRID_POWER_L1, Quantity.GRID_POWER_L2, Quantity.GRID_POWER_L3)
        ]
        present = [p for p in phases if p is not None]
        assert sum(present) == pytest.approx(STATE.grid_power, abs=0.05)
        assert all(p < 0 for p in present)  # exporting on every phase
        current = values[Quantity.GRID_CURRENT_L1]
        assert current is not None
        assert current > 0  # currents are magnitudes


async def test_client_finds_meter_at_default_unit_after_other_families(serve: Serve) -> None:
    server = await serve([Sdm630Sim(unit_id=1)])
    client = PlantClient(_endpoint(server))
    try:
        (device,) = await client.probe()
    finally:
        await client.close()
    assert (device.profile, device.serial) == ("eastron_sdm630", "12345678")


async def test_import_shows_positive_on_the_meter(serve: Serve) -> None:
    meter = Sdm120Sim(unit_id=1)
    server = await serve([meter])
    importing = PlantState(now=STATE.now, grid_power=2500.0, grid_import_energy_total=10.0)
    meter.render(importing)
    client = PlantClient(_endpoint(server))
    try:
        await client.probe([1])
        (reading,) = await client.read()
    finally:
        await client.close()
    assert reading.values[Quantity.GRID_POWER] == 2500.0
    assert reading.values[Quantity.GRID_POWER_L1] == 2500.0
