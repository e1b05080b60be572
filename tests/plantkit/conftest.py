"""Fixtures for library tests: simulated endpoints on loopback, and uplinks against a real Mosquitto."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

import pytest

from custom_components.sems.plantkit.uplink import Uplink
from simulator.device import SimDevice
from simulator.physics import PlantPhysics, PlantState
from simulator.plant import SimulatedPlant
from simulator.server import SimServer

from ..broker import Broker, Subscriber
from .lan import ContactLog, Sims

# A fixed, sunny moment: values are stable and every quantity is non-zero.
SIM_START = datetime(2026, 6, 21, 12, 0, 0)


@pytest.fixture
async def plant(socket_enabled: None) -> AsyncIterator[SimulatedPlant]:
    """Every simulated endpoint, on free loopback ports; time only moves when a test advances it."""
    sim = SimulatedPlant(start=SIM_START)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


type Serve = Callable[..., Awaitable[SimServer]]


@pytest.fixture
def sim_state() -> PlantState:
    """The plant state `serve` renders; a test module overrides it with values it checks exactly."""
    return PlantPhysics(start=SIM_START).state


@pytest.fixture
async def serve(socket_enabled: None, sim_state: PlantState) -> AsyncIterator[Serve]:
    """Start SimServers for given devices on free loopback ports; all are stopped after the test."""
    servers: list[SimServer] = []

    async def start(devices: Sequence[SimDevice], framing: str = "tcp") -> SimServer:
        for device in devices:
            device.render(sim_state)
        server = SimServer(devices, framing)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()


@pytest.fixture
async def sims(contacts: ContactLog) -> AsyncIterator[Sims]:
    """Simulated servers on several loopback addresses (``lan.Sims``); all are stopped after the test."""
    servers = Sims()
    try:
        yield servers
    finally:
        await servers.stop()


# --- the uplink against a real Mosquitto (helpers in mqtt_support.py) ---------------------------------------


@pytest.fixture
def receiver(broker: Broker) -> Iterator[Subscriber]:
    subscriber = Subscriber(broker)
    subscriber.start()
    try:
        yield subscriber
    finally:
        subscriber.stop()


@pytest.fixture
async def running(broker: Broker, tmp_path: Path) -> AsyncIterator[list[Uplink]]:
    """Uplinks a test starts; every one is stopped at the end."""
    uplinks: list[Uplink] = []
    yield uplinks
    for uplink in uplinks:
        await uplink.stop()
