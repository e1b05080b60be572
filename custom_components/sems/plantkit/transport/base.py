"""Transport interface: one connection per endpoint, requests serialized on it."""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from dataclasses import dataclass
from enum import StrEnum

from ..closing import AsyncClosing
from ..registers import RegisterKind


class TransportType(StrEnum):
    """How the endpoint speaks Modbus."""

    TCP = "tcp"  # Modbus TCP (MBAP)
    RTU_OVER_TCP = "rtu-over-tcp"  # RTU frames through a TCP serial gateway
    UDP = "udp"  # GoodWe: RTU request, "AA55"-prefixed RTU reply, UDP 8899
    SERIAL = "serial"  # RS485 RTU on a local serial port


DEFAULT_PORTS = {
    TransportType.TCP: 502,
    TransportType.RTU_OVER_TCP: 502,
    TransportType.UDP: 8899,
    TransportType.SERIAL: 0,
}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and how to reach one or more devices. For serial, ``host`` is the device path."""

    host: str
    port: int
    transport: TransportType = TransportType.TCP
    timeout: float = 3.0
    retries: int | None = None  # extra attempts after a timeout; None: the transport's default
    baudrate: int = 9600
    parity: str = "N"

    def __str__(self) -> str:
        if self.transport is TransportType.SERIAL:
            return f"serial:{self.host}"
        return f"{self.transport}://{self.host}:{self.port}"


class Transport(AsyncClosing):
    """Reads registers from units behind one endpoint, one request at a time."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._lock = asyncio.Lock()
        self.requests_sent = 0  # for tests and the benchmark

    async def read_registers(self, unit_id: int, kind: RegisterKind, address: int, count: int) -> list[int]:
        """Read registers; connects on demand. Raises the library's exceptions."""
        if not 1 <= count <= 125:
            raise ValueError("count must be 1..125")
        async with self._lock:
            self.requests_sent += 1
            return await self._read(unit_id, kind, address, count)

    @abstractmethod
    async def _read(self, unit_id: int, kind: RegisterKind, address: int, count: int) -> list[int]:
        """Perform one read (called with the lock held)."""

    @abstractmethod
    async def close(self) -> None:
        """Close the connection; the transport may reconnect on the next read."""
