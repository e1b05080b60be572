"""Transports over a byte stream: Modbus TCP, RTU over TCP (serial gateways), and the shared engine.

One connection per endpoint, one request at a time, no task per request: an ``asyncio.Protocol`` receives
bytes, the framing finds the outstanding request's reply among them, and a future wakes the caller. A
timer per attempt gives the timeout; retries resend the request on the same connection, and a late reply
to an earlier attempt of the same request is a valid answer. A closed peer fails the request at once;
the next request reconnects.
"""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from typing import Protocol

from ..exceptions import ConnectionClosedError, PlantConnectionError, PlantTimeoutError
from .base import Endpoint, Transport
from .framing import Framing, MbapFraming, RtuFraming
from .pdu import Request


class Link(Protocol):
    """The sending side of a connection (an asyncio transport, or the serial port)."""

    def write(self, data: bytes) -> None:
        """Send bytes (never blocks)."""

    def is_closing(self) -> bool:
        """True once the connection is closed or closing."""

    def close(self) -> None:
        """Close the connection."""


class Receiver(asyncio.Protocol):
    """The receiving side: collects bytes while a request is outstanding and finds its reply."""

    def __init__(self, framing: Framing, endpoint: Endpoint) -> None:
        self.framing = framing
        self.endpoint = endpoint
        self.buffer = bytearray()
        self.armed = False  # a request is outstanding; bytes arriving otherwise are stale and dropped
        self.waiter: asyncio.Future[bytes | None] | None = None  # None result: the attempt timed out
        self.reply: bytes | None = None  # found while no attempt was waiting (between two attempts)
        self.closed = False
        self.last_data = 0.0  # loop time of the last bytes received (serial lines drain until quiet)

    def arm(self) -> None:
        """A request goes out: forget stale bytes, look for its reply in what arrives from now on."""
        self.buffer.clear()
        self.reply = None
        self.armed = True

    def data_received(self, data: bytes) -> None:
        self.last_data = asyncio.get_running_loop().time()
        if not self.armed:
            return
        buffer = self.buffer
        buffer += data
        reply = self.framing.find(buffer)
        if reply is None:
            return
        self.armed = False
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(reply)
        else:
            self.reply = reply

    def eof_received(self) -> bool | None:
        return None  # the peer is done sending: close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(ConnectionClosedError(f"{self.endpoint}: the device closed the connection"))


def _expire(waiter: asyncio.Future[bytes | None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class StreamTransport(Transport):
    """Requests over one byte-stream connection, opened on demand and reopened after it broke."""

    def __init__(self, endpoint: Endpoint, framing: Framing) -> None:
        super().__init__(endpoint)
        self._framing = framing
        self._link: Link | None = None
        self._receiver: Receiver | None = None
        self._dirty = False  # an attempt timed out or was cancelled: its reply may still come
        self.sent_at = 0.0  # loop time of the last attempt sent
        self.opened_at = 0.0  # loop time the connection was made
        self.latency = 0.0  # seconds from the first attempt to the reply (dirty exchanges)

    @abstractmethod
    async def _open(self, receiver: Receiver) -> Link:
        """Connect; raises ``PlantConnectionError``."""

    async def _settle(self) -> None:
        """Before the next request after a dirty exchange: make sure no late reply can be taken for it."""

    def _gave_up(self) -> None:
        """Every attempt timed out."""

    async def _ready(self) -> tuple[Link, Receiver]:
        if self._receiver is not None and (self._receiver.closed or self._link_closing()):
            await self.close()
        if self._dirty and self._link is not None:
            await self._settle()
        self._dirty = False
        if self._link is None or self._receiver is None:
            receiver = Receiver(self._framing, self.endpoint)
            self._link = await self._open(receiver)
            self._receiver = receiver
            self.opened_at = asyncio.get_running_loop().time()
        return self._link, self._receiver

    def _link_closing(self) -> bool:
        return self._link is None or self._link.is_closing()

    async def _transact(self, request: Request) -> bytes:
        link, receiver = await self._ready()
        loop = asyncio.get_running_loop()
        settle = self.opened_at + self.connect_delay - loop.time()
        if settle > 0:
            await asyncio.sleep(settle)  # the device would drop a request sent this soon after the connect
        framing = self._framing
        framing.begin(request)
        receiver.arm()
        timeout = self.endpoint.timeout
        self._dirty = True  # until the first attempt is answered: a reply may still be on its way
        first_sent = loop.time()
        reply: bytes | None = None
        try:
            for attempt in range(1 + self.retries):
                if receiver.closed or link.is_closing():
                    break
                link.write(framing.adu(request))
                self.sent_at = loop.time()
                if link.is_closing():  # the write itself found the link gone (an unplugged adapter)
                    break
                waiter: asyncio.Future[bytes | None] = loop.create_future()
                receiver.waiter = waiter
                timer = loop.call_later(timeout, _expire, waiter)
                try:
                    reply = await waiter
                finally:
                    timer.cancel()
                    receiver.waiter = None
                # A reply may also have come just after the attempt's timeout, before we got here.
                reply = reply or receiver.reply
                if reply is not None:
                    self._dirty = attempt > 0
                    break
        finally:
            receiver.armed = False
        if reply is not None:
            self.latency = loop.time() - first_sent
            return reply
        if receiver.closed or link.is_closing():
            raise ConnectionClosedError(f"{self.endpoint}: the device closed the connection")
        self._gave_up()
        raise PlantTimeoutError(f"no valid reply from {self.endpoint} (unit {request.unit_id})")

    async def close(self) -> None:
        """Close the connection; the next request reconnects."""
        link, self._link, self._receiver = self._link, None, None
        self._dirty = False
        if link is not None:
            link.close()


class _TcpTransport(StreamTransport):
    async def _open(self, receiver: Receiver) -> Link:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.endpoint.timeout):
                transport, _ = await loop.create_connection(
                    lambda: receiver, self.endpoint.host, self.endpoint.port
                )
        except (OSError, TimeoutError) as err:
            raise PlantConnectionError(f"cannot connect to {self.endpoint}") from err
        return transport


class ModbusTcpTransport(_TcpTransport):
    """Modbus TCP (MBAP). Transaction ids tell replies apart, so a late reply is harmless; but a request
    that got no reply at all may have a device stuck on this connection (or the connection half dead),
    so it is dropped and the next request reconnects."""

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint, MbapFraming())

    def _gave_up(self) -> None:
        if self._link is not None:
            self._link.close()


class RtuOverTcpTransport(_TcpTransport):
    """RTU frames through a TCP serial gateway. RTU has no transaction id: after a timeout the connection
    is replaced, so a late reply to an earlier request can never answer a later one of the same shape."""

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint, RtuFraming())

    async def _settle(self) -> None:
        await self.close()
