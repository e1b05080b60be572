"""GoodWe profiles: family tags, decoding with GoodWe's signs, and the simulated ET/DT end to end.

End-to-end tests run the real client and transports against the simulator on loopback, over Modbus TCP
and over GoodWe's UDP framing (RTU request, AA55-prefixed reply).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import pytest

from custom_components.sems.plantkit.client import PlantClient
from custom_components.sems.plantkit.exceptions import ModbusExceptionError, UnsupportedDeviceError
from custom_components.sems.plantkit.model import (
    DeviceIdentity,
    DeviceReading,
    DeviceStatus,
    Quantity,
    Role,
)
from custom_components.sems.plantkit.profiles import PROFILES, profile_by_name
from custom_components.sems.plantkit.profiles.base import Profile, UnitSession
from custom_components.sems.plantkit.profiles.goodwe.profile import (
    ET_UNIT_ID,
    GOODWE_POLL_SECONDS,
    GOODWE_PROFILES,
    Family,
    GoodWeDtProfile,
    GoodWeEtBatteryProfile,
    GoodWeEtMeterProfile,
    GoodWeEtProfile,
    family_of_serial,
)
from custom_components.sems.plantkit.registers import Point, RawValue, RegisterKind, decode
from custom_components.sems.plantkit.transport import Endpoint, TransportType
from simulator.devices.goodwe import (
    FAULT_BATTERY_ALARM,
    FAULT_INVERTER,
    FAULT_METER_OFFLINE,
    GoodWeDtSim,
    GoodWeEtSim,
)
from simulator.physics import PlantConfig, PlantPhysics, PlantState
from simulator.server import SimServer

from .support import raw_codes

H = RegisterKind.HOLDING
ET = GoodWeEtProfile()
ET_BATTERY = GoodWeEtBatteryProfile()
ET_METER = GoodWeEtMeterProfile()
DT = GoodWeDtProfile()
FRAMINGS = {"tcp": TransportType.TCP, "udp": TransportType.UDP}


# -- family tags -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("serial", "family"),
    [
        ("9010KETU000W0000", Family.ET),  # ET, tag at its usual place
        ("95000BTU203W0000", Family.ET),  # BT
        ("9020KETT232W0000", Family.ET),  # ET high-voltage platform
        ("00000HSB00000000", Family.ET),  # EH rebrand
        ("56000ESN00AW0000", Family.ET),  # ES gen 2 speaks the ET register map
        ("95048ESU227W0000", Family.ES),  # legacy ES: AA55 only
        ("00000DTS00000000", Family.DT),
        ("5010KMSC000W0000", Family.DT),  # third-generation MS
        ("5050KMTO233W0000", Family.DT),  # no tag at the usual place; "KMT" found elsewhere
        ("5020KDTB233W0000", None),  # an unlisted tag: the answering block decides
        ("", None),
    ],
)
def test_family_of_serial(serial: str, family: Family | None) -> None:
    assert family_of_serial(serial) is family


def test_profile_registry_and_defaults() -> None:
    assert [p.name for p in GOODWE_PROFILES] == [
        "goodwe_et",
        "goodwe_dt",
        "goodwe_et_battery",
        "goodwe_et_meter",
    ]
    assert all(p in PROFILES for p in GOODWE_PROFILES)
    assert ET.default_units == (247,)
    assert DT.default_units == (127,)
    assert ET_BATTERY.default_units == ET_METER.default_units == ()
    assert all(p.default_poll_seconds == GOODWE_POLL_SECONDS == 30 for p in GOODWE_PROFILES)
    assert all(
        TransportType.UDP in p.transports and TransportType.TCP in p.transports for p in GOODWE_PROFILES
    )


# -- decoding hand-built register words ----------------------------------------------------------------------


_DETAIL_DEFAULTS = {
    "goodwe_et": {"family_tag": "ETU"},
    "goodwe_dt": {"family_tag": "DTU"},
    "goodwe_et_meter": {"totals": "float"},
}


def _identity(profile: str, role: Role, **details: int) -> DeviceIdentity:
    """An identity whose typed details the profile parses from ``details`` (as from storage)."""
    stored = {**_DETAIL_DEFAULTS.get(profile, {}), **details}
    parsed = profile_by_name(profile).details_from(stored)
    return DeviceIdentity(role, profile, ET_UNIT_ID, "GoodWe", "GW10K-ET", "9010KETU000W0000", details=parsed)


def _raw(points: tuple[Point, ...] | list[Point], words: Mapping[int, int]) -> dict[str, RawValue]:
    """Decode points from raw register words as the client does; registers not given read as 0."""
    return {
        p.key: decode(p, [words.get(a, 0) for a in range(p.address, p.address + p.count)]) for p in points
    }


def _decode(profile: Profile, identity: DeviceIdentity, words: Mapping[int, int]) -> DeviceReading:
    return profile.decode(identity, _raw(list(profile.points(identity)), words))


# The words of a sunny moment at a hybrid that exports 1200 W and charges its battery with 3000 W.
ET_WORDS: dict[int, int] = {
    35103: 3982, 35104: 78, 35105: 0, 35106: 3100,  # PV1: 398.2 V, 7.8 A, 3100 W (u32)
    35107: 3650, 35108: 66, 35109: 0, 35110: 2400,  # PV2
    35111: 0xFFFF, 35112: 0xFFFF, 35113: 0xFFFF, 35114: 0xFFFF,  # PV3 undefined (all ones)
    35121: 2318, 35122: 78, 35123: 5002,  # L1 231.8 V, 7.8 A, 50.02 Hz
    35126: 2325, 35127: 77, 35131: 2309, 35132: 79,
    35138: 2500,  # AC output: PV minus what goes into the battery
    35140: 1200,  # grid: + = export (GoodWe)
    35172: 1300,  # house load
    35174: 0xFFFF, 35176: 452,  # air sensor -1 = none; radiator 45.2 °C
    35180: 521, 35181: 0xFFC4, 35182: 0xFFFF, 35183: 0xF448,  # 52.1 V, -6.0 A, -3000 W (s32)
    35184: 3,  # battery charging
    35185: 0b100,  # warning bit 2
    35187: 1,  # Normal (on grid)
    35189: 0x8000, 35190: 0x2000,  # error bits 31 and 13
    35191: 0x0001, 35192: 0xE240,  # 123456 -> 12345.6 kWh
    35193: 0, 35194: 251,  # 25.1 kWh today
    35195: 1, 35196: 2354,  # 67890 -> export 6789.0 kWh
    35200: 0, 35201: 43210,  # import 4321.0 kWh
    35203: 0, 35204: 9100,  # load 910.0 kWh
    35206: 0, 35207: 21000, 35209: 0, 35210: 19000,  # battery charge / discharge totals
    37003: 0x7FFF,  # battery temperature: 32767 = no sensor
    37006: 0b100, 37012: 0x0001,  # BMS alarm low bit 2, high word bit 0 -> bit 16
    37007: 56, 37008: 98,
    37010: 0, 37013: 0,
    36003: 1, 36004: 1, 36014: 4998,
    36015: 0x4ACF, 36016: 0x2F10,  # float32 6789000.0 Wh exported -> 6789.0 kWh
    36017: 0x4A83, 36018: 0xDE20,  # float32 4321040.0 Wh imported
    36019: 0, 36020: 408, 36021: 0, 36022: 396, 36023: 0, 36024: 396,
    36025: 0, 36026: 1200,  # meter total: + = export
}  # fmt: skip


def test_et_inverter_without_meter_turns_export_into_negative_grid_power() -> None:
    reading = _decode(ET, _identity("goodwe_et", Role.INVERTER, has_meter=0, ac_type=1), ET_WORDS)
    v = reading.values
    assert v[Quantity.GRID_POWER] == -1200.0  # exported: canonical + = import
    assert v[Quantity.PV_POWER] == 5500.0  # 3100 + 2400; the undefined third string is skipped
    assert v[Quantity.PV1_VOLTAGE] == pytest.approx(398.2)
    assert v[Quantity.PV1_CURRENT] == pytest.approx(7.8)
    assert v[Quantity.AC_POWER] == 2500.0
    assert v[Quantity.LOAD_POWER] == 1300.0
    assert v[Quantity.GRID_FREQUENCY] == pytest.approx(50.02)
    assert v[Quantity.GRID_VOLTAGE_L3] == pytest.approx(230.9)
    assert v[Quantity.INVERTER_TEMPERATURE] == pytest.approx(45.2)
    assert v[Quantity.PV_ENERGY_TOTAL] == pytest.approx(12345.6)
    assert v[Quantity.PV_ENERGY_TODAY] == pytest.approx(25.1)
    assert v[Quantity.GRID_EXPORT_ENERGY_TOTAL] == pytest.approx(6789.0)
    assert v[Quantity.GRID_IMPORT_ENERGY_TOTAL] == pytest.approx(4321.0)
    assert v[Quantity.LOAD_ENERGY_TOTAL] == pytest.approx(910.0)
    assert reading.status is DeviceStatus.RUNNING
    assert raw_codes(reading) == {"goodwe_error:13", "goodwe_error:31", "goodwe_warning:2"}


def test_et_inverter_with_meter_leaves_grid_figures_to_the_meter() -> None:
    reading = _decode(ET, _identity("goodwe_et", Role.INVERTER, has_meter=1, ac_type=1), ET_WORDS)
    for quantity in (
        Quantity.GRID_POWER,
        Quantity.GRID_IMPORT_ENERGY_TOTAL,
        Quantity.GRID_EXPORT_ENERGY_TOTAL,
    ):
        assert quantity not in reading.values


def test_et_single_phase_has_no_l2_l3_values() -> None:
    reading = _decode(ET, _identity("goodwe_et", Role.INVERTER, has_meter=1, ac_type=0), ET_WORDS)
    assert Quantity.GRID_VOLTAGE_L1 in reading.values
    assert Quantity.GRID_VOLTAGE_L2 not in reading.values
    assert Quantity.GRID_CURRENT_L3 not in reading.values


def test_et_meter_signs_float_energies_and_status() -> None:
    identity = _identity("goodwe_et_meter", Role.METER, meter_type=2)
    reading = _decode(ET_METER, identity, ET_WORDS)
    v = reading.values
    assert v[Quantity.GRID_POWER] == -1200.0
    assert v[Quantity.GRID_POWER_L1] == -408.0
    assert v[Quantity.GRID_EXPORT_ENERGY_TOTAL] == pytest.approx(6789.0)
    assert v[Quantity.GRID_IMPORT_ENERGY_TOTAL] == pytest.approx(4321.04)
    assert v[Quantity.GRID_FREQUENCY] == pytest.approx(49.98)
    assert reading.status is DeviceStatus.RUNNING
    assert reading.faults == frozenset()

    importing = {**ET_WORDS, 36025: 0xFFFF, 36026: 0xFC18, 36004: 0, 36003: 2}  # -1000 W = import
    reading = _decode(ET_METER, identity, importing)
    assert reading.values[Quantity.GRID_POWER] == 1000.0
    assert reading.status is DeviceStatus.FAULT  # meter communication lost
    assert raw_codes(reading) == {"goodwe_meter_test:2"}  # CT reversed

    nan = {**ET_WORDS, 36015: 0x7FC0, 36016: 0}
    assert _decode(ET_METER, identity, nan).values[Quantity.GRID_EXPORT_ENERGY_TOTAL] is None


def test_et_battery_keeps_discharge_positive() -> None:
    identity = _identity("goodwe_et_battery", Role.BATTERY)
    reading = _decode(ET_BATTERY, identity, ET_WORDS)
    v = reading.values
    assert v[Quantity.BATTERY_POWER] == -3000.0  # charging
    assert v[Quantity.BATTERY_CURRENT] == pytest.approx(-6.0)
    assert v[Quantity.BATTERY_VOLTAGE] == pytest.approx(52.1)
    assert v[Quantity.BATTERY_SOC] == 56.0
    assert v[Quantity.BATTERY_SOH] == 98.0
    assert v[Quantity.BATTERY_TEMPERATURE] is None  # 32767: no sensor
    assert v[Quantity.BATTERY_CHARGE_ENERGY_TOTAL] == pytest.approx(2100.0)
    assert v[Quantity.BATTERY_DISCHARGE_ENERGY_TOTAL] == pytest.approx(1900.0)
    assert reading.status is DeviceStatus.RUNNING
    assert raw_codes(reading) == {"goodwe_bms_alarm:2", "goodwe_bms_alarm:16"}

    discharging = {**ET_WORDS, 35182: 0, 35183: 2000, 35184: 2, 37006: 0, 37012: 0, 37013: 0x0100}
    reading = _decode(ET_BATTERY, identity, discharging)
    assert reading.values[Quantity.BATTERY_POWER] == 2000.0
    assert raw_codes(reading) == {"goodwe_bms_warning:24"}


@pytest.mark.parametrize(
    ("work_mode", "status"),
    [
        (0, DeviceStatus.STANDBY),
        (1, DeviceStatus.RUNNING),
        (2, DeviceStatus.RUNNING),
        (3, DeviceStatus.FAULT),
        (4, DeviceStatus.UNKNOWN),
        (5, DeviceStatus.STARTING),
        (9, DeviceStatus.UNKNOWN),
        (0xFFFF, DeviceStatus.UNKNOWN),
    ],
)
def test_et_work_modes(work_mode: int, status: DeviceStatus) -> None:
    identity = _identity("goodwe_et", Role.INVERTER, has_meter=0)
    assert _decode(ET, identity, {**ET_WORDS, 35187: work_mode}).status is status


def test_unavailable_values_are_none_not_numbers() -> None:
    undefined = dict.fromkeys(range(35100, 35225), 0xFFFF)
    reading = _decode(ET, _identity("goodwe_et", Role.INVERTER, has_meter=0), undefined)
    v = reading.values
    assert v[Quantity.PV_POWER] is None
    assert v[Quantity.PV_ENERGY_TOTAL] is None
    assert v[Quantity.INVERTER_TEMPERATURE] is None  # -1 on both sensors
    assert v[Quantity.GRID_POWER] == 1.0  # s16 0xFFFF is a real -1 W (1 W import), not "undefined"
    assert reading.status is DeviceStatus.UNKNOWN
    assert reading.faults == frozenset()


def test_dt_pv_power_is_voltage_times_current() -> None:
    words = {
        30103: 4000, 30104: 85,  # 400.0 V x 8.5 A
        30105: 3800, 30106: 0xFFFF,  # current undefined: string left out
        30118: 2300, 30121: 148, 30124: 5001,
        30127: 0, 30128: 3350,
        30129: 0, 30130: 0, 30131: 1 << 9, 30132: 0,
        30141: 381, 30144: 123, 30145: 0, 30146: 45678,
    }  # fmt: skip
    identity = DeviceIdentity(
        Role.INVERTER,
        "goodwe_dt",
        127,
        "GoodWe",
        "GW5000D-NS",
        "5050KDSN000W0000",
        details=DT.details_from({"family_tag": "DSN", "phases": 1}),
    )
    reading = _decode(DT, identity, words)
    v = reading.values
    assert v[Quantity.PV_POWER] == pytest.approx(3400.0)
    assert v[Quantity.PV1_POWER] == pytest.approx(3400.0)
    assert v[Quantity.PV2_POWER] is None
    assert v[Quantity.AC_POWER] == 3350.0
    assert v[Quantity.GRID_CURRENT_L1] == pytest.approx(14.8)
    assert Quantity.GRID_VOLTAGE_L2 not in v  # single phase
    assert v[Quantity.INVERTER_TEMPERATURE] == pytest.approx(38.1)
    assert v[Quantity.PV_ENERGY_TODAY] == pytest.approx(12.3)
    assert v[Quantity.PV_ENERGY_TOTAL] == pytest.approx(4567.8)
    assert reading.status is DeviceStatus.STANDBY  # Wait
    assert raw_codes(reading) == {"goodwe_dt_error:9"}


# -- end to end over loopback --------------------------------------------------------------------------------


@dataclass
class SimEndpoint:
    """A simulated device on a loopback server, with the physics that drives it."""

    physics: PlantPhysics
    device: GoodWeEtSim | GoodWeDtSim
    server: SimServer
    transport: TransportType

    @property
    def state(self) -> PlantState:
        return self.physics.state

    def client(self, profiles: Sequence[Profile] | None = GOODWE_PROFILES) -> PlantClient:
        endpoint = Endpoint("127.0.0.1", self.server.port, self.transport, timeout=0.3, retries=0)
        return PlantClient(endpoint, profiles=profiles)

    def rerender(self) -> None:
        self.device.render(self.physics.state)


NOON = datetime(2026, 6, 21, 12, 0, 0)  # exporting, battery charging at full power
EVENING = datetime(2026, 6, 21, 19, 0, 0)  # battery discharging into the house
NIGHT = datetime(2026, 6, 21, 21, 0, 0)  # with the battery held at its reserve: importing


async def _serve(device: GoodWeEtSim | GoodWeDtSim, framing: str, physics: PlantPhysics) -> SimEndpoint:
    device.render(physics.state)
    server = SimServer([device], framing)
    await server.start()
    return SimEndpoint(physics, device, server, FRAMINGS[framing])


@pytest.fixture(params=["tcp", "udp"])
async def et(request: pytest.FixtureRequest, socket_enabled: None) -> AsyncIterator[SimEndpoint]:
    sim = await _serve(GoodWeEtSim(), request.param, PlantPhysics(start=NOON))
    try:
        yield sim
    finally:
        await sim.server.stop()


@pytest.fixture(params=["tcp", "udp"])
async def dt(request: pytest.FixtureRequest, socket_enabled: None) -> AsyncIterator[SimEndpoint]:
    sim = await _serve(GoodWeDtSim(), request.param, PlantPhysics(start=NOON))
    try:
        yield sim
    finally:
        await sim.server.stop()


async def test_et_probe_finds_inverter_battery_and_meter(et: SimEndpoint) -> None:
    async with et.client() as client:
        inverter, battery, meter = await client.probe()
    serial = "9010KETU000SIM01"
    assert (inverter.role, inverter.profile, inverter.unit_id) == (Role.INVERTER, "goodwe_et", 247)
    assert (inverter.manufacturer, inverter.model, inverter.serial) == ("GoodWe", "GW10K-ET", serial)
    assert inverter.firmware == "04029-08-S11 (ARM 02041-19-S00)"
    assert inverter.rated_power == 10000
    assert inverter.details.to_dict() == {"family_tag": "ETU", "phases": 3, "has_meter": True}
    assert (battery.role, battery.profile, battery.via_serial) == (Role.BATTERY, "goodwe_et_battery", serial)
    assert (meter.role, meter.profile, meter.via_serial) == (Role.METER, "goodwe_et_meter", serial)
    assert meter.model == "Smart meter (three phase, 4 wire)"
    assert len({inverter.key, battery.key, meter.key}) == 3


async def test_decode_only_profiles_identify_nothing_and_send_nothing(et: SimEndpoint) -> None:
    async with et.client() as client:
        session = UnitSession(client.transport, ET_UNIT_ID)
        for profile in (ET_BATTERY, ET_METER):
            with pytest.raises(UnsupportedDeviceError):
                await profile.identify(session)
    assert et.server.count() == 0


async def test_et_probe_through_the_full_profile_registry(et: SimEndpoint) -> None:
    async with et.client(profiles=None) as client:
        devices = await client.probe()
    assert [d.profile for d in devices] == ["goodwe_et", "goodwe_et_battery", "goodwe_et_meter"]


def _assert_et_matches(readings: list[DeviceReading], state: PlantState) -> None:
    by_role = {r.identity.role: r for r in readings}
    inverter = by_role[Role.INVERTER].values
    battery = by_role[Role.BATTERY].values
    meter = by_role[Role.METER].values
    watt = 0.51  # powers are whole watts in the registers
    assert inverter[Quantity.PV_POWER] == pytest.approx(state.pv_power, abs=2 * watt)  # two strings
    assert inverter[Quantity.PV1_POWER] == pytest.approx(state.pv1_power, abs=watt)
    assert inverter[Quantity.AC_POWER] == pytest.approx(state.ac_power, abs=watt)
    assert inverter[Quantity.LOAD_POWER] == pytest.approx(state.load_power, abs=watt)
    assert inverter[Quantity.GRID_VOLTAGE_L1] == pytest.approx(state.grid_voltage, abs=0.051)
    assert inverter[Quantity.GRID_FREQUENCY] == pytest.approx(state.grid_frequency, abs=0.0051)
    assert inverter[Quantity.INVERTER_TEMPERATURE] == pytest.approx(state.inverter_temperature, abs=0.051)
    assert inverter[Quantity.PV_ENERGY_TOTAL] == pytest.approx(state.pv_energy_total, abs=0.051)
    assert inverter[Quantity.PV_ENERGY_TODAY] == pytest.approx(state.pv_energy_today, abs=0.051)
    assert inverter[Quantity.LOAD_ENERGY_TOTAL] == pytest.approx(state.load_energy_total, abs=0.051)
    assert Quantity.GRID_POWER not in inverter  # the meter carries it
    assert battery[Quantity.BATTERY_POWER] == pytest.approx(state.battery_power, abs=watt)
    assert battery[Quantity.BATTERY_SOC] == pytest.approx(state.battery_soc, abs=0.51)
    assert battery[Quantity.BATTERY_SOH] == pytest.approx(state.battery_soh, abs=0.51)
    assert battery[Quantity.BATTERY_VOLTAGE] == pytest.approx(state.battery_voltage, abs=0.051)
    assert battery[Quantity.BATTERY_TEMPERATURE] == pytest.approx(state.battery_temperature, abs=0.051)
    assert battery[Quantity.BATTERY_CHARGE_ENERGY_TOTAL] == pytest.approx(
        state.battery_charge_energy_total, abs=0.051
    )
    assert battery[Quantity.BATTERY_DISCHARGE_ENERGY_TOTAL] == pytest.approx(
        state.battery_discharge_energy_total, abs=0.051
    )
    assert meter[Quantity.GRID_POWER] == pytest.approx(state.grid_power, abs=watt)
    phases = sum(
        meter[q] or 0.0 for q in (Quantity.GRID_POWER_L1, Quantity.GRID_POWER_L2, Quantity.GRID_POWER_L3)
    )
    assert phases == pytest.approx(state.grid_power, abs=3 * watt)
    assert meter[Quantity.GRID_IMPORT_ENERGY_TOTAL] == pytest.approx(
        state.grid_import_energy_total, abs=0.001
    )
    assert meter[Quantity.GRID_EXPORT_ENERGY_TOTAL] == pytest.approx(
        state.grid_export_energy_total, abs=0.001
    )
    assert by_role[Role.INVERTER].status is by_role[Role.METER].status is DeviceStatus.RUNNING
    idle = state.battery_power == 0
    assert by_role[Role.BATTERY].status is (DeviceStatus.STANDBY if idle else DeviceStatus.RUNNING)
    assert all(not r.faults for r in readings)


@pytest.mark.parametrize(
    ("start", "min_soc", "grid_sign", "battery_sign"),
    [
        (NOON, 10.0, -1, -1),  # export, charging
        (EVENING, 10.0, 0, 1),  # self-consumption from the battery
        (NIGHT, 60.0, 1, 0),  # battery at reserve: import
    ],
)
async def test_et_read_matches_the_plant_in_planned_requests(
    et: SimEndpoint, start: datetime, min_soc: float, grid_sign: int, battery_sign: int
) -> None:
    et.physics = PlantPhysics(PlantConfig(battery_min_soc=min_soc), start=start)
    et.rerender()
    state = et.state
    assert (state.grid_power > 0) - (state.grid_power < 0) == grid_sign  # the moment shows what we test
    assert (state.battery_power > 0) - (state.battery_power < 0) == battery_sign
    async with et.client() as client:
        await client.probe()
        et.server.requests.clear()
        readings = await client.read()
        assert client.planned_requests() == 3  # running block, meter block, BMS block
        assert et.server.count() == 3
    _assert_et_matches(readings, state)


async def test_et_follows_the_plant_over_time(et: SimEndpoint) -> None:
    async with et.client() as client:
        await client.probe()
        first = {r.identity.role: r.values for r in await client.read()}
        et.physics.advance(3 * 3600)
        et.rerender()
        readings = await client.read()
    _assert_et_matches(readings, et.state)
    later = {r.identity.role: r.values for r in readings}
    assert (later[Role.INVERTER][Quantity.PV_ENERGY_TOTAL] or 0) > (
        first[Role.INVERTER][Quantity.PV_ENERGY_TOTAL] or 0
    )
    assert later[Role.BATTERY][Quantity.BATTERY_SOC] != first[Role.BATTERY][Quantity.BATTERY_SOC]


async def test_et_injected_faults_show_as_raw_codes(et: SimEndpoint) -> None:
    async with et.client() as client:
        await client.probe()
        et.state.faults.update({FAULT_INVERTER, FAULT_BATTERY_ALARM, FAULT_METER_OFFLINE})
        et.rerender()
        by_role = {r.identity.role: r for r in await client.read()}
    assert by_role[Role.INVERTER].status is DeviceStatus.FAULT
    assert raw_codes(by_role[Role.INVERTER]) == {"goodwe_error:13"}
    assert raw_codes(by_role[Role.BATTERY]) == {"goodwe_bms_alarm:2", "goodwe_bms_warning:8"}
    assert by_role[Role.METER].status is DeviceStatus.FAULT


async def test_et_reads_outside_the_real_blocks_are_refused(et: SimEndpoint) -> None:
    async with et.client() as client:
        assert len(await client.transport.read_registers(ET_UNIT_ID, H, 35100, 125)) == 125
        for address, count in ((35224, 2), (35099, 1), (36045, 1), (37023, 2), (34999, 2)):
            with pytest.raises(ModbusExceptionError) as caught:
                await client.transport.read_registers(ET_UNIT_ID, H, address, count)
            assert caught.value.code == ModbusExceptionError.ILLEGAL_DATA_ADDRESS


async def test_et_without_battery_or_meter(socket_enabled: None) -> None:
    device = GoodWeEtSim(has_battery=False, has_meter=False)
    sim = await _serve(device, "tcp", PlantPhysics(start=NOON))
    try:
        async with sim.client() as client:
            [inverter] = await client.probe()
            assert inverter.details.to_dict()["has_meter"] is False
            sim.server.requests.clear()
            [reading] = await client.read()
            assert sim.server.count() == client.planned_requests() == 1
    finally:
        await sim.server.stop()
    # Without a meter the inverter's own grid figure is the grid power, sign turned to + = import.
    assert reading.values[Quantity.GRID_POWER] == pytest.approx(sim.state.grid_power, abs=0.51)
    assert reading.values[Quantity.GRID_EXPORT_ENERGY_TOTAL] == pytest.approx(
        sim.state.grid_export_energy_total, abs=0.051
    )


async def test_et_block_with_a_dt_serial_is_rejected(socket_enabled: None) -> None:
    sim = await _serve(GoodWeEtSim(serial="5015KDTU000SIM01"), "tcp", PlantPhysics(start=NOON))
    try:
        async with sim.client() as client:
            with pytest.raises(UnsupportedDeviceError):
                await client.probe(unit_ids=[ET_UNIT_ID])
    finally:
        await sim.server.stop()


async def test_dt_probe_and_read(dt: SimEndpoint) -> None:
    async with dt.client() as client:
        [inverter] = await client.probe()  # on UDP unit 247 stays silent first, as a real dongle does
        assert (inverter.profile, inverter.unit_id, inverter.model) == ("goodwe_dt", 127, "GW15K-DT")
        assert inverter.serial == "5015KDTU000SIM01"
        assert inverter.firmware == "15.15.10"
        assert inverter.details.to_dict()["phases"] == 3
        dt.server.requests.clear()
        [reading] = await client.read()
        assert dt.server.count() == client.planned_requests() == 1
    state = dt.state
    v = reading.values
    # V x I from 0.1 V / 0.1 A registers: each string may be off by about 0.05 x (V + I).
    tolerance = sum(0.05 * (volts + 20) for volts in (state.pv1_voltage, state.pv2_voltage))
    assert v[Quantity.PV_POWER] == pytest.approx(state.pv_power, abs=tolerance)
    assert v[Quantity.AC_POWER] == pytest.approx(state.pv_power, abs=0.51)
    assert v[Quantity.GRID_VOLTAGE_L2] == pytest.approx(state.grid_voltage, abs=0.051)
    assert v[Quantity.INVERTER_TEMPERATURE] == pytest.approx(state.inverter_temperature, abs=0.051)
    assert v[Quantity.PV_ENERGY_TOTAL] == pytest.approx(state.pv_energy_total, abs=0.051)
    assert reading.status is DeviceStatus.RUNNING
    assert reading.faults == frozenset()


async def test_dt_waits_at_night(socket_enabled: None) -> None:
    sim = await _serve(GoodWeDtSim(), "udp", PlantPhysics(start=NIGHT))
    try:
        async with sim.client() as client:
            await client.probe(unit_ids=[127])
            [reading] = await client.read()
    finally:
        await sim.server.stop()
    assert reading.status is DeviceStatus.STANDBY
    assert reading.values[Quantity.PV_POWER] == 0.0
    assert reading.values[Quantity.AC_POWER] == 0.0


def test_points_stay_inside_the_simulated_blocks() -> None:
    """Every point of every profile lies inside a block the real device serves."""
    et_blocks = [(35100, 125), (36000, 45), (37000, 24)]
    et_points = [
        *ET.points(_identity("goodwe_et", Role.INVERTER)),
        *ET_BATTERY.points(_identity("goodwe_et_battery", Role.BATTERY)),
        *ET_METER.points(_identity("goodwe_et_meter", Role.METER)),
    ]
    for point in et_points:
        assert any(start <= point.address and point.end <= start + count for start, count in et_blocks), point
    for point in DT.points(_identity("goodwe_dt", Role.INVERTER)):
        assert point.address >= 30100, point
        assert point.end <= 30100 + 73, point
