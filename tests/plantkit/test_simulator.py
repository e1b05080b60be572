"""The simulator itself: device faults reach the client, night sleep, physics consistency, control API."""

from __future__ import annotations

import asyncio
import stat
from datetime import datetime
from pathlib import Path

import pytest
from aiohttp import ClientSession

from custom_components.sems.plantkit import Endpoint, PlantClient, PlantTimeoutError, TransportType
from custom_components.sems.plantkit.model import DeviceReading
from simulator.__main__ import main as simulator_main
from simulator.control import ControlServer, write_control_file
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
    await control.start()
    try:
        url = f"http://127.0.0.1:{control.port}"
        async with ClientSession(headers={"Authorization": f"Bearer {control.token}"}) as session:
            async with session.post(
                f"{url}/transport", json={"endpoint": "sdm630_tcp", "fault": "delay", "value": "2"}
            ) as response:
                assert response.status == 200
            assert plant.server("sdm630_tcp").faults.delay == 2.0
            async with session.post(f"{url}/device", json={"fault": "bms_alarm", "on": "on"}) as r:
                assert await r.json() == ["bms_alarm"]
            async with session.post(f"{url}/device", json={"fault": "nope"}) as r:
                assert r.status == 400
            async with session.get(f"{url}/state") as r:
                state = await r.json()
            assert state["device_faults"] == ["bms_alarm"]
            assert state["endpoints"]["sdm630_tcp"]["faults"]["delay"] == 2.0
    finally:
        await control.stop()


async def test_control_api_switches_counter_faults(plant: SimulatedPlant) -> None:
    """A device's counter shows 0 (a boot), counts from 0 (a reset or a replacement) or the plant's value."""
    control = ControlServer(plant, port=0)
    await control.start()
    true = plant.physics.state
    try:
        url = f"http://127.0.0.1:{control.port}"
        async with ClientSession(headers={"Authorization": f"Bearer {control.token}"}) as session:
            body = {"device": "goodwe_et", "counter": "all", "fault": "zero"}
            async with session.post(f"{url}/counter", json=body) as r:
                assert set((await r.json()).values()) == {0.0}
            body = {"device": "goodwe_et", "counter": "pv_energy_total", "fault": "reset"}
            async with session.post(f"{url}/counter", json=body) as r:
                assert (await r.json())["pv_energy_total"] == 0.0
            plant.advance(3600)
            assert 0 < plant.shown_state("goodwe_et").pv_energy_total < true.pv_energy_total
            assert plant.shown_state("goodwe_et").ac_energy_total == 0.0
            body = {"device": "goodwe_et", "counter": "all", "fault": "clear"}
            async with session.post(f"{url}/counter", json=body) as r:
                assert (await r.json())["pv_energy_total"] == plant.physics.state.pv_energy_total
            for body in (
                {"device": "nope", "counter": "all", "fault": "zero"},
                {"device": "goodwe_et", "counter": "nope", "fault": "zero"},
                {"device": "goodwe_et", "counter": "all", "fault": "nope"},
            ):
                async with session.post(f"{url}/counter", json=body) as r:
                    assert r.status == 400
    finally:
        await control.stop()


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),  # no token
        ({"Authorization": "Bearer guessed"}, 401),
        ({"Origin": "https://evil.example"}, 403),  # a web page, even one that knew the token
        ({"Origin": "null"}, 403),
        ({"Sec-Fetch-Site": "cross-site"}, 403),
        ({"Host": "attacker.example:15099"}, 403),  # DNS rebinding: the page's host name points here
    ],
)
async def test_control_api_refuses_web_pages_and_requests_without_the_token(
    plant: SimulatedPlant, headers: dict[str, str], status: int
) -> None:
    """Any page open in the developer's browser can send requests to loopback: without the token, or from
    a page at all, nothing is switched and nothing is shown."""
    control = ControlServer(plant, port=0)
    await control.start()
    try:
        if status == 403:  # refused even with the right token
            headers = {"Authorization": f"Bearer {control.token}", **headers}
        url = f"http://127.0.0.1:{control.port}"
        async with ClientSession() as session:
            async with session.post(
                f"{url}/device", json={"fault": "bms_alarm", "on": "on"}, headers=headers
            ) as response:
                assert response.status == status
            async with session.get(f"{url}/state", headers=headers) as response:
                assert response.status == status
            # A form post (no CORS preflight) is refused too, whatever it carries.
            async with session.post(
                f"{url}/device",
                data="fault=bms_alarm&on=on",
                headers={"Authorization": f"Bearer {control.token}", "Content-Type": "text/plain"},
            ) as response:
                assert response.status == 415
        assert plant.physics.state.faults == set()
    finally:
        await control.stop()


async def test_simulate_cli_uses_the_control_file(plant: SimulatedPlant, tmp_path: Path) -> None:
    """scripts/simulate finds the port and token in the control file the simulator wrote (mode 0600)."""
    control = ControlServer(plant, port=0)
    await control.start()
    control_file = tmp_path / "control.json"
    write_control_file(control_file, control.port, control.token)
    try:
        assert stat.S_IMODE(control_file.stat().st_mode) == 0o600
        argv = ["device-fault", "bms_alarm", "on", "--control-file", str(control_file)]
        assert await asyncio.to_thread(simulator_main, argv) == 0
        assert plant.physics.state.faults == {"bms_alarm"}
        missing = ["state", "--control-file", str(tmp_path / "none.json")]
        assert await asyncio.to_thread(simulator_main, missing) == 1
    finally:
        await control.stop()


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    """`scripts/simulate --help` shows the commands a user needs beside serving (it showed serve's options
    only, so `fault`, `device-fault`, `state` and `case` could not be found there)."""
    with pytest.raises(SystemExit) as exit_info:
        simulator_main(["--help"])
    assert exit_info.value.code == 0
    shown = capsys.readouterr().out
    for command in ("serve", "state", "fault", "device-fault", "case"):
        assert command in shown
