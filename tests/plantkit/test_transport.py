"""Transports against the simulator server over real loopback sockets, healthy and faulty."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from custom_components.sems.plantkit.exceptions import (
    ModbusExceptionError,
    PlantConnectionError,
    PlantError,
    PlantTimeoutError,
)
from custom_components.sems.plantkit.registers import RegisterKind
from custom_components.sems.plantkit.transport import Endpoint, TransportType, create_transport
from custom_components.sems.plantkit.transport.framing import MbapFraming, RtuFraming
from custom_components.sems.plantkit.transport.goodwe_udp import CORRUPT, take_reply
from custom_components.sems.plantkit.transport.pdu import (
    read_request,
    write_multiple_request,
    write_single_request,
)
from custom_components.sems.plantkit.transport.rtu import build_read_request, rtu_frame, with_crc
from custom_components.sems.plantkit.transport.stream import StreamTransport
from simulator.server import SimServer

from .counting import CountingDevice, H, serving

FRAMINGS = {TransportType.TCP: "tcp", TransportType.RTU_OVER_TCP: "rtu-over-tcp", TransportType.UDP: "udp"}


@pytest.fixture(params=list(FRAMINGS))
async def served(
    request: pytest.FixtureRequest, socket_enabled: None
) -> AsyncIterator[tuple[SimServer, Endpoint]]:
    transport_type: TransportType = request.param
    server = SimServer([CountingDevice()], FRAMINGS[transport_type])
    await server.start()
    endpoint = Endpoint("127.0.0.1", server.port, transport_type, timeout=0.5, retries=0)
    try:
        yield server, endpoint
    finally:
        await server.stop()


async def test_reads_registers(served: tuple[SimServer, Endpoint]) -> None:
    server, endpoint = served
    async with create_transport(endpoint) as transport:
        assert await transport.read_registers(1, H, 100, 125) == list(range(100, 225))
        assert await transport.read_registers(1, RegisterKind.INPUT, 2, 3) == [1002, 1003, 1004]
        assert transport.requests_sent == server.count() == 2


async def test_illegal_address_is_a_modbus_exception(served: tuple[SimServer, Endpoint]) -> None:
    _, endpoint = served
    async with create_transport(endpoint) as transport:
        with pytest.raises(ModbusExceptionError) as err:
            await transport.read_registers(1, H, 290, 20)
        assert err.value.code == 2
        assert err.value.refuses_registers
        # The connection stays usable after an exception reply.
        assert await transport.read_registers(1, H, 100, 1) == [100]


async def test_requests_are_serialized(served: tuple[SimServer, Endpoint]) -> None:
    server, endpoint = served
    async with create_transport(endpoint) as transport:
        results = await asyncio.gather(*(transport.read_registers(1, H, 100 + i, 1) for i in range(20)))
        assert results == [[100 + i] for i in range(20)]
        assert server.count() == 20


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("garbage", PlantError),
        ("truncate", PlantError),
        ("delay", PlantTimeoutError),
        ("drop_connection", PlantConnectionError),
    ],
)
async def test_faults_raise_library_errors_within_the_timeout(
    served: tuple[SimServer, Endpoint], fault: str, error: type[Exception]
) -> None:
    server, endpoint = served
    if fault == "delay":
        server.faults.delay = 10 * endpoint.timeout  # beyond every retry
    else:
        setattr(server.faults, fault, True)
    async with create_transport(endpoint) as transport:
        started = time.monotonic()
        with pytest.raises(error):
            await transport.read_registers(1, H, 100, 10)
        # UDP retries up to 3 times with a 0.5 s timeout.
        assert time.monotonic() - started < 4 * endpoint.timeout + 1
        server.faults.clear()
        assert await transport.read_registers(1, H, 100, 2) == [100, 101]  # recovers by itself


async def test_exception_code_fault(served: tuple[SimServer, Endpoint]) -> None:
    server, endpoint = served
    server.faults.exception_code = 4
    async with create_transport(endpoint) as transport:
        with pytest.raises(ModbusExceptionError) as err:
            await transport.read_registers(1, H, 100, 1)
        assert err.value.code == 4
        assert not err.value.refuses_registers


async def test_unknown_unit(served: tuple[SimServer, Endpoint]) -> None:
    _, endpoint = served
    async with create_transport(endpoint) as transport:
        if endpoint.transport is TransportType.UDP:
            with pytest.raises(PlantTimeoutError):  # a dongle forwards to RS485 and nobody answers
                await transport.read_registers(9, H, 100, 1)
        else:
            with pytest.raises(ModbusExceptionError) as err:  # gateways answer "target did not respond"
                await transport.read_registers(9, H, 100, 1)
            assert err.value.code == 11


async def test_closed_port_fails_fast(socket_enabled: None) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for transport_type in (TransportType.TCP, TransportType.RTU_OVER_TCP):
        started = time.monotonic()
        async with create_transport(Endpoint("127.0.0.1", port, transport_type, timeout=1)) as transport:
            with pytest.raises(PlantConnectionError):
                await transport.read_registers(1, H, 0, 1)
        assert time.monotonic() - started < 2.5


async def test_udp_to_closed_port(socket_enabled: None) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with create_transport(Endpoint("127.0.0.1", port, TransportType.UDP, timeout=0.3)) as transport:
        with pytest.raises(PlantConnectionError):  # ICMP port unreachable, or silence -> timeout
            await transport.read_registers(1, H, 0, 1)


async def test_offline_server_refuses(socket_enabled: None) -> None:
    server = SimServer([CountingDevice()], "tcp")
    server.faults.offline = True
    await server.start()
    try:
        async with create_transport(Endpoint("127.0.0.1", server.port, timeout=0.5, retries=0)) as transport:
            with pytest.raises(PlantConnectionError):
                await transport.read_registers(1, H, 100, 1)
            server.faults.offline = False
            assert await transport.read_registers(1, H, 100, 1) == [100]
    finally:
        await server.stop()


@pytest.mark.parametrize("framing", ["tcp", "rtu-over-tcp"])
async def test_offline_server_falls_silent_on_a_connected_client(socket_enabled: None, framing: str) -> None:
    """`scripts/simulate fault X offline on` must reach a client that is already connected (Home
    Assistant keeps its connection): the device falls silent on it too, and answers again when back."""
    server = SimServer([CountingDevice()], framing)
    await server.start()
    transport_type = TransportType.TCP if framing == "tcp" else TransportType.RTU_OVER_TCP
    try:
        endpoint = Endpoint("127.0.0.1", server.port, transport_type, timeout=0.3, retries=0)
        async with create_transport(endpoint) as transport:
            assert await transport.read_registers(1, H, 100, 1) == [100]
            server.faults.offline = True
            with pytest.raises(PlantConnectionError):
                await transport.read_registers(1, H, 100, 1)
            server.faults.offline = False
            assert await transport.read_registers(1, H, 100, 1) == [100]
    finally:
        await server.stop()


def test_rtu_frame_matches_a_known_goodwe_request() -> None:
    # Read 125 holding registers at 35100 from unit 0xF7, as GoodWe tools send it.
    assert build_read_request(0xF7, H, 35100, 125).hex() == "f703891c007d7ae7"


def test_rtu_reply_is_found_only_when_it_answers_the_request() -> None:
    request = read_request(1, H, 0, 2)
    reply = with_crc(bytes([1, 3, 4, 0, 1, 0, 2]))
    framing = RtuFraming()
    framing.begin(request)
    for stranger in (
        reply[:-1] + b"\x00",  # bad CRC
        with_crc(bytes([2, 3, 4, 0, 1, 0, 2])),  # another unit
        with_crc(bytes([1, 4, 4, 0, 1, 0, 2])),  # another function
        with_crc(bytes([1, 3, 2, 0, 1])),  # another length
        reply[:5],  # truncated (and then the real one follows)
    ):
        buffer = bytearray(stranger)
        assert framing.find(buffer) is None
        buffer += reply
        assert framing.find(buffer) == reply[1:-2]
        assert buffer == b""
    error = with_crc(bytes([1, 0x83, 2]))
    assert framing.find(bytearray(b"\x00noise" + error)) == bytes([0x83, 2])


def test_mbap_reply_must_carry_the_transaction_of_an_attempt() -> None:
    request = read_request(1, H, 0, 1)
    framing = MbapFraming()
    framing.begin(request)
    first = framing.adu(request)
    second = framing.adu(request)  # a retry: both transactions answer the request
    assert first[:2] != second[:2]

    def reply(
        transaction: bytes, protocol: bytes = b"\0\0", unit: int = 1, pdu: bytes = b"\x03\x02\x00\x07"
    ) -> bytes:
        return transaction + protocol + (len(pdu) + 1).to_bytes(2, "big") + bytes([unit]) + pdu

    for stranger in (
        reply(b"\x12\x34"),
        reply(first[:2], protocol=b"\x00\x01"),
        reply(first[:2], unit=2),
        reply(first[:2], pdu=b"\x04\x02\x00\x07"),
        reply(first[:2], pdu=b"\x03\x04\x00\x07\x00\x08"),
    ):
        assert framing.find(bytearray(stranger)) is None
    assert framing.find(bytearray(reply(first[:2]))) == b"\x03\x02\x00\x07"
    assert framing.find(bytearray(reply(second[:2]))) == b"\x03\x02\x00\x07"


def test_write_is_confirmed_only_by_its_own_echo() -> None:
    single, multiple = write_single_request(1, 150, 7), write_multiple_request(1, 160, [1, 2, 3])
    framing = RtuFraming()
    framing.begin(single)
    assert framing.find(bytearray(rtu_frame(1, bytes([6, 0, 150, 0, 8])))) is None  # another value
    assert framing.find(bytearray(rtu_frame(1, bytes([6, 0, 151, 0, 7])))) is None  # another register
    assert framing.find(bytearray(rtu_frame(1, single.pdu))) == single.pdu
    framing.begin(multiple)
    assert framing.find(bytearray(rtu_frame(1, bytes([16, 0, 160, 0, 2])))) is None  # another quantity
    assert framing.find(bytearray(rtu_frame(1, multiple.pdu[:5]))) == multiple.pdu[:5]


def test_goodwe_reply_reassembly() -> None:
    request = read_request(247, H, 35000, 2)
    ours = b"\xaa\x55" + with_crc(bytes([247, 3, 4, 0, 1, 0, 2]))
    foreign = b"\xaa\x55" + with_crc(bytes([247, 3, 2, 0, 9]))  # another client's read, same unit
    buffer = bytearray(foreign[:4])
    assert take_reply(buffer, request) is None  # a fragment: more to come
    buffer += foreign[4:] + ours[:6]
    assert take_reply(buffer, request) is None  # someone else's frame is skipped
    buffer += ours[6:]
    assert take_reply(buffer, request) == bytes([3, 4, 0, 1, 0, 2])
    assert take_reply(bytearray(b"HTTP/1.1"), request) is CORRUPT
    assert take_reply(bytearray(ours[:-1] + b"\x00"), request) is CORRUPT


async def test_serial_rtu_over_a_pty() -> None:
    server = SimServer([CountingDevice(unit_id=3)], "serial")
    await server.start()
    try:
        endpoint = Endpoint(server.serial_path, 0, TransportType.SERIAL, timeout=0.5, retries=0)
        async with create_transport(endpoint) as transport:
            assert await transport.read_registers(3, H, 100, 4) == [100, 101, 102, 103]
            with pytest.raises(ModbusExceptionError):
                await transport.read_registers(3, H, 299, 2)
            with pytest.raises(PlantTimeoutError):  # nobody at unit 4 on the bus
                await transport.read_registers(4, H, 100, 1)
    finally:
        await server.stop()


async def test_serial_port_missing() -> None:
    endpoint = Endpoint("/dev/does-not-exist-sems", 0, TransportType.SERIAL, timeout=0.5)
    async with create_transport(endpoint) as transport:
        with pytest.raises(PlantConnectionError):
            await transport.read_registers(1, H, 0, 1)


async def test_exception_replies_do_not_log_errors(
    served: tuple[SimServer, Endpoint], caplog: pytest.LogCaptureFixture
) -> None:
    _, endpoint = served
    async with create_transport(endpoint) as transport:
        with pytest.raises(ModbusExceptionError):
            await transport.read_registers(1, H, 290, 20)
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_cancellation_stays_a_cancellation(served: tuple[SimServer, Endpoint]) -> None:
    """Callers bound reads with asyncio.timeout / task cancellation; no transport may swallow it."""
    server, endpoint = served
    server.faults.delay = 30
    async with create_transport(endpoint) as transport:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await transport.read_registers(1, H, 100, 1)
        assert time.monotonic() - started < 1.0


async def test_connection_closed_mid_request_fails_at_once(served: tuple[SimServer, Endpoint]) -> None:
    """A closed peer fails the request at once instead of waiting for every retry's timeout."""
    server, endpoint = served
    if endpoint.transport is TransportType.UDP:
        pytest.skip("UDP has no connection")
    slow = Endpoint(endpoint.host, endpoint.port, endpoint.transport, timeout=3, retries=1)
    async with create_transport(slow) as transport:
        assert await transport.read_registers(1, H, 100, 1) == [100]
        server.faults.drop_connection = True
        started = time.monotonic()
        with pytest.raises(PlantConnectionError, match="closed"):
            await transport.read_registers(1, H, 100, 1)
        assert time.monotonic() - started < 1.0
        server.faults.clear()
        assert await transport.read_registers(1, H, 100, 1) == [100]


