"""Frame-level fuzzing of every transport against a hostile loopback server that knows the true registers.

For each request the server sends, in random order and pieces: the right reply (or not), someone else's
frames (other transactions, protocol ids, units, functions, lengths), corrupted and truncated frames,
line noise up to 1,024 bytes, late replies past the timeout, stale replies to earlier requests, and
closed connections. Whatever it does: no reply that does not answer the request comes back as data,
nothing but the library's exceptions escapes, the event loop is never blocked for 50 ms, and nothing is
logged as an error. Seeded, and bounded in time; prints how many frames were sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import pty
import random
import struct
import time
import tty
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from custom_components.sems.plantkit.exceptions import ModbusExceptionError, PlantError
from custom_components.sems.plantkit.registers import RegisterKind
from custom_components.sems.plantkit.transport import Endpoint, Transport, TransportType, create_transport
from custom_components.sems.plantkit.transport.framing import MbapFraming, RtuFraming
from custom_components.sems.plantkit.transport.goodwe_udp import PREFIX, take_reply
from custom_components.sems.plantkit.transport.pdu import read_request
from custom_components.sems.plantkit.transport.rtu import crc_ok, rtu_frame

SEED = 20260621
SECONDS_PER_TRANSPORT = 3.0
TIMEOUT = 0.05  # per attempt; the client retries once
MAX_BLOCK = 0.050  # seconds the event loop may be held by any frame content
UNITS = (1, 2)  # what the client asks; junk uses others
REFUSED = range(5000, 5100)  # holding registers the device answers with exception 2
KINDS = {3: RegisterKind.HOLDING, 4: RegisterKind.INPUT}

pytestmark = pytest.mark.usefixtures("socket_enabled")


def truth(unit: int, function: int, address: int) -> int:
    """The register image the hostile server knows."""
    return (unit * 7919 + address * 31 + function * 13) & 0xFFFF


def refused(function: int, address: int, count: int) -> bool:
    return function == 3 and address < REFUSED.stop and address + count > REFUSED.start


def _shape(request: Received) -> tuple[int, int, int, int]:
    return request.unit, request.function, request.address, request.count


def reply_pdu(unit: int, function: int, address: int, count: int) -> bytes:
    if refused(function, address, count):
        return bytes([function | 0x80, 2])
    words = [truth(unit, function, a) for a in range(address, address + count)]
    return bytes([function, 2 * count]) + struct.pack(f">{count}H", *words)


@dataclass
class Received:
    """One request as the hostile server parsed it."""

    unit: int
    function: int
    address: int
    count: int
    transaction: int = 0


@dataclass
class Hostile:
    """Decides, per request, what goes back: (delay, bytes) pieces, or None to close the connection."""

    framing: str  # tcp, rtu, udp
    rng: random.Random
    frames: int = 0
    past: list[Received] = field(default_factory=list)

    def wrap(self, unit: int, pdu: bytes, transaction: int = 0, protocol: int = 0) -> bytes:
        if self.framing == "tcp":
            return struct.pack(">HHHB", transaction, protocol, len(pdu) + 1, unit) + pdu
        frame = rtu_frame(unit, pdu)
        return PREFIX + frame if self.framing == "udp" else frame

    def junk(self, request: Received, *, trailing: bool) -> bytes:
        """A frame that answers no request the client has outstanding (now, or later when trailing)."""
        rng, unit, function = self.rng, request.unit, request.function
        right = reply_pdu(unit, function, request.address, request.count)
        kinds = ["noise", "crc", "unit", "function"]
        if not trailing or self.framing == "tcp":  # on RTU a same-unit frame could answer a later read
            kinds += ["count", "truncated", "exception"]
        if self.framing == "tcp":
            kinds += ["transaction", "protocol", "stale"]
        kind = rng.choice(kinds)
        tid = request.transaction
        # Transactions of this request's earlier attempts answer it too: junk must not use them.
        same = [p for p in self.past if (p.unit, p.function, p.address, p.count) == _shape(request)]
        mine = {tid} | {p.transaction for p in same}
        others = [p for p in self.past if p.transaction not in mine]
        if kind == "noise":
            return rng.randbytes(rng.randint(1, 1024))
        if kind == "crc":
            frame = self.wrap(unit, right, tid)
            if self.framing == "tcp":  # no CRC: garble the header's length instead
                return frame[:4] + b"\xff\xff" + frame[6:]
            return frame[:-1] + bytes([frame[-1] ^ 0xA5])
        if kind == "unit":
            return self.wrap(99 if trailing else rng.choice([u for u in range(248) if u != unit]), right, tid)
        if kind == "function":
            other = 0x41 if trailing else rng.choice([f for f in (1, 2, 3, 4, 6, 16, 0x41) if f != function])
            return self.wrap(unit, bytes([other]) + right[1:], tid)
        if kind == "count":
            count = rng.choice([c for c in range(1, 126) if c != request.count])
            words = [rng.randrange(0x10000) for _ in range(count)]
            return self.wrap(unit, bytes([function, 2 * count]) + struct.pack(f">{count}H", *words), tid)
        if kind == "truncated":
            frame = self.wrap(unit, right, tid)
            # MBAP has no checksum: our own header and function code followed by other bytes would be a
            # well-formed answer (so would it to any client), so TCP cuts before the function code.
            return frame[: rng.randint(1, 7 if self.framing == "tcp" else len(frame) - 1)]
        if kind == "exception":
            return self.wrap(unit, bytes([(function ^ 7) | 0x80, rng.randint(1, 11)]), tid)
        if kind == "transaction":
            # An earlier transaction: later ones are the client's next attempts, and a frame that
            # carries one of those is a forged answer, not a wrong one.
            wrong = rng.choice([t for t in range(tid - 50, tid) if t & 0xFFFF not in mine]) & 0xFFFF
            return self.wrap(unit, right[:2] + b"\x00" * (len(right) - 2), wrong)
        if kind == "protocol":
            return self.wrap(unit, right, tid, rng.randint(1, 0xFFFF))
        if not others:
            return rng.randbytes(16)
        old = rng.choice(others)  # stale: an earlier request's transaction, well formed
        return self.wrap(
            old.unit, reply_pdu(old.unit, old.function, old.address + 1, old.count), old.transaction
        )

    def plan(self, request: Received) -> list[tuple[float, bytes | None]]:
        rng = self.rng
        pieces: list[tuple[float, bytes | None]] = []
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
            pieces.append((0.0, self.junk(request, trailing=False)))
        fate = rng.random()
        right = self.wrap(request.unit, reply_pdu(*_shape(request)), request.transaction)
        if fate < 0.80:
            pieces.append((0.0, right))
        elif fate < 0.88:
            pieces.append((TIMEOUT * rng.uniform(1.1, 1.8), right))  # late: after the attempt's timeout
        elif fate < 0.92 and self.framing != "udp":
            pieces.append((0.0, None))  # close the connection
        # else: silence
        if rng.random() < 0.2:
            pieces.append((0.0, self.junk(request, trailing=True)))
        self.past = [*self.past[-20:], request]
        # Frames arrive in order, in random pieces (a dongle's fragments, TCP segments) a few milliseconds
        # apart. Our reply is never cut apart in time over TCP: another frame slipping into the gap would
        # splice our header onto foreign bytes, which MBAP (no checksum) cannot tell from an answer.
        split: list[tuple[float, bytes | None]] = []
        clock = 0.0
        for delay, data in pieces:
            clock = max(clock, delay) + 1e-6  # strictly increasing: timers keep their order
            if data is None or len(data) < 2 or rng.random() < 0.6:
                split.append((clock, data))
                continue
            cut = rng.randint(1, len(data) - 1)
            atomic = self.framing == "udp" or (self.framing == "tcp" and data == right)
            split.append((clock, data[:cut]))
            clock += 1e-6 if atomic else rng.uniform(0, 0.003)
            split.append((clock, data[cut:]))
        self.frames += sum(1 for _, data in split if data is not None)
        return split


class _Sender:
    """Delivers a plan on one connection, in order, with its delays; a plan starts after the previous
    plan's last piece, as a device answers one request after the other. (Interleaved, the start of one
    plan's junk and the tail of an earlier one's could splice into a frame whose every byte is a correct
    Modbus TCP answer but the data: MBAP has no checksum, so no client could refuse it.)"""

    def __init__(self, write: Callable[[bytes], None], close: Callable[[], None]) -> None:
        self.write, self.close = write, close
        self.handles: list[asyncio.TimerHandle] = []
        self.busy_until = 0.0  # loop time of the previous plan's last piece

    def send(self, plan: list[tuple[float, bytes | None]]) -> None:
        loop = asyncio.get_running_loop()
        wait = max(0.0, self.busy_until - loop.time())
        for delay, data in plan:
            action: Callable[[], None] = self.close if data is None else (lambda d=data: self.write(d))
            if delay or wait:
                self.handles.append(loop.call_later(wait + delay, action))
                self.busy_until = max(self.busy_until, loop.time() + wait + delay)
            else:
                action()

    def cancel(self) -> None:
        for handle in self.handles:
            handle.cancel()


@contextlib.asynccontextmanager
async def hostile_server(transport: TransportType, hostile: Hostile) -> AsyncIterator[Endpoint]:
    loop = asyncio.get_running_loop()
    senders: list[_Sender] = []
    endpoint_args = {"timeout": TIMEOUT, "retries": 1}
    if transport is TransportType.UDP:

        class Dongle(asyncio.DatagramProtocol):
            def connection_made(self, t: asyncio.BaseTransport) -> None:
                self.t = t

            def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
                if len(data) == 8 and crc_ok(data):
                    address, count = struct.unpack(">HH", data[2:6])
                    sender = _Sender(lambda d: self.t.sendto(d, addr), lambda: None)  # type: ignore[attr-defined]
                    senders.append(sender)
                    sender.send(hostile.plan(Received(data[0], data[1], address, count)))

        udp, _ = await loop.create_datagram_endpoint(Dongle, local_addr=("127.0.0.1", 0))
        try:
            yield Endpoint("127.0.0.1", udp.get_extra_info("sockname")[1], transport, **endpoint_args)
        finally:
            for sender in senders:
                sender.cancel()
            udp.close()
        return
    if transport is TransportType.SERIAL:
        master, slave = pty.openpty()
        tty.setraw(slave)
        buffer = bytearray()
        sender = _Sender(lambda d: os.write(master, d) and None, lambda: None)

        def readable() -> None:
            with contextlib.suppress(OSError):
                buffer.extend(os.read(master, 4096))
            while len(buffer) >= 8:
                frame = bytes(buffer[:8])
                del buffer[:8]
                if crc_ok(frame):
                    address, count = struct.unpack(">HH", frame[2:6])
                    sender.send(hostile.plan(Received(frame[0], frame[1], address, count)))
                else:
                    buffer.clear()

        loop.add_reader(master, readable)
        try:
            yield Endpoint(os.ttyname(slave), 0, transport, **endpoint_args)
        finally:
            sender.cancel()
            loop.remove_reader(master)
            os.close(master)
            os.close(slave)
        return

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sender = _Sender(lambda d: None if writer.is_closing() else writer.write(d), writer.close)
        senders.append(sender)
        try:
            while not writer.is_closing():
                if transport is TransportType.TCP:
                    tid, _, length, unit = struct.unpack(">HHHB", await reader.readexactly(7))
                    pdu = await reader.readexactly(length - 1)
                    function, (address, count) = pdu[0], struct.unpack(">HH", pdu[1:5])
                    request = Received(unit, function, address, count, tid)
                else:
                    frame = await reader.readexactly(8)
                    address, count = struct.unpack(">HH", frame[2:6])
                    request = Received(frame[0], frame[1], address, count)
                sender.send(hostile.plan(request))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield Endpoint("127.0.0.1", server.sockets[0].getsockname()[1], transport, **endpoint_args)
    finally:
        for sender in senders:
            sender.cancel()
        server.close()
        server.close_clients()
        await server.wait_closed()


class LoopWatch:
    """The longest time the loop was held by work (CPU time between ticks; descheduling is not work, nor
    is a garbage collection of the whole test session's objects that happens to run meanwhile)."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None
        self._gc_started = 0.0
        self._gc_seconds = 0.0

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.thread_time()
        else:
            self._gc_seconds += time.thread_time() - self._gc_started

    async def _watch(self) -> None:
        while True:
            wall, cpu, collected = time.perf_counter(), time.thread_time(), self._gc_seconds
            await asyncio.sleep(0.002)
            held = min(time.perf_counter() - wall, time.thread_time() - cpu) - 0.002
            self.worst = max(self.worst, held - (self._gc_seconds - collected))

    async def __aenter__(self) -> LoopWatch:
        gc.callbacks.append(self._on_gc)
        self._task = asyncio.create_task(self._watch())
        return self

    async def __aexit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._on_gc)
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def _read_and_check(transport: Transport, rng: random.Random) -> str:
    """One random read; anything but the truth, its refusal or a clean failure fails the test."""
    unit, function = rng.choice(UNITS), rng.choice((3, 4))
    count = rng.choice([1, 2, rng.randint(1, 125)])
    address = rng.choice([rng.randrange(0, 65536 - count), rng.randrange(4990, 5110)])
    code = None
    try:
        values = await transport.read_registers(unit, KINDS[function], address, count)
    except ModbusExceptionError as err:
        code = err.code
    except PlantError:
        return "failed"  # timeouts and closed connections: clean failures
    if refused(function, address, count):
        assert code == 2, "a refused block must be refused"
        return "refused"
    assert code is None, f"exception {code} for a readable block"
    assert values == [truth(unit, function, a) for a in range(address, address + count)]
    return "answered"


