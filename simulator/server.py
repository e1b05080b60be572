"""A Modbus server for simulated devices: Modbus TCP, RTU over TCP, and GoodWe's UDP (AA55) framing.

Written on asyncio so faults can be injected at the frame level (garbage, truncated frames, delays,
dropped connections, a lossy or shared dongle, line noise, a gateway that closes on unknown units).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pty
import tty
from collections.abc import Sequence
from dataclasses import dataclass

from custom_components.sems.plantkit.registers import RegisterKind
from custom_components.sems.plantkit.transport.rtu import crc16, with_crc

from .device import SimDevice
from .faults import TransportFaults
from .image import IllegalAddress

_LOGGER = logging.getLogger(__name__)

_KINDS = {3: RegisterKind.HOLDING, 4: RegisterKind.INPUT}
ILLEGAL_FUNCTION = 1
ILLEGAL_DATA_ADDRESS = 2
ILLEGAL_DATA_VALUE = 3
GATEWAY_TARGET_NO_RESPONSE = 11
GARBAGE = b"HTTP/1.1 400 Bad Request\r\n\r\n"


@dataclass(frozen=True, slots=True)
class Request:
    """One read request as the server saw it."""

    unit_id: int
    function: int
    address: int
    count: int


class SimServer:
    """Serves the register images of one or more devices (each on its own unit id) on one port."""

    def __init__(
        self,
        devices: Sequence[SimDevice],
        framing: str = "tcp",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if framing not in ("tcp", "rtu-over-tcp", "udp", "serial"):
            raise ValueError(f"unknown framing {framing}")
        self.devices = {device.unit_id: device for device in devices}
        self.framing = framing
        self.host = host
        self.port = port
        self.faults = TransportFaults()
        self.requests: list[Request] = []
        self._server: asyncio.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._streams: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.pending_replies: set[asyncio.TimerHandle] = set()  # delayed UDP replies, cancelled on stop
        self.serial_path = ""  # for framing "serial": the pty a client opens as its serial port
        self._pty: tuple[int, int] | None = None
        self._serial_buffer = bytearray()

    async def start(self) -> None:
        """Listen; with port 0 a free port is chosen (see ``port``)."""
        loop = asyncio.get_running_loop()
        if self.framing == "serial":
            master, slave = pty.openpty()
            tty.setraw(slave)
            self._pty = (master, slave)
            self.serial_path = os.ttyname(slave)
            loop.add_reader(master, self._serial_readable)
        elif self.framing == "udp":
            self._udp, _ = await loop.create_datagram_endpoint(
                lambda: _UdpHandler(self), local_addr=(self.host, self.port)
            )
            self.port = self._udp.get_extra_info("sockname")[1]
        else:
            self._server = await asyncio.start_server(self._serve_stream, self.host, self.port)
            self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        for handle in self.pending_replies:
            handle.cancel()
        self.pending_replies.clear()
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._pty is not None:
            asyncio.get_running_loop().remove_reader(self._pty[0])
            for fd in self._pty:
                os.close(fd)
            self._pty = None
        if self._server is not None:
            self._server.close()
            for writer in list(self._streams):
                writer.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    def count(self, unit_id: int | None = None) -> int:
        """Read requests received (for one unit, or all)."""
        return sum(1 for r in self.requests if unit_id is None or r.unit_id == unit_id)

    # -- request handling -------------------------------------------------------------------------

    def answer_pdu(self, unit_id: int, pdu: bytes) -> bytes | None:
        """The response PDU for a request PDU; None means stay silent (absent unit on UDP)."""
        function = pdu[0] if pdu else 0
        if unit_id not in self.devices:
            if self.framing in ("udp", "serial"):
                return None  # nobody on the bus answers
            return bytes([function | 0x80, GATEWAY_TARGET_NO_RESPONSE])
        if function not in _KINDS or len(pdu) != 5:
            return bytes([function | 0x80, ILLEGAL_FUNCTION])
        address = int.from_bytes(pdu[1:3], "big")
        count = int.from_bytes(pdu[3:5], "big")
        self.requests.append(Request(unit_id, function, address, count))
        if self.faults.exception_code is not None:
            return bytes([function | 0x80, self.faults.exception_code])
        if not 1 <= count <= 125:
            return bytes([function | 0x80, ILLEGAL_DATA_VALUE])
        try:
            words = self.devices[unit_id].image.read(_KINDS[function], address, count)
        except IllegalAddress:
            return bytes([function | 0x80, ILLEGAL_DATA_ADDRESS])
        return bytes([function, 2 * count]) + b"".join(w.to_bytes(2, "big") for w in words)

    def _damage(self, frame: bytes) -> bytes:
        if self.faults.garbage:
            return GARBAGE
        if self.faults.truncate:
            return frame[: max(1, len(frame) // 2)]
        return frame

    async def _serve_stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._streams.add(writer)
        try:
            if self.faults.silent:
                return
            while True:
                if self.framing == "tcp":
                    reply = await self._tcp_exchange(reader)
                else:
                    reply = await self._rtu_exchange(reader)
                if reply is None:
                    continue
                if self.faults.drop_connection:
                    return
                if self.faults.delay:
                    await asyncio.sleep(self.faults.delay)
                writer.write(self._damage(reply))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._streams.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            if task is not None:
                self._tasks.discard(task)

    async def _tcp_exchange(self, reader: asyncio.StreamReader) -> bytes | None:
        header = await reader.readexactly(7)
        transaction, protocol, length, unit_id = header[:2], header[2:4], header[4:6], header[6]
        pdu = await reader.readexactly(int.from_bytes(length, "big") - 1)
        if protocol != b"\x00\x00":
            return None
        answer = self.answer_pdu(unit_id, pdu)
        if answer is None:
            return None
        return transaction + protocol + (len(answer) + 1).to_bytes(2, "big") + bytes([unit_id]) + answer

    async def _rtu_exchange(self, reader: asyncio.StreamReader) -> bytes | None:
        frame = await reader.readexactly(8)  # reads are the only requests we serve: fixed 8 bytes
        if crc16(frame[:-2]) != int.from_bytes(frame[-2:], "little"):
            return None  # a real device ignores frames with a bad CRC
        answer = self.answer_pdu(frame[0], frame[1:6])
        return None if answer is None else with_crc(bytes([frame[0]]) + answer)

    def _serial_readable(self) -> None:
        """RS485 behaviour on a pty: 8-byte RTU read requests in, RTU responses out."""
        assert self._pty is not None
        try:
            self._serial_buffer.extend(os.read(self._pty[0], 256))
        except OSError:
            return
        while len(self._serial_buffer) >= 8:
            frame = bytes(self._serial_buffer[:8])
            del self._serial_buffer[:8]
            if crc16(frame[:-2]) != int.from_bytes(frame[-2:], "little"):
                self._serial_buffer.clear()  # resynchronise on the next request, like a line idle gap
                return
            answer = self.answer_pdu(frame[0], frame[1:6])
            if answer is not None and not self.faults.silent:
                os.write(self._pty[0], self._damage(with_crc(bytes([frame[0]]) + answer)))


class _UdpHandler(asyncio.DatagramProtocol):
    """GoodWe dongle behaviour: RTU request in, ``AA55`` + RTU response out, sometimes in fragments."""

    def __init__(self, server: SimServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.DatagramTransport)
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        server = self.server
        if server.faults.silent or server.faults.drop_connection:
            return
        if len(data) != 8 or crc16(data[:-2]) != int.from_bytes(data[-2:], "little"):
            return
        answer = server.answer_pdu(data[0], data[1:6])
        if answer is None:
            return
        reply = server._damage(b"\xaa\x55" + with_crc(bytes([data[0]]) + answer))
        if server.faults.delay:
            handle = asyncio.get_running_loop().call_later(server.faults.delay, self._send, reply, addr)
            server.pending_replies.add(handle)
        else:
            self._send(reply, addr)

    def _send(self, reply: bytes, addr: tuple[str | int, ...]) -> None:
        now = asyncio.get_running_loop().time()
        self.server.pending_replies = {h for h in self.server.pending_replies if h.when() > now}
        if self.transport is None or self.transport.is_closing():
            return
        # Long replies come in two datagrams, as some dongles send them.
        if len(reply) > 64:
            self.transport.sendto(reply[:40], addr)
            self.transport.sendto(reply[40:], addr)
        else:
            self.transport.sendto(reply, addr)
