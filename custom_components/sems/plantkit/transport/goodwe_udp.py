"""GoodWe's UDP framing (port 8899): plain RTU request out, ``AA55`` + RTU reply back.

UDP is lossy, dongles split long replies over two datagrams, and a dongle shared with another client
(SolarGo, a second integration) may hand us that client's replies. So:
- every request gets a fresh socket (a new source port): replies to earlier requests, late or duplicated,
  go to a closed port and can never answer a later request of the same shape;
- datagrams are reassembled into ``AA55`` frames; a complete frame with a valid CRC that does not answer
  the request (another unit, function or length) is someone else's and is skipped while the wait goes on;
- a corrupted datagram (no ``AA55``, bad CRC, unknown function) ends the attempt at once and the
  request is sent again, up to the retries; a reply to an earlier attempt of the same request is a
  valid answer (a dongle that is merely slow).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from typing import Final

from ..exceptions import PlantConnectionError, PlantTimeoutError
from .base import Endpoint, Transport
from .pdu import EXCEPTION_BIT, READ_HOLDING, READ_INPUT, WRITE_MULTIPLE, WRITE_SINGLE, Request
from .rtu import crc_ok, rtu_frame

PREFIX = b"\xaa\x55"
UDP_RETRIES = 3  # GoodWe dongles drop packets now and then; three retries is what works in the field
_MAX_DATAGRAM = 65536
_HEAD = len(PREFIX) + 3  # AA55, unit, function, byte count (or exception code): enough to know the length


class _Corrupt:
    """Marker: a datagram that is no part of any valid frame."""


CORRUPT: Final = _Corrupt()
type _Outcome = bytes | _Corrupt | None  # the reply PDU, a corrupted datagram, or nothing yet / timed out


def _frame_length(function: int, byte_count: int) -> int | None:
    """Length of the RTU frame (unit to CRC) a dongle sends for this function code, None if unknown."""
    if function & EXCEPTION_BIT:
        return 5
    if function in (READ_HOLDING, READ_INPUT):
        return 5 + byte_count
    if function in (WRITE_SINGLE, WRITE_MULTIPLE):
        return 8
    return None


def take_reply(buffer: bytearray, request: Request) -> _Outcome:
    """Consume complete ``AA55`` frames from ``buffer``: the reply PDU to ``request`` once one is there,
    ``CORRUPT`` for bytes that cannot be a frame, None while more datagrams are needed."""
    while buffer:
        if buffer[0] != PREFIX[0] or (len(buffer) > 1 and buffer[1] != PREFIX[1]):
            return CORRUPT
        if len(buffer) < _HEAD:
            return None
        length = _frame_length(buffer[3], buffer[4])
        if length is None:
            return CORRUPT
        end = len(PREFIX) + length
        if len(buffer) < end:
            return None  # the rest comes in the next datagram
        frame = bytes(buffer[len(PREFIX) : end])
        del buffer[:end]
        if not crc_ok(frame):
            return CORRUPT
        pdu = frame[1:-2]
        if frame[0] == request.unit_id and request.answered_by(pdu):
            return pdu
        # A valid frame that answers something else (a shared dongle's other client): not ours.
    return None


class _Exchange:
    """One request's socket: reassembles datagrams and wakes the waiting attempt.

    The socket is read straight from the event loop's reader callback (no asyncio transport around it:
    making and closing one per request cost more than the whole exchange).
    """

    def __init__(self, request: Request, endpoint: Endpoint, sock: socket.socket) -> None:
        self.request = request
        self.endpoint = endpoint
        self.sock = sock
        self.buffer = bytearray()
        self.waiter: asyncio.Future[_Outcome] | None = None
        self.reply: bytes | None = None
        self.corrupt = 0  # corrupted datagrams seen (for the error message)

    def readable(self) -> None:
        """Take every datagram waiting on the socket."""
        while True:
            try:
                data = self.sock.recv(_MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.error_received(exc)
                return
            self.datagram_received(data)

    def datagram_received(self, data: bytes) -> None:
        if self.reply is not None:
            return
        buffer = self.buffer
        buffer += data
        outcome = take_reply(buffer, self.request)
        if outcome is None:
            return
        if isinstance(outcome, bytes):
            self.reply = outcome
        else:
            buffer.clear()
            self.corrupt += 1
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(outcome)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable: nothing listens there (a closed port, not a lossy network).
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(PlantConnectionError(f"{self.endpoint}: {exc}"))


def _expire(waiter: asyncio.Future[_Outcome]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class GoodWeUdpTransport(Transport):
    """RTU-in-UDP with the AA55 reply prefix."""

    DEFAULT_RETRIES = UDP_RETRIES

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint)
        self._address: tuple[socket.AddressFamily, tuple[str, int]] | None = None

    async def _resolve(self) -> tuple[socket.AddressFamily, tuple[str, int]]:
        """The dongle's address, resolved once (a host name would otherwise cost a lookup per request)."""
        if self._address is None:
            host, port = self.endpoint.host, self.endpoint.port
            try:
                version = ipaddress.ip_address(host).version
            except ValueError:
                loop = asyncio.get_running_loop()
                try:
                    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
                except OSError as err:
                    raise PlantConnectionError(f"cannot resolve {self.endpoint}: {err}") from err
                family, address = infos[0][0], (str(infos[0][4][0]), port)
            else:
                family, address = socket.AF_INET6 if version == 6 else socket.AF_INET, (host, port)
            self._address = (family, address)
        return self._address

    def _socket(self, family: socket.AddressFamily, address: tuple[str, int]) -> socket.socket:
        """A new UDP socket connected to the dongle (a fresh source port: see the module docstring)."""
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.connect(address)  # UDP: no packet sent, the address is only fixed
        except OSError:
            sock.close()
            raise
        return sock

    async def _transact(self, request: Request) -> bytes:
        family, address = await self._resolve()
        loop = asyncio.get_running_loop()
        try:
            sock = self._socket(family, address)
        except OSError as err:
            raise PlantConnectionError(f"cannot open UDP to {self.endpoint}: {err}") from err
        exchange = _Exchange(request, self.endpoint, sock)
        frame = rtu_frame(request.unit_id, request.pdu)
        timeout = self.endpoint.timeout
        try:
            loop.add_reader(sock.fileno(), exchange.readable)
            try:
                for _ in range(1 + self.retries):
                    if exchange.reply is not None:
                        return exchange.reply
                    with contextlib.suppress(OSError):
                        # A send error (an ICMP report of an earlier attempt) fails nothing by itself:
                        # the attempt times out, or the next receive reports it.
                        sock.send(frame)
                    waiter: asyncio.Future[_Outcome] = loop.create_future()
                    exchange.waiter = waiter
                    timer = loop.call_later(timeout, _expire, waiter)
                    try:
                        outcome = await waiter
                    finally:
                        timer.cancel()
                        exchange.waiter = None
                    if isinstance(outcome, bytes):
                        return outcome
                if exchange.reply is not None:
                    return exchange.reply
            finally:
                loop.remove_reader(sock.fileno())
        finally:
            sock.close()
        damaged = f", {exchange.corrupt} corrupted datagrams" if exchange.corrupt else ""
        raise PlantTimeoutError(f"no valid reply from {self.endpoint} (unit {request.unit_id}{damaged})")

    async def close(self) -> None:
        """Nothing stays open between requests; forget the resolved address."""
        self._address = None
