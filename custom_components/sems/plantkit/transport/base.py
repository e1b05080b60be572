"""Transport interface: one connection per endpoint, requests serialized on it, replies matched."""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from ..closing import AsyncClosing
from ..exceptions import ModbusExceptionError
from ..registers import RegisterKind
from .pdu import (
    EXCEPTION_BIT,
    Request,
    read_request,
    registers,
    write_multiple_request,
    write_single_request,
)


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
    # Seconds after a connect before the first request goes out (stream transports: TCP, RTU over TCP,
    # serial). Some devices drop what arrives sooner (Huawei's dongles); 0: send at once.
    connect_delay: float = 0.0

    def __str__(self) -> str:
        if self.transport is TransportType.SERIAL:
            return f"serial:{self.host}"
        return f"{self.transport}://{self.host}:{self.port}"


class Transport(AsyncClosing):
    """Reads and writes registers of the units behind one endpoint, one request at a time.

    Every reply is matched to its request (unit, function, length, and transaction id or CRC); anything
    else that arrives is discarded while the wait goes on. Raises only the library's exceptions:
    ``ModbusExceptionError`` for an exception reply, ``PlantTimeoutError`` when no valid reply came within
    the timeout and the retries, ``ConnectionClosedError`` when the peer closed the connection mid-request,
    ``PlantConnectionError`` when the endpoint cannot be reached. A cancellation stays a cancellation.
    """

    DEFAULT_RETRIES = 1  # extra attempts after a timeout when the endpoint does not say

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._lock = asyncio.Lock()
        self.requests_sent = 0  # requests (not attempts), for tests and the benchmark
        # Seconds a connection must be old before a request goes out; the client raises it for devices
        # that need it (``Profile.connect_delay``).
        self.connect_delay = endpoint.connect_delay

    @property
    def retries(self) -> int:
        """Extra attempts after a timeout (or a corrupted datagram)."""
        return self.DEFAULT_RETRIES if self.endpoint.retries is None else self.endpoint.retries

    async def read_registers(self, unit_id: int, kind: RegisterKind, address: int, count: int) -> list[int]:
        """Read ``count`` (1..125) registers; connects on demand. Raises ValueError for bad arguments."""
        return registers(await self._request(read_request(unit_id, kind, address, count)))

    async def read_bytes(self, request: Request) -> bytes:
        """The register bytes (big-endian words, as sent) that answer a read ``request`` (``read_request``):
        what a decoder unpacks without making integers of words nobody reads."""
        return (await self._request(request))[2:]

    async def write_register(self, unit_id: int, address: int, value: int) -> None:
        """Write one holding register (FC06); returns once the device echoed the write."""
        await self._request(write_single_request(unit_id, address, value))

    async def write_registers(self, unit_id: int, address: int, values: Sequence[int]) -> None:
        """Write 1..123 consecutive holding registers (FC16); returns once the device confirmed them."""
        await self._request(write_multiple_request(unit_id, address, list(values)))

    async def _request(self, request: Request) -> bytes:
        async with self._lock:
            self.requests_sent += 1
            pdu = await self._transact(request)
        if pdu[0] & EXCEPTION_BIT:
            raise ModbusExceptionError(pdu[1])
        return pdu

    @abstractmethod
    async def _transact(self, request: Request) -> bytes:
        """Send ``request`` and return the PDU that answers it, normal or exception (lock held)."""

    @abstractmethod
    async def close(self) -> None:
        """Close the connection; the transport reconnects on the next request."""
