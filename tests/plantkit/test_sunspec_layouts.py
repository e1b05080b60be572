"""SunSpec chains as manufacturers lay them out, hand-built and served on loopback: Fronius (int+SF models,
battery modules), SolarEdge (float models, a meter segment with its own serial), DER models (PV and battery
from DC ports), and a chain without its end marker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from custom_components.sems.plantkit.model import DeviceIdentity, DeviceReading, DeviceStatus, Quantity, Role
from custom_components.sems.plantkit.profiles.sunspec.chain import SunSpecDetails
from simulator.devices.sunspec import SunSpecChain

from .sunspec_support import ChainDevice, by_role, serve_devices, sunspec_client
from .support import raw_codes


def _fronius_like(chain: SunSpecChain) -> None:
    """int+SF inverter, 160 with PV strings and Fronius's battery modules, 124 for the charge state."""
    chain.add(1)
    chain.set_common("Fronius", "Symo GEN24 10.0 Plus", "1.30.7-1", "FRO-123", 1)
    chain.add(103)
    chain.set_scaled(103, "W", 3500, 0)
    chain.set_scaled(103, "WH", 5_000_000, 1)  # 10 Wh steps
    chain.set(103, "St", 5)  # THROTTLED
    chain.add(160, repeats=4)
    for index, (label, watts, wh) in enumerate(
        [
            ("String 1", 3000, 7_000_000),
            ("String 2", 2000, 3_000_000),
            ("StCha 3", 1500, 2_100_000),
            ("StDisCha 4", 0, 1_900_000),
        ]
    ):
        chain.set(160, "IDStr", label, index)
        chain.set_scaled(160, "DCW", watts, 0, index)
        chain.set_scaled(160, "DCWH", wh, 0, index)
    chain.set(160, "Evt", 1 << 15)  # ARC_DETECTION
    chain.add(124)
    chain.set_scaled(124, "ChaState", 62.5, -1)
    chain.set(124, "ChaSt", 4)  # CHARGING
    chain.end()


def _solaredge_like(chain: SunSpecChain) -> None:
    """Float inverter, then a meter with its own Common model (as SolarEdge chains meters)."""
    chain.add(1)
    chain.set_common("SolarEdge", "SE10K", "0004.0023.0123", "SE-INV-77", 1)
    chain.add(113)
    chain.set(113, "W", 4200.5)
    chain.set(113, "WH", 15_000_000.0)
    chain.set(113, "St", 4)
    chain.set(113, "Evt1", 0b1)  # GROUND_FAULT
    chain.add(1)
    chain.set_common("SolarEdge", "WND-3Y-400-MB", "0001", "SE-MTR-88", 1)
    chain.add(213)
    chain.set(213, "W", -800.0)  # SolarEdge counts + while exporting: this meter imports 800 W
    chain.set(213, "TotWhImp", 1_234_567.0)
    chain.set(213, "TotWhExp", 7_654_321.0)
    chain.end()


def _der_like(chain: SunSpecChain) -> None:
    """DER models only: 701 for AC, 714 ports for PV and the battery, 713 for the state of charge."""
    chain.add(1)
    chain.set_common("DERCo", "HY-8", "2.0", "DER-5", 1)
    chain.add(701)
    chain.set_scaled(701, "W", 3000, 0)
    chain.set_scaled(701, "TotWhInj", 12_500_000, 3)  # kWh steps
    chain.set(701, "InvSt", 4)  # THROTTLED
    chain.add(714, repeats=3)
    for index, (port_type, watts) in enumerate([(0, 2000.0), (0, 1500.0), (1, -500.0)]):
        chain.set(714, "PrtTyp", port_type, index)
        chain.set_scaled(714, "DCW", watts, 0, index)
        chain.set_scaled(714, "DCV", 400.0, -1, index)
    chain.set_scaled(714, "DCWhInj", 900_000, 0, 2)
    chain.set_scaled(714, "DCWhAbs", 1_000_000, 0, 2)
    chain.add(713)
    chain.set_scaled(713, "SoC", 80.0, 0)
    chain.end()


async def _read_chain(
    build: Callable[[SunSpecChain], None],
) -> tuple[list[DeviceIdentity], dict[Role, DeviceReading]]:
    server = await serve_devices([ChainDevice(1, build)])
    try:
        async with sunspec_client(server) as client:
            devices = await client.probe(unit_ids=[1])
            return devices, by_role(await client.read())
    finally:
        await server.stop()


