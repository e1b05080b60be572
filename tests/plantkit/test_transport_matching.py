"""Every reply matched to its request, on every transport, against the simulator's frame-level faults:
foreign frames, late and duplicated replies, corrupted datagrams, line noise, closing gateways, writes."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from custom_components.sems.plantkit.exceptions import (
    ConnectionClosedError,
    ModbusExceptionError,
    PlantConnectionError,
    PlantTimeoutError,
)
from custom_components.sems.plantkit.transport import TransportType, create_transport
from custom_components.sems.plantkit.transport.pdu import (
    read_request,
    write_multiple_request,
    write_single_request,
)

from .counting import H, serving

EVERY_TRANSPORT = list(TransportType)
# Reply delay for the reads after a late reply, so that the late reply lands while the next read waits:
# the TCP servers answer in order (it lands first anyway), the serial and UDP ones each after its delay.
_STALE_FIRST = {
    TransportType.TCP: 0.0,
    TransportType.RTU_OVER_TCP: 0.0,
    TransportType.SERIAL: 0.25,
    TransportType.UDP: 0.25,
}
pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.mark.parametrize("transport_type", EVERY_TRANSPORT)
async def test_writes_are_confirmed_by_their_echo(transport_type: TransportType) -> None:
    async with serving(transport_type) as (server, endpoint), create_transport(endpoint) as transport:
        await transport.write_register(1, 150, 7)
        await transport.write_registers(1, 160, [1, 2, 3])
        assert await transport.read_registers(1, H, 150, 1) == [7]
        assert await transport.read_registers(1, H, 159, 5) == [159, 1, 2, 3, 163]
        assert [(r.function, r.address, r.count) for r in server.requests[:2]] == [(6, 150, 1), (16, 160, 3)]
        with pytest.raises(ModbusExceptionError) as err:
            await transport.write_registers(1, 299, [1, 2])  # 300 does not exist
        assert err.value.code == 2
        assert await transport.read_registers(1, H, 299, 1) == [299]  # nothing was written
        with pytest.raises(ValueError, match="65535"):
            await transport.write_register(1, 150, 70000)


@pytest.mark.parametrize("transport_type", EVERY_TRANSPORT)
async def test_foreign_frames_are_skipped(transport_type: TransportType) -> None:
    """Another client's reply (same unit and function, another length) before every real one."""
    async with serving(transport_type) as (server, endpoint), create_transport(endpoint) as transport:
        server.faults.foreign = 1.0
        for address in range(100, 120):
            assert await transport.read_registers(1, H, address, 3) == [address, address + 1, address + 2]
        assert server.count() == 20  # each answered by its own reply: no retries needed


@pytest.mark.parametrize("transport_type", EVERY_TRANSPORT)
async def test_slow_device_answers_within_the_retries(transport_type: TransportType) -> None:
    """A reply later than the timeout, but before the retry's, answers the request; the reply to the
    retry that follows is stale and must not answer the next request of the same shape."""
    async with (
        serving(transport_type, request_timeout=0.3, retries=1) as (server, endpoint),
        create_transport(endpoint) as transport,
    ):
        server.faults.delay = 0.45
        assert await transport.read_registers(1, H, 100, 2) == [100, 101]
        server.faults.delay = _STALE_FIRST[transport_type]
        for address in (110, 120, 130):
            assert await transport.read_registers(1, H, address, 2) == [address, address + 1]


@pytest.mark.parametrize("transport_type", EVERY_TRANSPORT)
async def test_late_reply_to_an_earlier_request_is_never_taken(transport_type: TransportType) -> None:
    """RTU has no transaction id: after a timeout the connection is replaced (TCP gateways), the line
    drained (serial) or the socket fresh (UDP), so the late reply cannot answer the next read."""
    async with (
        serving(transport_type, request_timeout=0.3) as (server, endpoint),
        create_transport(endpoint) as transport,
    ):
        server.faults.delay = 0.45
        with pytest.raises(PlantTimeoutError):
            await transport.read_registers(1, H, 100, 2)
        server.faults.delay = _STALE_FIRST[transport_type]
        assert await transport.read_registers(1, H, 102, 2) == [102, 103]
        assert await transport.read_registers(1, H, 104, 2) == [104, 105]


