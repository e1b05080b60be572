"""Discovery responders for simulated devices, on loopback only.

- ``DongleResponder``: a GoodWe/Hi-Flying Wi-Fi module answering the UDP query ``WIFIKIT-214028-READ``
  with ``<ip>,<mac>,<name>``, bound to one 127.0.0.x address.
- ``ZeroconfAnnouncer``: ``_modbus._tcp.local.`` services for simulated devices (TXT manufacturer, model,
  serial, port, unit), through a zeroconf instance tied to the loopback interface.

Loopback containment of zeroconf: its listening socket is bound to 0.0.0.0:5353 (python-zeroconf offers
no way to narrow that), but with ``interfaces=["127.0.0.1"]`` it joins the mDNS group on ``lo`` only, and
its only multicast sender is bound to 127.0.0.1 with ``IP_MULTICAST_IF`` = 127.0.0.1, so multicast
leaves through ``lo`` (checked by ``assert_loopback_senders`` before anything is registered). Unicast
answers go back through whichever socket heard the question, the wildcard one included, so a querier
that reached it from another interface would get one: ``LoopbackZeroconf`` drops every packet addressed
outside 127.0.0.0/8 (the test records every ``sendto`` to check this).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, ip_address

from zeroconf import IPVersion, Zeroconf
from zeroconf._protocol.outgoing import DNSOutgoing
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from custom_components.sems.plantkit.discovery.broadcast import DONGLE_DISCOVERY_PORT, WIFIKIT_QUERY

MODBUS_SERVICE_TYPE = "_modbus._tcp.local."
HI_FLYING_OUI = "ac:cf:23"  # Hi-Flying's MAC prefix, the maker of GoodWe's dongle modules


def _require_loopback(host: str) -> IPv4Address:
    address = IPv4Address(host)
    if not address.is_loopback:
        raise ValueError(f"{host}: the simulator only uses loopback addresses (127.0.0.0/8)")
    return address


def fake_mac(host: str) -> str:
    """A stable, Hi-Flying-looking MAC for a loopback address (the last three octets of the address)."""
    octets = _require_loopback(host).packed[1:]
    return HI_FLYING_OUI + "".join(f":{octet:02x}" for octet in octets)


class DongleResponder:
    """Answers the Wi-Fi module discovery query like a GoodWe dongle, from one loopback address."""

    def __init__(
        self,
        host: str,
        port: int = DONGLE_DISCOVERY_PORT,
        *,
        name: str = "HF_E20",
        mac: str | None = None,
        reply: bytes | None = None,
        delay: float = 0.0,
    ) -> None:
        _require_loopback(host)
        self.host = host
        self.port = port
        self.reply = reply if reply is not None else f"{host},{mac or fake_mac(host)},{name}".encode("ascii")
        self.delay = delay  # seconds before answering (a slow module)
        self.queries = 0  # discovery queries received
        self._transport: asyncio.DatagramTransport | None = None
        self._pending: set[asyncio.TimerHandle] = set()

    async def start(self) -> None:
        """Listen; with port 0 a free port is chosen (see ``port``)."""
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: _DongleProtocol(self), local_addr=(self.host, self.port)
        )
        self.port = self._transport.get_extra_info("sockname")[1]

    async def stop(self) -> None:
        """Stop answering; replies still waiting for their delay are dropped."""
        for handle in self._pending:
            handle.cancel()
        self._pending.clear()
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def _answer(self, addr: tuple[str | int, ...]) -> None:
        self.queries += 1
        if not ip_address(str(addr[0])).is_loopback:
            return  # cannot happen on a loopback socket; never answer anything else anyway
        if self.delay:
            loop = asyncio.get_running_loop()
            self._pending.add(loop.call_later(self.delay, self._send, addr))
        else:
            self._send(addr)

    def _send(self, addr: tuple[str | int, ...]) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.sendto(self.reply, addr)


class _DongleProtocol(asyncio.DatagramProtocol):
    def __init__(self, responder: DongleResponder) -> None:
        self.responder = responder

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if data.strip() == WIFIKIT_QUERY:
            self.responder._answer(addr)


@dataclass(frozen=True, slots=True)
class AnnouncedDevice:
    """One simulated Modbus TCP device to announce."""

    host: str
    port: int
    manufacturer: str
    model: str
    serial: str
    unit_id: int

    def service_info(self) -> AsyncServiceInfo:
        """The zeroconf record: instance "<model> <serial>", host name "sim-<serial>.local."."""
        _require_loopback(self.host)
        return AsyncServiceInfo(
            MODBUS_SERVICE_TYPE,
            f"{self.model} {self.serial}.{MODBUS_SERVICE_TYPE}",
            port=self.port,
            properties={
                "manufacturer": self.manufacturer,
                "model": self.model,
                "serial": self.serial,
                "port": str(self.port),
                "unit": str(self.unit_id),
            },
            server=f"sim-{self.serial.lower()}.local.",
            parsed_addresses=[self.host],
        )


class LoopbackZeroconf(Zeroconf):
    """A zeroconf instance on the loopback interface that never sends a packet anywhere else."""

    def __init__(self) -> None:
        super().__init__(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)

    def async_send(
        self,
        out: DNSOutgoing,
        addr: str | None = None,
        port: int = 5353,
        v6_flow_scope: tuple[()] | tuple[int, int] = (),
        transport: object | None = None,
    ) -> None:
        # addr None = multicast, which goes out through the loopback-bound sending socket only.
        if addr is not None and not ip_address(addr).is_loopback:
            return
        super().async_send(out, addr, port, v6_flow_scope, transport)  # type: ignore[arg-type]


def assert_loopback_senders(zc: Zeroconf) -> None:
    """Raise unless every socket zeroconf sends from is bound to, and multicasts through, loopback."""
    if not zc.engine.senders:
        raise RuntimeError("zeroconf has no sending socket")
    for sender in zc.engine.senders:
        sock = sender.transport.get_extra_info("socket")
        bound = ip_address(sock.getsockname()[0])
        multicast_if = ip_address(sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, 4))
        if not (bound.is_loopback and multicast_if.is_loopback):
            raise RuntimeError(f"zeroconf would send from {bound} through {multicast_if}, not loopback")


def loopback_zeroconf() -> AsyncZeroconf:
    """An asyncio zeroconf restricted to loopback (for the announcer, and for tests that browse it)."""
    return AsyncZeroconf(zc=LoopbackZeroconf())


class ZeroconfAnnouncer:
    """Registers ``_modbus._tcp.local.`` services for simulated devices, on loopback only."""

    def __init__(self, devices: Sequence[AnnouncedDevice]) -> None:
        self.devices = tuple(devices)
        self.zeroconf: AsyncZeroconf | None = None

    async def start(self) -> None:
        """Register every device (mDNS probing takes about a second)."""
        self.zeroconf = loopback_zeroconf()
        await self.zeroconf.zeroconf.async_wait_for_start()
        try:
            assert_loopback_senders(self.zeroconf.zeroconf)
        except RuntimeError:
            await self.stop()
            raise
        registrations = [
            await self.zeroconf.async_register_service(device.service_info()) for device in self.devices
        ]
        await asyncio.gather(*registrations)

    async def stop(self) -> None:
        """Say goodbye for every service and close the sockets."""
        if self.zeroconf is not None:
            await self.zeroconf.async_close()
            self.zeroconf = None
