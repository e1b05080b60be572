"""GoodWe's UDP framing (port 8899): plain RTU request out, ``AA55`` + RTU response back.

UDP is lossy and dongles sometimes split a reply over several datagrams: fragments are reassembled,
and each request gets a timeout and a bounded number of retries.
"""

from __future__ import annotations

import asyncio
import contextlib

from ..exceptions import PlantConnectionError, PlantProtocolError, PlantTimeoutError
from ..registers import RegisterKind
from .base import Endpoint, Transport
from .rtu import build_read_request, expected_length, parse_read_response

PREFIX = b"\xaa\x55"
UDP_RETRIES = 3  # GoodWe dongles drop packets now and then; three retries is what works in the field


class _ReplyCollector(asyncio.DatagramProtocol):
    """Collects datagrams into one reply buffer."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.arrived = asyncio.Event()
        self.error: Exception | None = None

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.buffer.extend(data)
        self.arrived.set()

    def error_received(self, exc: Exception) -> None:
        self.error = exc  # e.g. ICMP port unreachable
        self.arrived.set()

    def reset(self) -> None:
        self.buffer.clear()
        self.arrived.clear()
        self.error = None


class GoodWeUdpTransport(Transport):
    """RTU-in-UDP with the AA55 reply prefix."""

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint)
        self._udp: asyncio.DatagramTransport | None = None
        self._collector = _ReplyCollector()

    async def _ensure_open(self) -> asyncio.DatagramTransport:
        if self._udp is None or self._udp.is_closing():
            loop = asyncio.get_running_loop()
            try:
                self._udp, _ = await loop.create_datagram_endpoint(
                    lambda: self._collector, remote_addr=(self.endpoint.host, self.endpoint.port)
                )
            except OSError as err:
                raise PlantConnectionError(f"cannot open UDP to {self.endpoint}: {err}") from err
        return self._udp

    async def _read(self, unit_id: int, kind: RegisterKind, address: int, count: int) -> list[int]:
        udp = await self._ensure_open()
        request = build_read_request(unit_id, kind, address, count)
        last_error: Exception | None = None
        retries = UDP_RETRIES if self.endpoint.retries is None else self.endpoint.retries
        for _ in range(1 + retries):
            self._collector.reset()
            udp.sendto(request)
            try:
                frame = await self._await_reply()
            except TimeoutError:
                last_error = None
                continue
            except PlantProtocolError as err:
                last_error = err  # garbage or a stray datagram: ask again
                continue
            return parse_read_response(frame, unit_id, kind, count)
        if last_error is not None:
            raise PlantProtocolError(f"no valid reply from {self.endpoint}: {last_error}") from last_error
        raise PlantTimeoutError(f"no reply from {self.endpoint} (unit {unit_id})")

    async def _await_reply(self) -> bytes:
        collector = self._collector
        async with asyncio.timeout(self.endpoint.timeout):
            while True:
                await collector.arrived.wait()
                collector.arrived.clear()
                if collector.error is not None:
                    raise PlantConnectionError(f"{self.endpoint}: {collector.error}")
                buffer = bytes(collector.buffer)
                if len(buffer) >= 2 and not buffer.startswith(PREFIX):
                    raise PlantProtocolError(f"reply without AA55 prefix: {buffer[:8].hex()}")
                frame = buffer[2:]
                length = expected_length(frame)
                if length is not None and len(frame) >= length:
                    return frame[:length]

    async def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        with contextlib.suppress(Exception):
            self._collector.reset()
