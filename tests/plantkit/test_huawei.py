"""Huawei SUN2000 with its power meter and LUNA2000 battery: identification, decoding with Huawei's signs,
alarm bits, the connect delay, and reads through the simulator over loopback.

The simulator (``simulator/devices/huawei.py``) states Huawei's register map on its own, so a wrong
address, gain or sign in the profile shows up here as a wrong value.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import pytest

from custom_components.sems.plantkit.client import PlantClient
from custom_components.sems.plantkit.energy.spec import CounterWidth
from custom_components.sems.plantkit.exceptions import PlantTimeoutError, UnsupportedDeviceError
from custom_components.sems.plantkit.faults import UNKNOWN_FAULT
from custom_components.sems.plantkit.model import (
    DeviceIdentity,
    DeviceReading,
    DeviceStatus,
    MeterLocation,
    Quantity,
    Role,
)
from custom_components.sems.plantkit.profiles import (
    FAULT_SOURCES,
    PROFILES,
    VENDORS,
    identity_from_dict,
    profile_by_name,
)
from custom_components.sems.plantkit.profiles.base import UnitSession
from custom_components.sems.plantkit.profiles.huawei import CONNECT_DELAY, HUAWEI_PROFILES, VENDOR
from custom_components.sems.plantkit.profiles.huawei.profile import (
    HuaweiBatteryDetails,
    HuaweiInverterDetails,
    HuaweiMeterDetails,
    phases_of_model,
)
from custom_components.sems.plantkit.registers import DataType, RawValue, RegisterKind
from custom_components.sems.plantkit.transport import Endpoint, TransportType, create_transport
from simulator.devices.huawei import MODEL, HuaweiSun2000Sim
from simulator.physics import PlantConfig, PlantPhysics, PlantState
from simulator.server import SimServer

from .support import raw_codes

H = RegisterKind.HOLDING
INVERTER, BATTERY, METER = (
    profile_by_name(n) for n in ("huawei_sun2000", "huawei_sun2000_battery", "huawei_sun2000_meter")
)
NOON = datetime(2026, 6, 21, 12, 0)  # exporting, battery charging at full power
NIGHT = datetime(2026, 6, 21, 21, 0)  # with the battery held at its reserve: importing
EVENING = datetime(2026, 6, 21, 19, 0)  # the battery discharges into the house


def _inverter(phases: int = 3, strings: int = 2, *, battery: bool = True) -> DeviceIdentity:
    details = HuaweiInverterDetails(429, phases, strings, has_battery=battery)
    return DeviceIdentity(
        Role.INVERTER, INVERTER.name, 1, "Huawei", "SUN2000-10KTL-M1", "HV1", details=details
    )


BATTERY_ID = DeviceIdentity(
    Role.BATTERY,
    BATTERY.name,
    1,
    "Huawei",
    "LUNA2000",
    "LUNA1",
    via_serial="HV1",
    details=HuaweiBatteryDetails(2),
)


def _meter(phases: int = 3) -> DeviceIdentity:
    return DeviceIdentity(
        Role.METER,
        METER.name,
        1,
        "Huawei",
        "Power meter (three-phase)",
        "HV1",
        via_serial="HV1",
        details=HuaweiMeterDetails(phases),
        location=MeterLocation.GRID,
    )


# -- the registry and the vendor's hints ---------------------------------------------------------------------


def test_vendor_is_registered_with_its_hints() -> None:
    assert VENDORS[-1] is VENDOR
    assert [p.name for p in PROFILES][-3:] == [p.name for p in HUAWEI_PROFILES]
    assert VENDOR.tcp_ports == (502, 6607)  # SDongle, the inverter's own access point (older firmware)
    assert VENDOR.dhcp == ()
    assert INVERTER.default_units == (1, 0)  # SDongle: the inverter's address; access point: unit 0
    assert BATTERY.default_units == METER.default_units == ()  # found through the inverter
    for profile in HUAWEI_PROFILES:
        assert profile.transports == frozenset({TransportType.TCP})
        assert profile.connect_delay == CONNECT_DELAY == 1.0
    assert {s.name for s in VENDOR.fault_sources} <= {s.name for s in FAULT_SOURCES}


@pytest.mark.parametrize(
    ("model", "phases"),
    [
        ("SUN2000-10KTL-M1", 3),
        ("SUN2000-5KTL-L1", 1),
        ("SUN2000L-5KTL", 1),
        ("SUN2000-4.95KTL-JPL1", 1),
        ("SUN2000-7.6KTL-USL0", 1),
        ("SUN2000-100KTL-USH0", 3),
        ("SUN2000-60KTL-HV-D1", 3),
        ("SUN8000-500KTL", 3),
    ],
)
def test_phases_follow_the_model_name(model: str, phases: int) -> None:
    assert phases_of_model(model) == phases


# -- decoding with Huawei's signs (no I/O) -------------------------------------------------------------


def test_inverter_decodes_scales_and_string_powers() -> None:
    raw: dict[str, RawValue] = {
        "pv1_voltage": 4126,  # V, gain 10
        "pv1_current": 869,  # A, gain 100
        "pv2_voltage": 3885,
        "pv2_current": 755,
        "input_power": 6518,  # kW, gain 1000: whole watts
        "active_power": 1518,
        "grid_frequency": 4998,  # Hz, gain 100
        "internal_temperature": 493,  # degC, gain 10
        "phase_a_voltage": 2305,
        "phase_a_current": -2244,  # A, gain 1000; no direction documented: a magnitude
        "accumulated_yield": 1234560,  # kWh, gain 100
        "daily_yield": 2345,
        "device_status": 0x0200,
        "alarm_1": 0,
        "alarm_2": 0,
        "alarm_3": 0,
    }
    reading = INVERTER.decode(_inverter(), raw).tidied()
    v = reading.values
    assert v[Quantity.PV1_VOLTAGE] == 412.6
    assert v[Quantity.PV1_CURRENT] == 8.69
    assert v[Quantity.PV1_POWER] == pytest.approx(412.6 * 8.69, abs=0.05)
    assert v[Quantity.PV2_POWER] == pytest.approx(388.5 * 7.55, abs=0.05)
    assert v[Quantity.PV_POWER] == 6518.0
    assert v[Quantity.AC_POWER] == 1518.0  # + = output, as canonical
    assert v[Quantity.GRID_FREQUENCY] == 49.98
    assert v[Quantity.INVERTER_TEMPERATURE] == 49.3
    assert v[Quantity.GRID_VOLTAGE_L1] == 230.5
    assert v[Quantity.GRID_CURRENT_L1] == 2.244
    assert v[Quantity.GRID_VOLTAGE_L2] is None  # not in raw: unavailable, never 0
    assert v[Quantity.PV_ENERGY_TOTAL] == 12345.6
    assert v[Quantity.PV_ENERGY_TODAY] == 23.45
    assert Quantity.GRID_POWER not in v  # the meter carries the grid figures
    assert reading.status is DeviceStatus.RUNNING
    assert reading.faults == frozenset()


def test_single_phase_inverter_with_one_string_reads_the_grid_voltage_register() -> None:
    identity = _inverter(phases=1, strings=1)
    points = {p.key for p in INVERTER.points(identity)}
    assert {"grid_voltage", "grid_current"} <= points
    assert not points & {"phase_a_voltage", "phase_b_voltage", "pv2_voltage"}
    reading = INVERTER.decode(identity, {"grid_voltage": 2298, "grid_current": 21500})
    assert reading.values[Quantity.GRID_VOLTAGE_L1] == pytest.approx(229.8)
    assert reading.values[Quantity.GRID_CURRENT_L1] == pytest.approx(21.5)
    assert Quantity.GRID_VOLTAGE_L2 not in reading.values
    assert Quantity.PV2_POWER not in reading.values


def test_meter_turns_feed_in_into_negative_grid_power() -> None:
    raw: dict[str, RawValue] = {
        "meter_status": 1,
        "meter_active_power": 1200,  # W; > 0: feed-in to the grid
        "meter_power_a": 500,  # kW, gain 1000; > 0: feed-in
        "meter_power_b": -100,  # this phase draws from the grid
        "meter_power_c": 800,
        "meter_current_a": -217,  # A, gain 100; no direction documented: a magnitude
        "meter_voltage_a": 2301,
        "meter_frequency": 5002,
        "meter_exported": 678950,  # int32 x 0.01 kWh: fed to the grid
        "meter_imported": 432125,  # supplied from the grid
    }
    reading = METER.decode(_meter(), raw).tidied()
    v = reading.values
    assert v[Quantity.GRID_POWER] == -1200.0  # canonical + = import
    assert (v[Quantity.GRID_POWER_L1], v[Quantity.GRID_POWER_L2], v[Quantity.GRID_POWER_L3]) == (
        -500.0,
        100.0,
        -800.0,
    )
    assert v[Quantity.GRID_CURRENT_L1] == 2.17
    assert v[Quantity.GRID_VOLTAGE_L1] == 230.1
    assert v[Quantity.GRID_FREQUENCY] == 50.02
    assert v[Quantity.GRID_EXPORT_ENERGY_TOTAL] == 6789.5
    assert v[Quantity.GRID_IMPORT_ENERGY_TOTAL] == 4321.25
    assert reading.status is DeviceStatus.RUNNING
    assert METER.decode(_meter(), {"meter_status": 0}).status is DeviceStatus.FAULT  # offline
    assert METER.decode(_meter(), {}).status is DeviceStatus.UNKNOWN


def test_single_phase_meter_has_no_phases_b_and_c() -> None:
    reading = METER.decode(_meter(phases=1), {"meter_active_power": -300})
    assert reading.values[Quantity.GRID_POWER] == 300.0  # drawn from the grid: import
    assert Quantity.GRID_POWER_L2 not in reading.values
    assert "meter_voltage_b" not in {p.key for p in METER.points(_meter(phases=1))}


def test_battery_turns_charging_into_negative_battery_power() -> None:
    raw: dict[str, RawValue] = {
        "storage_power": 3000,  # kW, gain 1000; > 0: charging
        "storage_soc": 553,  # %, gain 10
        "storage_bus_voltage": 5140,  # V, gain 10
        "storage_status": 2,
        "storage_total_charge": 210000,  # u32 x 0.01 kWh
        "storage_total_discharge": 190050,
        "unit1_temperature": 241,  # degC, gain 10
    }
    reading = BATTERY.decode(BATTERY_ID, raw).tidied()
    v = reading.values
    assert v[Quantity.BATTERY_POWER] == -3000.0  # canonical + = discharge
    assert v[Quantity.BATTERY_SOC] == 55.3
    assert v[Quantity.BATTERY_VOLTAGE] == 514.0
    assert v[Quantity.BATTERY_CHARGE_ENERGY_TOTAL] == 2100.0
    assert v[Quantity.BATTERY_DISCHARGE_ENERGY_TOTAL] == 1900.5
    assert v[Quantity.BATTERY_TEMPERATURE] == 24.1
    assert reading.status is DeviceStatus.RUNNING
    discharging = BATTERY.decode(BATTERY_ID, {"storage_power": -1560}).values[Quantity.BATTERY_POWER]
    assert discharging == 1560.0


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (0x0000, DeviceStatus.STANDBY),
        (0x0003, DeviceStatus.STARTING),
        (0x0100, DeviceStatus.STARTING),
        (0x0200, DeviceStatus.RUNNING),
        (0x0201, DeviceStatus.THROTTLED),
        (0x0202, DeviceStatus.THROTTLED),
        (0x0300, DeviceStatus.FAULT),
        (0x0301, DeviceStatus.OFF),
        (0x0308, DeviceStatus.SLEEPING),
        (0xA000, DeviceStatus.SLEEPING),
        (0x1234, DeviceStatus.UNKNOWN),  # no code of the document
    ],
)
def test_device_status(code: int, status: DeviceStatus) -> None:
    assert INVERTER.decode(_inverter(), {"device_status": code}).status is status
    assert INVERTER.decode(_inverter(), {}).status is DeviceStatus.UNKNOWN


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (0, DeviceStatus.OFF),
        (1, DeviceStatus.STANDBY),
        (2, DeviceStatus.RUNNING),
        (3, DeviceStatus.FAULT),
        (4, DeviceStatus.SLEEPING),
    ],
)
def test_battery_status(code: int, status: DeviceStatus) -> None:
    assert BATTERY.decode(BATTERY_ID, {"storage_status": code}).status is status


def test_energy_counters_keep_their_widths() -> None:
    inverter = INVERTER.counter_widths(_inverter())
    assert inverter[Quantity.PV_ENERGY_TOTAL] == CounterWidth.for_dtype(DataType.U32, 0.01)
    assert inverter[Quantity.PV_ENERGY_TODAY] == CounterWidth.for_dtype(DataType.U32, 0.01)
    battery = BATTERY.counter_widths(BATTERY_ID)
    assert battery[Quantity.BATTERY_CHARGE_ENERGY_TOTAL] == CounterWidth.unsigned(32, 0.01)
    meter = METER.counter_widths(_meter())
    assert meter[Quantity.GRID_IMPORT_ENERGY_TOTAL] == CounterWidth.signed(32, 0.01)  # int32 in the document
    assert meter[Quantity.GRID_EXPORT_ENERGY_TOTAL].max_kwh == pytest.approx((2**31 - 1) * 0.01)


# -- alarm bits ---------------------------------------------------------------------------------------------

# Every bit of the three alarm words is named in the document ("Alarms via Modbus"); restated here.
DOCUMENTED = {f"huawei_alarm{word}:{bit}" for word in (1, 2, 3) for bit in range(16)}
BATTERY_BITS = {
    "huawei_alarm2:9",
    "huawei_alarm3:4",
    "huawei_alarm3:15",
}  # Battery abnormal, reverse, low capacity
SOURCES = {source.name: source for source in VENDOR.fault_sources}


def test_every_documented_alarm_bit_has_a_named_canonical_code() -> None:
    catalogue = {
        f"{name.replace('_battery', '')}:{bit}" for name, source in SOURCES.items() for bit in source.bits
    }
    assert catalogue == DOCUMENTED  # each bit once, on the inverter or the battery
    battery = {
        f"{name.replace('_battery', '')}:{bit}"
        for name, s in SOURCES.items()
        if s.role is Role.BATTERY
        for bit in s.bits
    }
    assert battery == BATTERY_BITS
    for source in SOURCES.values():
        assert all(code != UNKNOWN_FAULT for code in source.bits.values())


@pytest.mark.parametrize(
    ("word", "bit", "code"),
    [
        ("alarm_1", 0, "pv_over_voltage"),  # High String Input Voltage
        ("alarm_1", 7, "grid_loss"),
        ("alarm_1", 9, "grid_over_voltage"),
        ("alarm_1", 10, "grid_voltage_imbalance"),
        ("alarm_1", 15, "dc_injection_high"),
        ("alarm_2", 2, "insulation_resistance_low"),
        ("alarm_2", 3, "over_temperature"),
        ("alarm_2", 8, "meter_sensor_missing"),  # Faulty Power Collector
        ("alarm_3", 12, "meter_wiring_incorrect"),  # CT Wiring Abnormal
    ],
)
def test_alarm_bits_become_canonical_faults_of_the_inverter(word: str, bit: int, code: str) -> None:
    reading = INVERTER.decode(_inverter(), {word: 1 << bit})
    (fault,) = reading.faults
    assert fault.code == code
    assert str(fault.raw) == f"huawei_{word.replace('_', '')}:{bit}"


def test_battery_bits_are_the_battery_devices_when_there_is_one() -> None:
    raw: dict[str, RawValue] = {"alarm_1": 0, "alarm_2": 1 << 9 | 1 << 3, "alarm_3": 1 << 15 | 1 << 4}
    inverter = INVERTER.decode(_inverter(battery=True), raw)
    assert raw_codes(inverter) == {"huawei_alarm2:3"}  # over-temperature stays the inverter's
    battery = BATTERY.decode(BATTERY_ID, raw)
    assert raw_codes(battery) == {
        "huawei_battery_alarm2:9",
        "huawei_battery_alarm3:4",
        "huawei_battery_alarm3:15",
    }
    assert {f.code for f in battery.faults} == {
        "bms_other_warning",
        "battery_reverse_connection",
        "bms_soc_low_warning",
    }
    # Without a battery device nothing is lost: the bits stay on the inverter, as unknown faults.
    alone = INVERTER.decode(_inverter(battery=False), raw)
    assert raw_codes(alone) == {"huawei_alarm2:3", "huawei_alarm2:9", "huawei_alarm3:4", "huawei_alarm3:15"}
    assert {f.code for f in alone.faults if str(f.raw) != "huawei_alarm2:3"} == {UNKNOWN_FAULT}


# -- end to end through the simulator over loopback ----------------------------------------------------


@dataclass
class SimHuawei:
    """A simulated SUN2000 on a loopback server, with the physics that drives it."""

    physics: PlantPhysics
    device: HuaweiSun2000Sim
    server: SimServer

    def endpoint(self, **settings: float) -> Endpoint:
        return Endpoint(
            "127.0.0.1", self.server.port, TransportType.TCP, **{"timeout": 1.0, "retries": 0, **settings}
        )

    def client(self) -> PlantClient:
        return PlantClient(self.endpoint(), profiles=HUAWEI_PROFILES)

    def rerender(self) -> None:
        self.device.render(self.physics.state)


async def _serve(device: HuaweiSun2000Sim, physics: PlantPhysics) -> SimHuawei:
    device.render(physics.state)
    server = SimServer([device], "tcp")
    await server.start()
    return SimHuawei(physics, device, server)


@pytest.fixture
async def sun2000(socket_enabled: None) -> AsyncIterator[SimHuawei]:
    sim = await _serve(HuaweiSun2000Sim(), PlantPhysics(start=NOON))
    try:
        yield sim
    finally:
        await sim.server.stop()


async def test_probe_finds_inverter_battery_and_meter_without_a_dropped_request(sun2000: SimHuawei) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with sun2000.client() as client:
        inverter, battery, meter = await client.probe()
    assert loop.time() - started >= CONNECT_DELAY  # the first request waited for the device
    assert sun2000.server.dropped_early == 0
    assert (inverter.role, inverter.profile, inverter.unit_id) == (Role.INVERTER, "huawei_sun2000", 1)
    assert (inverter.manufacturer, inverter.model, inverter.serial) == (
        "Huawei",
        "SUN2000-10KTL-M1",
        "HV2240SIM001",
    )
    assert inverter.rated_power == 10000
    assert inverter.details.to_dict() == {"model_id": 429, "phases": 3, "pv_strings": 2, "has_battery": True}
    assert (battery.profile, battery.model, battery.serial) == (
        "huawei_sun2000_battery",
        "LUNA2000",
        "HVLUNA0SIM01",
    )
    assert battery.via_serial == meter.via_serial == "HV2240SIM001"
    assert (meter.profile, meter.model, meter.location) == (
        "huawei_sun2000_meter",
        "Power meter (three-phase)",
        MeterLocation.GRID,
    )
    assert len({inverter.key, battery.key, meter.key}) == 3
    for identity in (inverter, battery, meter):  # a stored identity comes back with its typed details
        assert identity_from_dict(identity.to_dict()) == identity


def _assert_matches(readings: list[DeviceReading], state: PlantState) -> None:
    by_role = {r.identity.role: r for r in readings}
    inverter, battery, meter = (by_role[role].values for role in (Role.INVERTER, Role.BATTERY, Role.METER))
    watt = 0.51  # powers are whole watts in the registers
    assert inverter[Quantity.PV_POWER] == pytest.approx(state.pv_power, abs=watt)
    assert inverter[Quantity.AC_POWER] == pytest.approx(state.ac_power, abs=watt)
    assert inverter[Quantity.PV1_POWER] == pytest.approx(state.pv1_power, abs=5.0)  # V x I of rounded values
    assert inverter[Quantity.GRID_VOLTAGE_L3] == pytest.approx(state.grid_voltage, abs=0.051)
    assert inverter[Quantity.GRID_FREQUENCY] == pytest.approx(state.grid_frequency, abs=0.0051)
    assert inverter[Quantity.INVERTER_TEMPERATURE] == pytest.approx(state.inverter_temperature, abs=0.051)
    assert inverter[Quantity.PV_ENERGY_TOTAL] == pytest.approx(state.pv_energy_total, abs=0.0051)
    assert inverter[Quantity.PV_ENERGY_TODAY] == pytest.approx(state.pv_energy_today, abs=0.0051)
    assert battery[Quantity.BATTERY_POWER] == pytest.approx(state.battery_power, abs=watt)
    assert battery[Quantity.BATTERY_SOC] == pytest.approx(state.battery_soc, abs=0.051)
    assert battery[Quantity.BATTERY_TEMPERATURE] == pytest.approx(state.battery_temperature, abs=0.051)
    assert battery[Quantity.BATTERY_CHARGE_ENERGY_TOTAL] == pytest.approx(
        state.battery_charge_energy_total, abs=0.0051
    )
    assert battery[Quantity.BATTERY_DISCHARGE_ENERGY_TOTAL] == pytest.approx(
        state.battery_discharge_energy_total, abs=0.0051
    )
    assert meter[Quantity.GRID_POWER] == pytest.approx(state.grid_power, abs=watt)
    phases = sum(
        meter[q] or 0.0 for q in (Quantity.GRID_POWER_L1, Quantity.GRID_POWER_L2, Quantity.GRID_POWER_L3)
    )
    assert phases == pytest.approx(state.grid_power, abs=3 * watt)
    assert all((meter[q] or 0.0) >= 0 for q in (Quantity.GRID_CURRENT_L1, Quantity.GRID_CURRENT_L2))
    assert meter[Quantity.GRID_IMPORT_ENERGY_TOTAL] == pytest.approx(
        state.grid_import_energy_total, abs=0.0051
    )
    assert meter[Quantity.GRID_EXPORT_ENERGY_TOTAL] == pytest.approx(
        state.grid_export_energy_total, abs=0.0051
    )
    asleep = state.pv_power == 0 and state.battery_power == 0  # Standby: no irradiation
    assert by_role[Role.INVERTER].status is (DeviceStatus.SLEEPING if asleep else DeviceStatus.RUNNING)
    assert by_role[Role.METER].status is DeviceStatus.RUNNING
    assert all(not r.faults for r in readings)


@pytest.mark.parametrize(
    ("start", "min_soc", "grid_sign", "battery_sign"),
    [
        (NOON, 10.0, -1, -1),  # export, charging
        (EVENING, 10.0, 0, 1),  # the battery covers the house
        (NIGHT, 60.0, 1, 0),  # battery at its reserve: import
    ],
)
async def test_reads_match_the_plant_in_planned_requests(
    sun2000: SimHuawei, start: datetime, min_soc: float, grid_sign: int, battery_sign: int
) -> None:
    sun2000.physics = PlantPhysics(PlantConfig(battery_min_soc=min_soc), start=start)
    sun2000.rerender()
    state = sun2000.physics.state
    assert (state.grid_power > 0) - (state.grid_power < 0) == grid_sign  # the moment shows what we test
    assert (state.battery_power > 0) - (state.battery_power < 0) == battery_sign
    async with sun2000.client() as client:
        await client.probe()
        sun2000.server.requests.clear()
        readings = await client.read()
        # 32008-32019, 32064-32115, 37022, 37100-37137, 37760-37783
        assert client.planned_requests() == sun2000.server.count() == 5
    _assert_matches(readings, state)


async def test_injected_faults_reach_their_devices(sun2000: SimHuawei) -> None:
    async with sun2000.client() as client:
        await client.probe()
        sun2000.physics.state.faults |= {"over_temperature", "grid_loss", "bms_alarm", "meter_comm_lost"}
        sun2000.rerender()
        readings = {r.identity.role: r for r in await client.read()}
    assert raw_codes(readings[Role.INVERTER]) == {"huawei_alarm1:7", "huawei_alarm2:3", "huawei_alarm2:8"}
    assert readings[Role.INVERTER].status is DeviceStatus.FAULT
    assert raw_codes(readings[Role.BATTERY]) == {"huawei_battery_alarm2:9", "huawei_battery_alarm3:15"}
    assert readings[Role.METER].status is DeviceStatus.FAULT  # the meter went offline


async def test_probe_through_the_full_registry_after_a_dropped_first_request(sun2000: SimHuawei) -> None:
    """Other families probe unit 1 first, on a young connection: the device drops that request, the
    transport's retry (as in the setup dialog's probe) gets the answer, and the Huawei profile finds it."""
    endpoint = sun2000.endpoint(retries=1)
    async with PlantClient(endpoint) as client:
        devices = await client.probe()
        assert client.transport.connect_delay == CONNECT_DELAY
    assert [d.profile for d in devices] == [p.name for p in HUAWEI_PROFILES]
    assert sun2000.server.dropped_early == 1  # SunSpec's first request


async def test_without_battery_or_meter_only_the_inverter_is_found(socket_enabled: None) -> None:
    sim = await _serve(HuaweiSun2000Sim(has_battery=False, has_meter=False), PlantPhysics(start=NOON))
    try:
        async with sim.client() as client:
            (inverter,) = await client.probe()
        assert inverter.details.to_dict()["has_battery"] is False
    finally:
        await sim.server.stop()


async def test_access_point_answers_at_unit_0(socket_enabled: None) -> None:
    """The inverter's own access point (port 6607 on older firmware) serves unit 0: the probe gets there."""
    sim = await _serve(
        HuaweiSun2000Sim(unit_id=0, model="SUN2000-5KTL-L1", phases=1), PlantPhysics(start=NOON)
    )
    try:
        async with sim.client() as client:
            inverter, battery, meter = await client.probe()
            readings = {r.identity.role: r.values for r in await client.read()}
        assert (inverter.unit_id, inverter.details.to_dict()["phases"]) == (0, 1)
        assert meter.model == "Power meter (single-phase)"
        assert readings[Role.INVERTER][Quantity.GRID_VOLTAGE_L1] == pytest.approx(
            sim.physics.state.grid_voltage, abs=0.051
        )
        assert readings[Role.METER][Quantity.GRID_POWER] == pytest.approx(
            sim.physics.state.grid_power, abs=0.51
        )
        assert Quantity.GRID_POWER_L2 not in readings[Role.METER]
    finally:
        await sim.server.stop()


