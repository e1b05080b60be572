"""The simulator's own register maps, pinned to the vendor documents; the new endpoints end to end.

The simulator states GoodWe's map from GoodWe's register tables and lays out SunSpec chains with
pysunspec2, independently of the integration's profiles; these tests pin key registers of those maps to
the documents (protocols.md §1.2, §3), so the end-to-end tests elsewhere really compare the profiles with
an independent reading. Register words are decoded here by hand (``int.from_bytes``, ``struct``), not by
the library's codec.

The GoodWe >= 15 kW meter totals, SolarEdge's meter sign and its production meter (issue 8 items 4-6)
are read end to end here too.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from datetime import datetime

import pytest

from custom_components.sems.plantkit.client import PlantClient
from custom_components.sems.plantkit.model import DeviceReading, Quantity, Role
from custom_components.sems.plantkit.registers import RegisterKind
from custom_components.sems.plantkit.transport import Endpoint, TransportType
from simulator.device import SimDevice
from simulator.devices.goodwe import GoodWeDtSim, GoodWeEt20Sim, GoodWeEtSim
from simulator.devices.sunspec import SolarEdgeInverterSim, SunSpecChain, SunSpecInverterSim, SunSpecMeterSim
from simulator.image import IllegalAddress
from simulator.physics import PlantState
from simulator.plant import ENDPOINTS, SimulatedPlant

H = RegisterKind.HOLDING
NOON = datetime(2026, 6, 21, 12, 0, 0)


def _state(**values: float) -> PlantState:
    """A plant moment with round numbers: PV 5500 W, battery charging 3000 W, exporting 1200 W."""
    defaults: dict[str, float] = {
        "pv_power": 5500.0,
        "pv1_power": 3100.0,
        "pv2_power": 2400.0,
        "pv1_voltage": 398.2,
        "pv2_voltage": 365.0,
        "load_power": 1300.0,
        "battery_power": -3000.0,
        "ac_power": 2500.0,
        "grid_power": -1200.0,
    }
    return PlantState(now=NOON, **(defaults | values))


def _rendered[D: SimDevice](device: D, state: PlantState) -> D:
    device.render(state)
    return device


def _words(device: SimDevice, address: int, count: int) -> list[int]:
    return device.image.read(H, address, count)


def _unsigned(words: Sequence[int]) -> int:
    return int.from_bytes(b"".join(w.to_bytes(2, "big") for w in words), "big")


def _signed(words: Sequence[int]) -> int:
    return int.from_bytes(b"".join(w.to_bytes(2, "big") for w in words), "big", signed=True)


def _float(words: Sequence[int]) -> float:
    (value,) = struct.unpack(">f", b"".join(w.to_bytes(2, "big") for w in words))
    return float(value)


def _text(words: Sequence[int]) -> str:
    return b"".join(w.to_bytes(2, "big") for w in words).rstrip(b"\x00").decode("ascii")


# -- GoodWe ET/DT: registers as GoodWe documents them (protocols.md §3.3) ----------------------------------


def test_goodwe_et_pv_grid_and_battery_power_with_goodwes_signs() -> None:
    et = _rendered(GoodWeEtSim(), _state())
    assert _unsigned(_words(et, 35105, 2)) == 3100  # ppv1, u32 W
    assert _unsigned(_words(et, 35109, 2)) == 2400  # ppv2
    assert _unsigned(_words(et, 35103, 1)) == 3982  # vpv1, 0.1 V
    assert _signed(_words(et, 35140, 1)) == 1200  # active_power: + = export
    assert _signed(_words(et, 36025, 2)) == 1200  # meter total, same sign
    assert _signed(_words(et, 35182, 2)) == -3000  # pbattery1: + = discharge, so charging is negative
    assert _unsigned(_words(et, 35184, 1)) == 3  # battery_mode charge
    importing = _rendered(GoodWeEtSim(), _state(grid_power=800.0, battery_power=500.0))
    assert _signed(_words(importing, 35140, 1)) == -800
    assert _signed(_words(importing, 36025, 2)) == -800
    assert _signed(_words(importing, 35182, 2)) == 500


def test_goodwe_et_counters_identity_and_bms() -> None:
    state = _state()
    et = _rendered(GoodWeEtSim(), state)
    assert _unsigned(_words(et, 35001, 1)) == 10000  # rated power, W
    assert _text(_words(et, 35003, 8)) == "9010KETU000SIM01"
    assert _text(_words(et, 35011, 5)) == "GW10K-ET"
    assert _unsigned(_words(et, 35191, 2)) == round(state.pv_energy_total * 10)  # e_total, 0.1 kWh
    assert _unsigned(_words(et, 35195, 2)) == round(state.grid_export_energy_total * 10)
    assert _unsigned(_words(et, 35200, 2)) == round(state.grid_import_energy_total * 10)
    assert _float(_words(et, 36015, 2)) == state.grid_export_energy_total * 1000  # float, Wh
    assert _float(_words(et, 36017, 2)) == state.grid_import_energy_total * 1000
    assert _unsigned(_words(et, 37007, 1)) == round(state.battery_soc)  # %
    assert _signed(_words(et, 35175, 1)) == -1  # no module temperature sensor: GoodWe's "none"


def test_goodwe_dt_map() -> None:
    state = _state()
    dt = _rendered(GoodWeDtSim(), state)
    assert _text(_words(dt, 30004, 8)) == "5015KDTU000SIM01"
    assert _unsigned(_words(dt, 30103, 1)) == 3982  # vpv1, 0.1 V
    assert _unsigned(_words(dt, 30127, 2)) == 5500  # total inverter power, u32 W
    assert _unsigned(_words(dt, 30145, 2)) == round(state.pv_energy_total * 10)
    with pytest.raises(IllegalAddress):
        _words(dt, 30173, 1)  # the running block is 30100x73


def test_goodwe_et20_keeps_its_meter_totals_in_64_bit_registers() -> None:
    """>= 15 kW / 745 platform (field case F01): float totals at 0, u64 totals in 0.01 kWh at 36104/36120."""
    state = _state()
    et20 = _rendered(GoodWeEt20Sim(), state)
    assert _unsigned(_words(et20, 35001, 1)) == 20000
    assert _text(_words(et20, 35003, 8)) == "9020KETT000SIM02"  # ETT: a 745-platform tag
    assert len(_words(et20, 36000, 125)) == 125  # one meter block up to 36124
    with pytest.raises(IllegalAddress):
        _words(et20, 36125, 1)
    assert _words(et20, 36015, 4) == [0, 0, 0, 0]
    assert _unsigned(_words(et20, 36104, 4)) == round(state.grid_export_energy_total * 100)
    assert _unsigned(_words(et20, 36120, 4)) == round(state.grid_import_energy_total * 100)
    export_phases = sum(_unsigned(_words(et20, a, 4)) for a in (36092, 36096, 36100))
    assert export_phases == pytest.approx(state.grid_export_energy_total * 100, abs=2)
    assert _unsigned(_words(et20, 36052, 1)) == round(state.grid_voltage * 10)
    # The smaller ET has no extended map: its meter block ends at 36044.
    et10 = _rendered(GoodWeEtSim(), state)
    with pytest.raises(IllegalAddress):
        _words(et10, 36045, 1)


def test_goodwe_sentinels() -> None:
    state = _state()
    state.faults.add("sentinel_values")
    et = _rendered(GoodWeEtSim(), state)
    assert _words(et, 35191, 2) == [0xFFFF, 0xFFFF]
    assert _words(et, 37007, 1) == [0xFFFF]


# -- SunSpec: pysunspec2's layout against the SunSpec tables (protocols.md §1.2) ---------------------------


def test_sunspec_inverter_103_power_with_its_scale_factor() -> None:
    inverter = _rendered(SunSpecInverterSim(), _state())
    assert _words(inverter, 40000, 4) == [0x5375, 0x6E53, 1, 66]  # "SunS", Common, L 66
    address = 40002 + 2 + 66
    assert _words(inverter, address, 2) == [103, 50]
    assert _signed(_words(inverter, address + 14, 1)) == 2500  # W
    assert _signed(_words(inverter, address + 15, 1)) == 0  # W_SF
    assert _signed(_words(inverter, address + 37, 1)) == -1  # Tmp_SF
    assert _unsigned(_words(inverter, address + 38, 1)) == 4  # St MPPT


def test_sunspec_scaled_values_use_the_scale_factor_exponent() -> None:
    class Chain(SimDevice):
        name = "chain"

        def render(self, state: PlantState) -> None:
            """Static registers."""

    device = Chain()
    chain = SunSpecChain(device.image)
    chain.add(1)
    address = chain.add(103)
    chain.set_scaled(103, "W", 1234.5, -1)
    chain.set_scaled(103, "WH", 5_000_000, 1)
    chain.end()
    assert _words(device, address + 14, 2) == [12345, 0xFFFF]  # W 12345, W_SF -1
    assert _unsigned(_words(device, address + 24, 2)) == 500_000  # WH acc32, WH_SF +1
    assert _signed(_words(device, address + 26, 1)) == 1
    assert _words(device, address + 16, 1) == [0xFFFF]  # Hz not implemented (uint16)
    assert _words(device, address + 20, 1) == [0x8000]  # VAr not implemented (int16)
    assert _words(device, address + 2 + 50, 2) == [0xFFFF, 0]  # end model


def test_sunspec_meter_203_counts_import_positive() -> None:
    state = _state(grid_power=800.0)
    meter = _rendered(SunSpecMeterSim(), state)
    address = 40070
    assert _words(meter, address, 2) == [203, 105]
    assert _signed(_words(meter, address + 18, 1)) == 800  # W, + = import
    assert _signed(_words(meter, address + 22, 1)) == 0  # W_SF
    assert _unsigned(_words(meter, address + 38, 2)) == round(state.grid_export_energy_total * 1000)
    assert _unsigned(_words(meter, address + 46, 2)) == round(state.grid_import_energy_total * 1000)
    assert _signed(_words(meter, address + 54, 1)) == 0  # TotWh_SF


def test_solaredge_chain_carries_one_meter_twice_at_solaredges_addresses() -> None:
    """F12/F17: Common (L 65) + 103, then two Common + 203 segments of one meter, function in ``Opt``."""
    state = _state()
    solaredge = _rendered(SolarEdgeInverterSim(), state)
    headers = {a: _words(solaredge, a, 2) for a in (40002, 40069, 40121, 40188, 40295, 40362, 40469)}
    assert headers == {
        40002: [1, 65],
        40069: [103, 50],
        40121: [1, 65],
        40188: [203, 105],
        40295: [1, 65],
        40362: [203, 105],
        40469: [0xFFFF, 0],
    }
    assert _text(_words(solaredge, 40004, 16)) == "SolarEdge"
    assert _signed(_words(solaredge, 40069 + 14, 1)) == 5500  # inverter W: the PV power
    assert [_text(_words(solaredge, a + 34, 8)) for a in (40121, 40295)] == ["Export+Import", "Production"]
    serials = {_text(_words(solaredge, a + 50, 16)) for a in (40121, 40295)}
    assert serials == {"60SIM002"}  # one hardware meter
    grid, production = 40188, 40362
    assert _signed(_words(solaredge, grid + 18, 1)) == 1200  # SolarEdge: + = export
    assert _signed(_words(solaredge, production + 18, 1)) == 5500  # + = produced
    assert _unsigned(_words(solaredge, grid + 38, 2)) == round(state.grid_export_energy_total * 1000)
    assert _unsigned(_words(solaredge, grid + 46, 2)) == round(state.grid_import_energy_total * 1000)
    assert _unsigned(_words(solaredge, production + 46, 2)) == round(state.pv_energy_total * 1000)
    assert _unsigned(_words(solaredge, production + 38, 2)) == 0  # acc32: not accumulated


# -- serial numbers (issue 11 item 1) ------------------------------------------------------------------


def test_every_simulated_device_has_its_own_serial() -> None:
    """Endpoints share a serial only when they serve the same device: the GoodWe ET over TCP and UDP."""
    plant = SimulatedPlant(start=NOON)
    serials = [device.serial for device in plant.devices.values()]
    assert len(set(serials)) == len(serials), serials
    owners: dict[str, set[str]] = {}
    for spec in ENDPOINTS:
        for name in spec.devices:
            owners.setdefault(plant.devices[name].serial, set()).add(spec.name)
    shared = {serial: names for serial, names in owners.items() if len(names) > 1}
    assert shared == {"9010KETU000SIM01": {"goodwe_et_tcp", "goodwe_et_udp"}}


async def test_probed_serials_differ_between_endpoints(plant: SimulatedPlant) -> None:
    """What a client finds: no two endpoints report the same serial (the ET's UDP twin aside)."""
    units = {"goodwe_dt_udp": [127], "sunspec_tcp": [1, 2], "eastron_gateway": [1, 2], "solaredge_tcp": [1]}
    transports = {
        "tcp": TransportType.TCP,
        "udp": TransportType.UDP,
        "rtu-over-tcp": TransportType.RTU_OVER_TCP,
    }
    found: dict[str, set[str]] = {}
    for spec in ENDPOINTS:
        if spec.name == "goodwe_et_udp":
            continue
        endpoint = Endpoint("127.0.0.1", plant.port(spec.name), transports[spec.framing], timeout=1.0)
        async with PlantClient(endpoint) as client:
            devices = await client.probe(units.get(spec.name))
        found[spec.name] = {device.serial for device in devices}
    assert all(found.values()), found
    names = sorted(found)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            assert not found[first] & found[second], (first, second)


# -- the new endpoints over loopback -------------------------------------------------------------------


def _client(plant: SimulatedPlant, endpoint: str) -> PlantClient:
    return PlantClient(Endpoint("127.0.0.1", plant.port(endpoint), TransportType.TCP, timeout=1.0, retries=0))


def _by_role(readings: list[DeviceReading]) -> dict[Role, list[DeviceReading]]:
    roles: dict[Role, list[DeviceReading]] = {}
    for reading in readings:
        roles.setdefault(reading.identity.role, []).append(reading)
    return roles


def _readings_with(roles: dict[Role, list[DeviceReading]], quantity: Quantity) -> list[DeviceReading]:
    """The readings (of any role) that report ``quantity`` with a value."""
    return [r for group in roles.values() for r in group if r.values.get(quantity) is not None]


async def test_goodwe_et20_endpoint_serves_the_extended_meter_block(plant: SimulatedPlant) -> None:
    state = plant.physics.state
    async with _client(plant, "goodwe_et20_tcp") as client:
        meter = await client.transport.read_registers(0xF7, H, 36000, 125)
        info = await client.transport.read_registers(0xF7, H, 35000, 33)
    assert meter == plant.devices["goodwe_et20"].image.read(H, 36000, 125)
    assert meter[15:19] == [0, 0, 0, 0]
    assert _unsigned(meter[104:108]) / 100 == pytest.approx(state.grid_export_energy_total, abs=0.005)
    assert _unsigned(meter[120:124]) / 100 == pytest.approx(state.grid_import_energy_total, abs=0.005)
    assert (info[1], _text(info[3:11])) == (20000, "9020KETT000SIM02")


async def test_goodwe_et20_reads_like_an_et(plant: SimulatedPlant) -> None:
    """What the profiles read right today: identity, powers with their signs, the battery."""
    state = plant.physics.state
    async with _client(plant, "goodwe_et20_tcp") as client:
        devices = await client.probe()
        readings = _by_role(await client.read())
    assert [d.role for d in devices] == [Role.INVERTER, Role.BATTERY, Role.METER]
    assert (devices[0].model, devices[0].rated_power) == ("GW20K-ET", 20000)
    [meter] = readings[Role.METER]
    assert meter.values[Quantity.GRID_POWER] == pytest.approx(state.grid_power, abs=0.51)
    [battery] = readings[Role.BATTERY]
    assert battery.values[Quantity.BATTERY_POWER] == pytest.approx(state.battery_power, abs=0.51)
    [inverter] = readings[Role.INVERTER]
    assert inverter.values[Quantity.PV_POWER] == pytest.approx(state.pv_power, abs=1.02)


async def test_goodwe_et20_meter_totals_read_right(plant: SimulatedPlant) -> None:
    state = plant.physics.state
    async with _client(plant, "goodwe_et20_tcp") as client:
        await client.probe()
        [meter] = _by_role(await client.read())[Role.METER]
    assert meter.values[Quantity.GRID_EXPORT_ENERGY_TOTAL] == pytest.approx(
        state.grid_export_energy_total, abs=0.01
    )
    assert meter.values[Quantity.GRID_IMPORT_ENERGY_TOTAL] == pytest.approx(
        state.grid_import_energy_total, abs=0.01
    )


async def test_solaredge_endpoint_serves_its_chain(plant: SimulatedPlant) -> None:
    image = plant.devices["solaredge_inverter"].image
    async with _client(plant, "solaredge_tcp") as client:
        words: list[int] = []
        for start in range(40000, 40471, 125):
            words += await client.transport.read_registers(1, H, start, min(125, 40471 - start))
    assert words == image.read(H, 40000, 471)
    assert words[:2] == [0x5375, 0x6E53]
    assert _signed(words[188 + 18 : 188 + 19]) == round(-plant.physics.state.grid_power)  # + = export


async def test_solaredge_inverter_reads_right(plant: SimulatedPlant) -> None:
    """The inverter, and the two meter segments of one hardware meter (a grid and a production meter)."""
    state = plant.physics.state
    async with _client(plant, "solaredge_tcp") as client:
        devices = await client.probe([1])
        readings = _by_role(await client.read())
    assert [d.role for d in devices] == [Role.INVERTER, Role.METER, Role.METER]
    assert devices[0].manufacturer == "SolarEdge"
    [inverter] = readings[Role.INVERTER]
    assert inverter.values[Quantity.AC_POWER] == pytest.approx(state.pv_power, abs=0.51)
    assert inverter.values[Quantity.AC_ENERGY_TOTAL] == pytest.approx(state.pv_energy_total, abs=0.001)


async def test_solaredge_grid_meter_sign(plant: SimulatedPlant) -> None:
    state = plant.physics.state
    assert state.grid_power < 0  # noon: exporting
    async with _client(plant, "solaredge_tcp") as client:
        await client.probe([1])
        grid = _readings_with(_by_role(await client.read()), Quantity.GRID_POWER)
    assert state.grid_power in [pytest.approx(r.values[Quantity.GRID_POWER], abs=0.51) for r in grid]


async def test_solaredge_production_meter_is_no_grid_meter(plant: SimulatedPlant) -> None:
    state = plant.physics.state
    async with _client(plant, "solaredge_tcp") as client:
        await client.probe([1])
        roles = _by_role(await client.read())
    grids = _readings_with(roles, Quantity.GRID_POWER)
    assert len(grids) == 1, "one grid connection point, one grid power"
    [grid] = grids
    [imported] = _readings_with(roles, Quantity.GRID_IMPORT_ENERGY_TOTAL)
    assert grid.values[Quantity.GRID_POWER] == pytest.approx(state.grid_power, abs=0.51)
    assert imported.values[Quantity.GRID_IMPORT_ENERGY_TOTAL] == pytest.approx(
        state.grid_import_energy_total, abs=0.001
    )
