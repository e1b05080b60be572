"""What the SunSpec tests share: a hand-built chain served on loopback, a client that knows only the SunSpec
profiles, and readings by role."""

from __future__ import annotations

from collections.abc import Callable

from custom_components.sems.plantkit.client import PlantClient
from custom_components.sems.plantkit.model import DeviceReading, Role
from custom_components.sems.plantkit.profiles.sunspec import SUNSPEC_PROFILES
from custom_components.sems.plantkit.transport import Endpoint
from simulator.device import SimDevice
from simulator.devices.sunspec import SunSpecChain
from simulator.physics import PlantState
from simulator.server import SimServer


class ChainDevice(SimDevice):
    """A hand-built SunSpec chain for layouts the plant simulator does not serve."""

    name = "sunspec_chain"

    def __init__(self, unit_id: int, build: Callable[[SunSpecChain], None]) -> None:
        super().__init__()
        self.unit_id = unit_id
        self.serial = ""
        build(SunSpecChain(self.image))

    def render(self, state: PlantState) -> None:
        """Static registers."""


async def serve_devices(devices: list[SimDevice]) -> SimServer:
    server = SimServer(devices, "tcp")
    await server.start()
    return server


def sunspec_client(server: SimServer) -> PlantClient:
    return PlantClient(Endpoint("127.0.0.1", server.port, timeout=1.0, retries=0), profiles=SUNSPEC_PROFILES)


def by_role(readings: list[DeviceReading]) -> dict[Role, DeviceReading]:
    return {r.identity.role: r for r in readings}