@pytest.mark.parametrize("transport_type", list(TransportType))
async def test_hostile_frames_never_come_back_as_data(
    transport_type: TransportType, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(f"{SEED}-{transport_type}")
    framing = {TransportType.TCP: "tcp", TransportType.UDP: "udp"}.get(transport_type, "rtu")
    hostile = Hostile(framing, random.Random(f"{SEED}-server-{transport_type}"))
    outcomes: dict[str, int] = {"answered": 0, "refused": 0, "failed": 0}
    caplog.set_level(logging.WARNING)
    async with (
        LoopWatch() as watch,
        hostile_server(transport_type, hostile) as endpoint,
        create_transport(endpoint) as transport,
    ):
        deadline = time.monotonic() + SECONDS_PER_TRANSPORT
        while time.monotonic() < deadline:
            outcomes[await _read_and_check(transport, rng)] += 1
    answered, requests = outcomes["answered"], sum(outcomes.values())
    print(
        f"fuzz {transport_type}: {hostile.frames} frames sent for {requests} requests "
        f"({outcomes}); loop held at most {watch.worst * 1000:.1f} ms"
    )
    assert answered > requests / 3  # the test must not pass by failing everything
    assert watch.worst < MAX_BLOCK
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def _held(find: Callable[[], object]) -> float:
    started = time.thread_time()
    find()
    return time.thread_time() - started


def test_no_frame_content_holds_the_loop() -> None:
    """Crafted worst cases for the reply search: every position a candidate, 64 KiB at once."""
    request = read_request(1, RegisterKind.HOLDING, 0, 125)
    rtu, mbap = RtuFraming(), MbapFraming()
    rtu.begin(request)
    mbap.begin(request)
    mbap.adu(request)
    header = bytes([1, 3, 250])
    candidates = bytearray((header + bytes(range(256)))[: 253 + 3] * 256)  # a candidate every 256 bytes
    dense = bytearray(header * 21845)  # a candidate every 3 bytes
    noise = bytearray(random.Random(SEED).randbytes(65536))
    worst = max(
        _held(lambda: rtu.find(bytearray(candidates))),
        _held(lambda: rtu.find(bytearray(dense))),
        _held(lambda: rtu.find(bytearray(noise))),
        _held(lambda: mbap.find(bytearray(noise))),
        _held(lambda: take_reply(bytearray(PREFIX + noise[:1024]), request)),
    )
    assert worst < MAX_BLOCK / 5