# -- a device that drops requests right after a connect (Huawei's dongles) ---------------------------------

SETTLE = 0.3  # the simulated device's deaf time after a connect


class _DeafAfterConnect(CountingDevice):
    deaf_after_connect = SETTLE


@pytest.mark.parametrize("transport_type", [TransportType.TCP, TransportType.RTU_OVER_TCP])
async def test_without_connect_delay_the_first_request_is_dropped(
    transport_type: TransportType, socket_enabled: None
) -> None:
    async with serving(transport_type, _DeafAfterConnect(), request_timeout=0.1) as (server, endpoint):
        async with create_transport(endpoint) as transport:
            with pytest.raises(PlantTimeoutError):
                await transport.read_registers(1, H, 100, 2)
        assert server.dropped_early == 1
        assert server.count() == 0


@pytest.mark.parametrize("transport_type", [TransportType.TCP, TransportType.RTU_OVER_TCP])
async def test_connect_delay_waits_on_every_new_connection_only(
    transport_type: TransportType, socket_enabled: None
) -> None:
    async with serving(transport_type, _DeafAfterConnect(), request_timeout=0.2) as (server, endpoint):
        async with create_transport(replace(endpoint, connect_delay=SETTLE + 0.1)) as transport:
            loop = asyncio.get_running_loop()
            started = loop.time()
            assert await transport.read_registers(1, H, 100, 2) == [100, 101]
            assert loop.time() - started >= SETTLE + 0.1
            started = loop.time()
            assert await transport.read_registers(1, H, 102, 1) == [102]  # the connection is old now
            assert loop.time() - started < SETTLE
            await transport.close()
            started = loop.time()
            assert await transport.read_registers(1, H, 103, 1) == [103]  # a new connection waits again
            assert loop.time() - started >= SETTLE + 0.1
        assert server.dropped_early == 0
        assert server.count() == 3


async def test_a_delay_raised_on_a_young_connection_waits_only_the_rest(socket_enabled: None) -> None:
    async with (
        serving(TransportType.TCP, request_timeout=0.5) as (_, endpoint),
        create_transport(endpoint) as transport,
    ):
        assert transport.connect_delay == 0.0
        await transport.read_registers(1, H, 100, 1)  # connects; no delay asked
        assert isinstance(transport, StreamTransport)
        transport.connect_delay = 0.4
        loop = asyncio.get_running_loop()
        await transport.read_registers(1, H, 101, 1)
        assert loop.time() - transport.opened_at >= 0.4
