"""A Modbus server for simulated devices: Modbus TCP, RTU over TCP, serial RTU (a pty) and GoodWe's UDP
(AA55) framing.

Written on asyncio so faults can be injected at the frame level (garbage, truncated frames, delays,
dropped connections, a lossy or shared dongle, line noise, a gateway that closes on unknown units).
Reads (FC03/FC04) and writes (FC06/FC16) are served from each device's register image. Every register
a write reaches is counted (``writes``), whether the device takes the value or not; a device told to
ignore writes echoes them without storing (``TransportFaults.ignore_writes``), one told to refuse them
answers an exception (``refuse_writes``). After a write the server tells ``on_write`` which unit was
written, so the plant can follow the device's new settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pty
import random
import struct
import tty
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from custom_components.sems.plantkit.registers import RegisterKind
from custom_components.sems.plantkit.transport.goodwe_udp import PREFIX
from custom_components.sems.plantkit.transport.rtu import crc_ok, rtu_frame

from .device import SimDevice
from .faults import FOREIGN_DELAY, ForeignFrameFirst, TransportFaults
from .image import IllegalAddress

_LOGGER = logging.getLogger(__name__)

_KINDS = {3: RegisterKind.HOLDING, 4: RegisterKind.INPUT}
WRITE_SINGLE = 6
WRITE_MULTIPLE = 16
ILLEGAL_FUNCTION = 1
ILLEGAL_DATA_ADDRESS = 2
ILLEGAL_DATA_VALUE = 3
GATEWAY_TARGET_NO_RESPONSE = 11
GARBAGE = b"HTTP/1.1 400 Bad Request\r\n\r\n"
UDP_FRAGMENT = 40  # long UDP replies come in two datagrams, split here, as some dongles send them
UDP_SPLIT_ABOVE = 64

type Wrap = Callable[[int, bytes], bytes]  # (unit id, reply PDU) -> frame in the endpoint's framing


@dataclass(frozen=True, slots=True)
class Request:
    """One request as the server saw it (count: registers read or written)."""

    unit_id: int
    function: int
    address: int
    count: int


def rtu_request_length(head: bytes | bytearray) -> int | None:
    """Length of the RTU request starting with ``head`` (unit, function, ...), None while unknown."""
    if len(head) < 2:
        return None
    if head[1] == WRITE_MULTIPLE:
        return 9 + head[6] if len(head) >= 7 else None
    return 8


class SimServer:
    """Serves the register images of one or more devices (each on its own unit id) on one port."""

    def __init__(
        self,
        devices: Sequence[SimDevice],
        framing: str = "tcp",
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
    ) -> None:
        if framing not in ("tcp", "rtu-over-tcp", "udp", "serial"):
            raise ValueError(f"unknown framing {framing}")
        self.devices = {device.unit_id: device for device in devices}
        self.framing = framing
        self.host = host
        self.port = port
        self.faults = TransportFaults()
        self.random = random.Random(seed)  # the lossy faults' draws: reproducible runs
        self.quirks: list[ForeignFrameFirst] = []
        self.requests: list[Request] = []
        self.writes: Counter[tuple[int, int]] = Counter()  # (unit id, register) -> writes that reached it
        self.on_write: Callable[[SimDevice], None] | None = None
        self.dropped_early = 0  # requests dropped unanswered: they came too soon after the connect
        self._server: asyncio.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._streams: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.pending_replies: set[asyncio.TimerHandle] = set()  # delayed replies, cancelled on stop
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
        """Requests received (for one unit, or all)."""
        return sum(1 for r in self.requests if unit_id is None or r.unit_id == unit_id)

    def write_requests(self) -> int:
        """Write requests (FC06/FC16) received, answered or not."""
        return sum(1 for r in self.requests if r.function in (WRITE_SINGLE, WRITE_MULTIPLE))

    def write_count(self, unit_id: int, address: int) -> int:
        """Writes that reached one register."""
        return self.writes[(unit_id, address)]

    def also_on_write(self, action: Callable[[SimDevice], None]) -> Callable[[], None]:
        """Run ``action`` after each write too, after what ``on_write`` does already (the plant following
        its devices' control registers). Returns the function that undoes it. Tests use it to change a
        fault at the moment a write lands."""
        follow = self.on_write

        def both(device: SimDevice) -> None:
            if follow is not None:
                follow(device)
            action(device)

        def undo() -> None:
            self.on_write = follow

        self.on_write = both
        return undo

    # -- request handling -------------------------------------------------------------------------

    def answer_pdu(self, unit_id: int, pdu: bytes) -> bytes | None:
        """The response PDU for a request PDU; None means stay silent (absent unit on UDP)."""
        function = pdu[0] if pdu else 0
        if unit_id not in self.devices:
            if self.framing in ("udp", "serial"):
                return None  # nobody on the bus answers
            return bytes([function | 0x80, GATEWAY_TARGET_NO_RESPONSE])
        if function in _KINDS and len(pdu) == 5:
            return self._read(unit_id, function, pdu)
        if function in (WRITE_SINGLE, WRITE_MULTIPLE) and len(pdu) >= 5:
            return self._write(unit_id, function, pdu)
        return bytes([function | 0x80, ILLEGAL_FUNCTION])

    def _read(self, unit_id: int, function: int, pdu: bytes) -> bytes:
        address, count = struct.unpack_from(">HH", pdu, 1)
        self.requests.append(Request(unit_id, function, address, count))
        if self.faults.exception_code is not None:
            return bytes([function | 0x80, self.faults.exception_code])
        if not 1 <= count <= 125:
            return bytes([function | 0x80, ILLEGAL_DATA_VALUE])
        try:
            words = self.devices[unit_id].image.read(_KINDS[function], address, count)
        except IllegalAddress:
            return bytes([function | 0x80, ILLEGAL_DATA_ADDRESS])
        return bytes([function, 2 * count]) + struct.pack(f">{count}H", *words)

    def _write(self, unit_id: int, function: int, pdu: bytes) -> bytes:
        address, value = struct.unpack_from(">HH", pdu, 1)
        if function == WRITE_SINGLE:
            words = [value]
        else:
            count, byte_count = value, pdu[5] if len(pdu) > 5 else 0
            if not 1 <= count <= 123 or byte_count != 2 * count or len(pdu) != 6 + byte_count:
                return bytes([function | 0x80, ILLEGAL_DATA_VALUE])
            words = list(struct.unpack_from(f">{count}H", pdu, 6))
        self.requests.append(Request(unit_id, function, address, len(words)))
        self.writes.update((unit_id, address + offset) for offset in range(len(words)))
        code = self.faults.exception_code
        if code is None:
            code = self.faults.refuse_writes
        if code is not None:
            return bytes([function | 0x80, code])
        device = self.devices[unit_id]
        try:
            if self.faults.ignore_writes:
                device.image.check_writable(address, len(words))  # only existing registers echo
            else:
                device.image.write(address, words)
        except IllegalAddress:
            return bytes([function | 0x80, ILLEGAL_DATA_ADDRESS])
        if self.on_write is not None and not self.faults.ignore_writes:
            self.on_write(device)
        return pdu if function == WRITE_SINGLE else pdu[:5]  # the echo

    def _replies(self, unit_id: int, request: bytes, answer: bytes, wrap: Wrap) -> list[tuple[float, bytes]]:
        """The frames that go back for one answer (seconds from now, bytes), with the faults applied."""
        faults, draw = self.faults, self.random.random
        if faults.garbage:
            return [(0.0, GARBAGE)]
        frame = wrap(unit_id, answer)
        if faults.truncate:
            return [(0.0, frame[: max(1, len(frame) // 2)])]
        sends: list[tuple[float, bytes]] = []
        delay = 0.0
        is_read = request[0] in _KINDS and len(request) == 5
        if is_read and (
            any(quirk.applies(int.from_bytes(request[1:3], "big")) for quirk in self.quirks)
            or (faults.foreign and draw() < faults.foreign)
        ):
            sends.append((0.0, wrap(unit_id, self._foreign_pdu(unit_id, request))))
            delay = FOREIGN_DELAY
        if faults.drop and draw() < faults.drop:
            return sends
        if faults.bad_crc and self.framing != "tcp" and draw() < faults.bad_crc:
            frame = frame[:-1] + bytes([frame[-1] ^ 0x5A])
        if faults.line_noise:
            frame = self.random.randbytes(faults.line_noise) + frame
        sends.append((delay, frame))
        if faults.duplicate and draw() < faults.duplicate:
            sends.append((delay + faults.duplicate_delay, frame))
        return sends

    def _foreign_pdu(self, unit_id: int, request: bytes) -> bytes:
        """Another client's reply to a read on the same unit and function, of another length."""
        function = request[0]
        address, count = struct.unpack_from(">HH", request, 1)
        start, other = address + count, count + 1 if count < 125 else count - 1
        for quirk in self.quirks:
            if quirk.address <= address < quirk.address + 125:
                start, other = quirk.foreign
        try:
            words = self.devices[unit_id].image.read(_KINDS[function], start, other)
        except (IllegalAddress, KeyError):
            words = [self.random.randrange(0x10000) for _ in range(other)]
        return bytes([function, 2 * other]) + struct.pack(f">{other}H", *words)

    def _schedule(self, delay: float, send: Callable[[bytes], None], data: bytes) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        self.pending_replies = {h for h in self.pending_replies if h.when() > now}
        self.pending_replies.add(loop.call_later(delay, send, data))

    # -- byte streams: Modbus TCP and RTU over TCP ------------------------------------------------------

    async def _serve_stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._streams.add(writer)

        def write(data: bytes) -> None:
            if not writer.is_closing():
                writer.write(data)

        loop = asyncio.get_running_loop()
        deaf = max((device.deaf_after_connect for device in self.devices.values()), default=0.0)
        deaf_until = loop.time() + deaf
        try:
            if self.faults.silent:
                return
            while True:
                unit_id, pdu, wrap = await (
                    self._tcp_request(reader) if self.framing == "tcp" else self._rtu_request(reader)
                )
                if not pdu:
                    continue  # not for us (protocol id, CRC): a real device stays silent
                if self.faults.silent:
                    continue  # switched off (or asleep) while a client stays connected: no answer
                if loop.time() < deaf_until:
                    self.dropped_early += 1  # still setting up behind the connect: dropped, no answer
                    continue
                if unit_id not in self.devices and self.faults.close_unknown_units:
                    return
                answer = self.answer_pdu(unit_id, pdu)
                if answer is None:
                    continue
                if self.faults.drop_connection:
                    return
                if self.faults.delay:
                    await asyncio.sleep(self.faults.delay)
                for delay, data in self._replies(unit_id, pdu, answer, wrap):
                    if delay:
                        self._schedule(delay, write, data)
                    else:
                        write(data)
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

    async def _tcp_request(self, reader: asyncio.StreamReader) -> tuple[int, bytes, Wrap]:
        header = await reader.readexactly(7)
        transaction, protocol, length, unit_id = struct.unpack(">HHHB", header)
        pdu = await reader.readexactly(max(0, length - 1))

        def wrap(unit: int, reply: bytes) -> bytes:
            return struct.pack(">HHHB", transaction, protocol, len(reply) + 1, unit) + reply

        return unit_id, pdu if protocol == 0 else b"", wrap

    async def _rtu_request(self, reader: asyncio.StreamReader) -> tuple[int, bytes, Wrap]:
        frame = await reader.readexactly(2)
        length = rtu_request_length(frame)
        if length is None:
            frame += await reader.readexactly(5)
            length = rtu_request_length(frame)
        assert length is not None
        frame += await reader.readexactly(length - len(frame))
        return frame[0], frame[1:-2] if crc_ok(frame) else b"", rtu_frame

    # -- serial RTU on a pty --------------------------------------------------------------------------

    def _serial_readable(self) -> None:
        """RS485 behaviour on a pty: RTU requests in, RTU responses out."""
        assert self._pty is not None
        try:
            self._serial_buffer.extend(os.read(self._pty[0], 256))
        except OSError:
            return
        buffer = self._serial_buffer
        while (length := rtu_request_length(buffer)) is not None and len(buffer) >= length:
            frame = bytes(buffer[:length])
            del buffer[:length]
            if not crc_ok(frame):
                buffer.clear()  # resynchronise on the next request, like a line idle gap
                return
            answer = self.answer_pdu(frame[0], frame[1:-2])
            if answer is None or self.faults.silent:
                continue
            for delay, data in self._replies(frame[0], frame[1:-2], answer, rtu_frame):
                if delay + self.faults.delay:
                    self._schedule(delay + self.faults.delay, self._serial_write, data)
                else:
                    self._serial_write(data)

    def _serial_write(self, data: bytes) -> None:
        if self._pty is not None:
            with contextlib.suppress(OSError):
                os.write(self._pty[0], data)


def _aa55(unit_id: int, pdu: bytes) -> bytes:
    return PREFIX + rtu_frame(unit_id, pdu)


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
        if rtu_request_length(data) != len(data) or not crc_ok(data):
            return
        answer = server.answer_pdu(data[0], data[1:-2])
        if answer is None:
            return
        for delay, reply in server._replies(data[0], data[1:-2], answer, _aa55):
            if delay + server.faults.delay:
                server._schedule(delay + server.faults.delay, lambda r: self._send(r, addr), reply)
            else:
                self._send(reply, addr)

    def _send(self, reply: bytes, addr: tuple[str | int, ...]) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if len(reply) > UDP_SPLIT_ABOVE:
            self.transport.sendto(reply[:UDP_FRAGMENT], addr)
            self.transport.sendto(reply[UDP_FRAGMENT:], addr)
        else:
            self.transport.sendto(reply, addr)
