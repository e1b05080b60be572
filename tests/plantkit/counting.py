"""A device whose registers tell their own address, served over any framing (shared by transport tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from custom_components.sems.plantkit.registers import RegisterKind
from custom_components.sems.plantkit.transport import Endpoint, TransportType
from simulator.device import SimDevice
from simulator.physics import PlantState
from simulator.server import SimServer

H = RegisterKind.HOLDING
FRAMINGS = {
    TransportType.TCP: "tcp",
    TransportType.RTU_OVER_TCP: "rtu-over-tcp",
    TransportType.UDP: "udp",
    TransportType.SERIAL: "serial",
}


class CountingDevice(SimDevice):
    """Registers 100..299 hold their own address; input registers 0..9 hold 1000+address."""

    name = "counting"
    serial = "TEST"

    def __init__(self, unit_id: int = 1) -> None:
        super().__init__()
        self.unit_id = unit_id
        self.image.set_words(H, 100, list(range(100, 300)))
        self.image.set_words(RegisterKind.INPUT, 0, [1000 + a for a in range(10)])

    def render(self, state: PlantState) -> None:
        """Static registers."""


@asynccontextmanager
async def serving(
    transport: TransportType, *devices: SimDevice, request_timeout: float = 0.5, retries: int = 0
) -> AsyncIterator[tuple[SimServer, Endpoint]]:
    """A SimServer for ``devices`` (default: one CountingDevice at unit 1) and an endpoint to reach it."""
    server = SimServer(list(devices) or [CountingDevice()], FRAMINGS[transport])
    await server.start()
    host = server.serial_path if transport is TransportType.SERIAL else "127.0.0.1"
    try:
        yield server, Endpoint(host, server.port, transport, timeout=request_timeout, retries=retries)
    finally:
        await server.stop()