async def test_int_inverter_with_fronius_battery_modules(socket_enabled: None) -> None:
    devices, readings = await _read_chain(_fronius_like)
    assert [d.role for d in devices] == [Role.INVERTER, Role.BATTERY]
    inverter, battery = readings[Role.INVERTER], readings[Role.BATTERY]
    assert inverter.status is DeviceStatus.THROTTLED
    assert raw_codes(inverter) == {"sunspec_160_evt:15"}
    assert inverter.values[Quantity.AC_POWER] == 3500.0
    assert inverter.values[Quantity.AC_ENERGY_TOTAL] == 5000.0
    # Battery modules are no PV: only the two strings count.
    assert inverter.values[Quantity.PV_POWER] == 5000.0
    assert inverter.values[Quantity.PV_ENERGY_TOTAL] == 10_000.0
    assert inverter.values[Quantity.GRID_VOLTAGE_L1] is None  # not implemented on this device
    assert battery.values[Quantity.BATTERY_SOC] == 62.5
    assert battery.values[Quantity.BATTERY_POWER] == -1500.0  # charging
    assert battery.values[Quantity.BATTERY_CHARGE_ENERGY_TOTAL] == 2100.0
    assert battery.values[Quantity.BATTERY_DISCHARGE_ENERGY_TOTAL] == 1900.0
    assert battery.values[Quantity.BATTERY_VOLTAGE] is None
    assert battery.status is DeviceStatus.RUNNING


async def test_float_models_and_meter_segment_with_its_own_serial(socket_enabled: None) -> None:
    devices, readings = await _read_chain(_solaredge_like)
    inverter, meter = devices
    assert (inverter.role, inverter.serial) == (Role.INVERTER, "SE-INV-77")
    assert (meter.role, meter.serial, meter.model, meter.via_serial) == (
        Role.METER,
        "SE-MTR-88",
        "WND-3Y-400-MB",
        "SE-INV-77",
    )
    assert isinstance(meter.details, SunSpecDetails)
    assert [m.model_id for m in meter.details.chain] == [213]
    assert readings[Role.INVERTER].values[Quantity.AC_POWER] == 4200.5
    assert readings[Role.INVERTER].values[Quantity.AC_ENERGY_TOTAL] == 15_000.0
    assert readings[Role.INVERTER].values[Quantity.GRID_FREQUENCY] is None  # NaN = not implemented
    assert raw_codes(readings[Role.INVERTER]) == {"sunspec_evt1:0"}
    assert readings[Role.METER].values[Quantity.GRID_POWER] == 800.0  # canonical + = import
    assert readings[Role.METER].values[Quantity.GRID_IMPORT_ENERGY_TOTAL] == pytest.approx(1234.567)
    assert readings[Role.METER].values[Quantity.GRID_EXPORT_ENERGY_TOTAL] == pytest.approx(7654.321)


async def test_der_models_give_pv_and_battery_from_dc_ports(socket_enabled: None) -> None:
    _, readings = await _read_chain(_der_like)
    inverter, battery = readings[Role.INVERTER], readings[Role.BATTERY]
    assert inverter.status is DeviceStatus.THROTTLED
    assert inverter.values[Quantity.AC_POWER] == 3000.0
    assert inverter.values[Quantity.AC_ENERGY_TOTAL] == 12_500.0
    assert inverter.values[Quantity.PV_POWER] == 3500.0
    assert (inverter.values[Quantity.PV1_POWER], inverter.values[Quantity.PV2_POWER]) == (2000.0, 1500.0)
    assert inverter.values[Quantity.PV1_VOLTAGE] == 400.0
    assert battery.values[Quantity.BATTERY_SOC] == 80.0
    assert battery.values[Quantity.BATTERY_POWER] == -500.0
    assert battery.values[Quantity.BATTERY_DISCHARGE_ENERGY_TOTAL] == 900.0
    assert battery.values[Quantity.BATTERY_CHARGE_ENERGY_TOTAL] == 1000.0


async def test_identify_survives_a_chain_without_end_marker(socket_enabled: None) -> None:
    def unterminated(chain: SunSpecChain) -> None:
        chain.add(1)
        chain.set_common("X", "Y", "1", "NO-END", 1)
        chain.add(203)  # no end model: the header read after it is refused

    server = await serve_devices([ChainDevice(1, unterminated)])
    try:
        async with sunspec_client(server) as client:
            [meter] = await asyncio.wait_for(client.probe(unit_ids=[1]), 5)
        assert (meter.role, meter.serial, meter.via_serial) == (Role.METER, "NO-END", None)
    finally:
        await server.stop()
