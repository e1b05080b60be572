"""Cheap reachability checks run before the (slower) identification of an endpoint.

A scan checks hundreds of endpoints where nothing listens; identifying each would cost several request
timeouts, so first one TCP connect or one UDP round trip tells whether anything is there at all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from ..profiles.goodwe import UDP_PINGS
from ..registers import RegisterKind
from ..transport.goodwe_udp import PREFIX as AA55
from ..transport.rtu import build_read_request

# (host, port, seconds) -> whether a TCP connection was accepted. Injectable so tests can watch every
# connection attempt of a scan.
type TcpConnector = Callable[[str, int, float], Awaitable[bool]]

# GoodWe dongles forward requests to the inverter on RS485, so the check asks what an inverter surely
# has: the first register of the ET and DT device-info blocks, at their default addresses. Any datagram
# back (data or a Modbus exception) means something speaks the framing, and the unit id in the reply
# tells the identification where to look (it saves the full timeouts of asking the absent unit).
GOODWE_UDP_PINGS: tuple[tuple[int, int], ...] = UDP_PINGS
UDP_PING_SENDS = 2  # UDP is lossy: one resend before calling a host silent


async def tcp_port_open(host: str, port: int, within: float) -> bool:
    """True when a TCP connection to ``host:port`` is accepted ``within`` seconds (then closed again)."""
    try:
        async with asyncio.timeout(within):
            _, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


class _UdpAnswers(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.answered = False
        self.unreachable = False  # ICMP port unreachable: nothing listens there
        self.units: set[int] = set()
        self.event = asyncio.Event()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.answered = True
        if len(data) > len(AA55) and data.startswith(AA55):
            self.units.add(data[len(AA55)])  # the RTU reply starts with the unit id that answered
        self.event.set()

    def error_received(self, exc: Exception) -> None:
        self.unreachable = True
        self.event.set()


async def goodwe_udp_units(host: str, port: int, within: float) -> frozenset[int] | None:
    """Which unit ids answer GoodWe UDP reads at ``host:port`` (``within`` seconds per attempt).

    None: nothing answered. An empty set: something answered, but in no recognisable frame.
    """
    loop = asyncio.get_running_loop()
    protocol = _UdpAnswers()
    try:
        transport, _ = await loop.create_datagram_endpoint(lambda: protocol, remote_addr=(host, port))
    except OSError:
        return None
    try:
        for _ in range(UDP_PING_SENDS):
            for unit_id, address in GOODWE_UDP_PINGS:
                transport.sendto(build_read_request(unit_id, RegisterKind.HOLDING, address, 1))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(within):
                    await protocol.event.wait()
            if protocol.answered:
                # The other unit's answer may be a moment behind the first one.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(within / 4):
                        while len(protocol.units) < len(GOODWE_UDP_PINGS):
                            protocol.event.clear()
                            await protocol.event.wait()
                return frozenset(protocol.units)
            if protocol.unreachable:
                return None
        return None
    finally:
        transport.close()