async def test_other_devices_at_30000_are_no_huawei(sun2000: SimHuawei) -> None:
    sun2000.device.image.set(MODEL, "GW10K-DT")  # what another vendor's block might hold there
    async with create_transport(sun2000.endpoint(connect_delay=CONNECT_DELAY)) as transport:
        session = UnitSession(transport, 1)
        with pytest.raises(UnsupportedDeviceError, match="no Huawei inverter model"):
            await INVERTER.identify(session)
        sun2000.device.image.refused.add((H, 30000))  # a device without the register
        with pytest.raises(UnsupportedDeviceError, match="no Huawei model register"):
            await INVERTER.identify(session)


# -- the connect delay ---------------------------------------------------------------------------------------


async def test_a_request_right_after_the_connect_is_dropped(sun2000: SimHuawei) -> None:
    """What the delay is for: without it the device does not answer the first request."""
    async with create_transport(sun2000.endpoint(timeout=0.2)) as transport:
        with pytest.raises(PlantTimeoutError):
            await transport.read_registers(1, H, 30000, 15)
    assert sun2000.server.dropped_early == 1


async def test_stored_devices_read_at_once_after_the_delay(sun2000: SimHuawei) -> None:
    """Devices from storage (no probe): the client takes the delay from their profiles."""
    async with sun2000.client() as client:
        devices = await client.probe()
    sun2000.server.requests.clear()
    async with sun2000.client() as client:
        client.devices = [identity_from_dict(d.to_dict()) for d in devices]
        assert client.transport.connect_delay == CONNECT_DELAY
        readings = await client.read()
    assert len(readings) == 3
    assert sun2000.server.dropped_early == 0
