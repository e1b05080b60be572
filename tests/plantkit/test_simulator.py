"""The simulator itself: device faults reach the client, night sleep, physics consistency, control API."""

from __future__ import annotations

from datetime import datetime

import pytest
from aiohttp import ClientSession

from custom_components.sems.plantkit import Endpoint, PlantClient, PlantTimeoutError, TransportType
from custom_components.sems.plantkit.model import DeviceReading
from simulator.control import ControlServer
from simulator.faults import DEVICE_FAULTS
from simulator.physics import PlantPhysics
from simulator.plant import SimulatedPlant

READ_ENDPOINTS = {
    "goodwe_et_tcp": (TransportType.TCP, None),
    "sunspec_tcp": (TransportType.TCP, [1, 2]),
}


async def _read_all(plant: SimulatedPlant) -> list[DeviceReading]:
    readings: list[DeviceReading] = []
    for name, (transport, units) in READ_ENDPOINTS.items():
        async with PlantClient(Endpoint("127.0.0.1", plant.port(name), transport, timeout=1)) as client:
            await client.probe(units)
            readings.extend(await client.read())
    return readings


def _signature(readings: list[DeviceReading]) -> list[tuple[str, frozenset[str], tuple[str, ...]]]:
    return [
        (r.identity.key, r.faults, tuple(sorted(q for q, v in r.values.items() if v is None)))
        for r in readings
    ]


@pytest.mark.parametrize("fault", sorted(DEVICE_FAULTS))
async def test_every_device_fault_shows_in_what_the_client_reads(plant: SimulatedPlant, fault: str) -> None:
    healthy = _signature(await _read_all(plant))
    plant.physics.state.faults.add(fault)
    plant.render()
    faulty = _signature(await _read_all(plant))
    assert faulty != healthy, f"{fault} changes nothing a client can see"
    plant.physics.state.faults.clear()
    plant.render()
    assert _signature(await _read_all(plant)) == healthy


async def test_pv_only_inverter_sleeps_at_night(socket_enabled: None) -> None:
    plant = SimulatedPlant(start=datetime(2026, 6, 21, 23, 0), endpoints=["goodwe_dt_udp"])
    await plant.start()
    try:
        endpoint = Endpoint(
            "127.0.0.1", plant.port("goodwe_dt_udp"), TransportType.UDP, timeout=0.2, retries=0
        )
        async with PlantClient(endpoint) as client:
            with pytest.raises(PlantTimeoutError):
                await client.probe([127])
            plant.advance(8 * 3600)  # 07:00: the sun is up
            assert [d.profile for d in await client.probe([127])] == ["goodwe_dt"]
    finally:
        await plant.stop()


def test_counters_follow_power() -> None:
    physics = PlantPhysics(start=datetime(2026, 6, 21, 0, 0), speed=1.0)
    start = physics.state.pv_energy_total
    import_start = physics.state.grid_import_energy_total
    pv_wh = 0.0
    for _ in range(24 * 60):
        pv_wh += physics.state.pv_power / 60
        physics.advance(60)
    state = physics.state
    assert state.pv_energy_total - start == pytest.approx(pv_wh / 1000, rel=1e-6)
    assert 20 < state.pv_energy_total - start < 60  # a sunny June day on 8 kWp
    assert state.grid_import_energy_total >= import_start
    assert state.pv_energy_today < 1.0  # reset at midnight, then the night
    assert 10 <= state.battery_soc <= 100


def test_energy_balance_holds_at_every_step() -> None:
    physics = PlantPhysics(start=datetime(2026, 3, 1, 5, 0), speed=1.0)
    for _ in range(200):
        physics.advance(300)
        s = physics.state
        # load = pv + battery (+ discharge) + grid (+ import)
        assert s.load_power == pytest.approx(s.pv_power + s.battery_power + s.grid_power, abs=0.2)


async def test_control_api_switches_faults(plant: SimulatedPlant) -> None:
    control = ControlServer(plant, port=0)
    control.port = 0
    await control.start()
    try:
        port = control._runner.addresses[0][1]
        async with ClientSession() as session:
            async with session.post(
                f"http://127.0.0.1:{port}/transport",
                json={"endpoint": "sdm630_tcp", "fault": "delay", "value": "2"},
            ) as response:
                assert response.status == 200
            assert plant.server("sdm630_tcp").faults.delay == 2.0
            async with session.post(
                f"http://127.0.0.1:{port}/device", json={"fault": "bms_alarm", "on": "on"}
            ) as r:
                assert await r.json() == ["bms_alarm"]
            async with session.post(f"http://127.0.0.1:{port}/device", json={"fault": "nope"}) as r:
                assert r.status == 400
            async with session.get(f"http://127.0.0.1:{port}/state") as r:
                state = await r.json()
            assert state["device_faults"] == ["bms_alarm"]
            assert state["endpoints"]["sdm630_tcp"]["faults"]["delay"] == 2.0
    finally:
        await control.stop()
