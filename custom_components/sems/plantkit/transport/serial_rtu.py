"""Serial RTU (RS485 through a local port): pyserial opens and configures the port in an executor, then
the event loop does non-blocking reads and writes on its file descriptor (POSIX)."""

from __future__ import annotations

import asyncio
import contextlib
import os

import serial

from ..exceptions import PlantConnectionError
from .base import Endpoint
from .framing import RtuFraming
from .stream import Link, Receiver, StreamTransport

READ_SIZE = 4096
MIN_QUIET = 0.05  # seconds without a byte before a dirty line counts as drained
QUIET_CHARACTERS = 20  # ... or this many character times, whichever is longer
BITS_PER_CHARACTER = 11  # start, 8 data, parity or stop, stop


def _open_port(endpoint: Endpoint) -> serial.Serial:
    """Open and configure the port (blocking: runs in an executor)."""
    return serial.Serial(
        port=endpoint.host,
        baudrate=endpoint.baudrate,
        bytesize=serial.EIGHTBITS,
        parity=endpoint.parity,
        stopbits=serial.STOPBITS_ONE,
        timeout=0,
        write_timeout=0,
    )


class _SerialLink:
    """The open port: bytes in go to the receiver, bytes out are written without blocking."""

    def __init__(self, port: serial.Serial, receiver: Receiver, loop: asyncio.AbstractEventLoop) -> None:
        self._port = port
        self._receiver = receiver
        self._loop = loop
        self._fd: int = port.fileno()
        self._pending = bytearray()
        self._closed = False
        os.set_blocking(self._fd, False)
        loop.add_reader(self._fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self._fd, READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as err:  # unplugged adapter
            self._lost(err)
            return
        if not data:
            self._lost(None)
            return
        self._receiver.data_received(data)

    def write(self, data: bytes) -> None:
        if self._closed:
            return
        if self._pending:
            self._pending += data
            return
        try:
            written = os.write(self._fd, data)
        except (BlockingIOError, InterruptedError):
            written = 0
        except OSError as err:
            self._lost(err)
            return
        if written < len(data):
            self._pending += data[written:]
            self._loop.add_writer(self._fd, self._writable)

    def _writable(self) -> None:
        try:
            written = os.write(self._fd, self._pending)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as err:
            self._lost(err)
            return
        del self._pending[:written]
        if not self._pending:
            self._loop.remove_writer(self._fd)

    def _lost(self, err: Exception | None) -> None:
        self.close()
        self._receiver.connection_lost(err)

    def is_closing(self) -> bool:
        return self._closed

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self._fd)
        self._loop.remove_writer(self._fd)
        with contextlib.suppress(OSError, serial.SerialException):
            self._port.close()


class SerialRtuTransport(StreamTransport):
    """RTU on a local serial port. A timeout leaves the line dirty (a late reply may still come), so the
    next request first drains the line: past the time the late reply could come, then until quiet."""

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint, RtuFraming())

    async def _open(self, receiver: Receiver) -> Link:
        loop = asyncio.get_running_loop()
        try:
            port = await loop.run_in_executor(None, _open_port, self.endpoint)
        except (OSError, ValueError, serial.SerialException) as err:
            raise PlantConnectionError(f"cannot open {self.endpoint}: {err}") from err
        try:
            return _SerialLink(port, receiver, loop)
        except (OSError, ValueError) as err:  # no selectable descriptor (not a POSIX serial port)
            port.close()
            raise PlantConnectionError(f"cannot use {self.endpoint}: {err}") from err

    async def _settle(self) -> None:
        receiver = self._receiver
        if receiver is None:
            return
        loop = asyncio.get_running_loop()
        quiet = max(MIN_QUIET, QUIET_CHARACTERS * BITS_PER_CHARACTER / self.endpoint.baudrate)
        # A late reply to the last attempt comes as late as replies came in this exchange (a slow device)
        # or, when none came, up to twice the timeout after it was sent (slower is indistinguishable from
        # silence); after that, the line must have been quiet for a while.
        late = max(2 * self.endpoint.timeout, self.latency)
        deadline = loop.time() + 2 * late + quiet  # a line that never goes quiet: the matcher copes
        while (now := loop.time()) < deadline:
            wait = max(receiver.last_data, self.sent_at + late) + quiet - now
            if wait <= 0:
                return
            await asyncio.sleep(min(wait, deadline - now))