@pytest.mark.parametrize("transport_type", [TransportType.TCP, TransportType.UDP])
async def test_late_duplicates_never_answer_a_later_request(transport_type: TransportType) -> None:
    """A dongle that sends a reply twice, the second time while the next request of the same shape waits.

    Transaction ids (TCP) and a socket per request (UDP) keep the duplicate out. RTU framings cannot
    tell a duplicate from the answer (no transaction id); RS485 lines and serial gateways do not
    duplicate replies on their own, and our own retries' replies are kept out as tested above.
    """
    async with (
        serving(transport_type, request_timeout=0.5) as (server, endpoint),
        create_transport(endpoint) as transport,
    ):
        server.faults.delay = 0.05
        server.faults.duplicate = 1.0
        server.faults.duplicate_delay = 0.02
        for address in range(100, 110):
            assert await transport.read_registers(1, H, address, 1) == [address]


async def test_corrupted_datagram_is_a_failed_attempt_retried_at_once() -> None:
    async with (
        serving(TransportType.UDP, request_timeout=2.0, retries=2) as (server, endpoint),
        create_transport(endpoint) as transport,
    ):
        server.faults.bad_crc = 1.0
        started = time.monotonic()
        with pytest.raises(PlantTimeoutError, match="3 corrupted datagrams"):
            await transport.read_registers(1, H, 100, 2)
        assert time.monotonic() - started < 1.0  # no attempt waited for its timeout
        assert server.count() == 3
    async with (
        serving(TransportType.UDP, request_timeout=2.0, retries=5) as (server, endpoint),
        create_transport(endpoint) as transport,
    ):
        server.faults.bad_crc = 0.3
        for address in range(100, 130):
            assert await transport.read_registers(1, H, address, 2) == [address, address + 1]
        assert server.count() > 30  # some were asked again


@pytest.mark.parametrize("transport_type", [TransportType.RTU_OVER_TCP, TransportType.SERIAL])
async def test_line_noise_before_every_reply(transport_type: TransportType) -> None:
    async with serving(transport_type) as (server, endpoint), create_transport(endpoint) as transport:
        server.faults.line_noise = 1024
        for address in range(100, 110):
            assert await transport.read_registers(1, H, address, 125 if address < 175 else 1) == list(
                range(address, address + 125)
            )


@pytest.mark.parametrize("transport_type", [TransportType.TCP, TransportType.RTU_OVER_TCP])
async def test_gateway_closing_on_unknown_units_fails_at_once(transport_type: TransportType) -> None:
    async with serving(transport_type, request_timeout=2.0) as (server, endpoint):
        server.faults.close_unknown_units = True
        async with create_transport(endpoint) as transport:
            assert await transport.read_registers(1, H, 100, 1) == [100]
            started = time.monotonic()
            with pytest.raises(ConnectionClosedError):
                await transport.read_registers(9, H, 100, 1)
            assert time.monotonic() - started < 1.0
            assert await transport.read_registers(1, H, 101, 1) == [101]  # reconnected


async def test_unplugged_serial_adapter_fails_at_once() -> None:
    async with serving(TransportType.SERIAL, request_timeout=2.0) as (server, endpoint):
        transport = create_transport(endpoint)
        assert await transport.read_registers(1, H, 100, 1) == [100]
        await server.stop()  # the pty goes away, as an unplugged USB adapter does
        started = time.monotonic()
        with pytest.raises(PlantConnectionError):
            await transport.read_registers(1, H, 100, 1)
        assert time.monotonic() - started < 1.0
        await transport.close()


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: read_request(256, H, 0, 1), "unit id"),
        (lambda: read_request(1, H, 65535, 2), "outside"),
        (lambda: read_request(1, H, 0, 126), "count"),
        (lambda: write_single_request(1, 0, -1), "65535"),
        (lambda: write_multiple_request(1, 0, []), "1..123"),
        (lambda: write_multiple_request(1, 0, [0x10000]), "65535"),
    ],
)
def test_impossible_requests_are_refused_before_sending(make: Callable[[], object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()
