"""Simulated devices on several loopback addresses, and a record of every contact (not a test module).

pytest-socket, as set up by the Home Assistant test plugin, lets sockets connect to the literal 127.0.0.1
only, and its ``allow_hosts`` marker is overridden by the plugin. ``ContactLog.allow`` therefore calls
``pytest_socket.socket_allow_hosts`` itself (after ``socket_enabled``), which widens the list to the
127.0.0.0/28 test hosts for one test; pytest-socket resets it after the test. On top of that guard it
records the destination of every ``connect()`` and ``sendto()``, so tests can prove what was contacted,
independently of the scanner's own bookkeeping. The library's and Home Assistant's discovery tests both
use these (through their ``contacts`` and ``sims`` fixtures).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from dataclasses import replace
from ipaddress import IPv4Network
from typing import Any

import pytest_socket  # type: ignore[import-untyped]

from custom_components.sems.plantkit.discovery import DEFAULT_SETTINGS, DiscoverySettings
from simulator.device import SimDevice
from simulator.devices.eastron import Sdm630Sim
from simulator.devices.goodwe import GoodWeDtSim, GoodWeEtSim
from simulator.devices.sunspec import SunSpecInverterSim, SunSpecMeterSim
from simulator.discovery import DongleResponder
from simulator.physics import PlantPhysics
from simulator.server import SimServer

TEST_NET = IPv4Network("127.0.0.0/28")
TEST_HOSTS = [str(host) for host in TEST_NET.hosts()]  # 127.0.0.1 .. 127.0.0.14
OUTSIDE_HOST = "127.0.0.20"  # a device lives here too: no scan of TEST_NET may touch it


class ContactLog:
    """Records where every Python socket connects and sends to, on top of pytest-socket's guard."""

    def __init__(self) -> None:
        self.connects: list[str] = []
        self.sends: list[tuple[str, str]] = []  # (bound address, destination)
        self._restore: Callable[[], None] | None = None

    def allow(self, hosts: Sequence[str]) -> None:
        """Let sockets connect to exactly ``hosts`` (everything else raises) and record every contact."""
        self.uninstall()
        pytest_socket.socket_allow_hosts(list(hosts))
        guarded_connect = socket.socket.connect
        plain_sendto = socket.socket.sendto  # inherited from _socket.socket: removed again, not reassigned
        log = self

        def connect(sock: socket.socket, address: Any) -> Any:
            if sock.family == socket.AF_INET:
                log.connects.append(address[0])
            return guarded_connect(sock, address)

        def sendto(sock: socket.socket, data: Any, *args: Any) -> Any:
            if sock.family == socket.AF_INET:
                log.sends.append((sock.getsockname()[0], args[-1][0]))
            return plain_sendto(sock, data, *args)

        assert "sendto" not in socket.socket.__dict__
        socket.socket.connect = connect  # type: ignore[method-assign,assignment]
        socket.socket.sendto = sendto  # type: ignore[method-assign,assignment]

        def restore() -> None:
            # pytest-socket may already have put its own connect back after the test: keep that one.
            if socket.socket.connect is connect:
                socket.socket.connect = guarded_connect  # type: ignore[method-assign]
            if socket.socket.__dict__.get("sendto") is sendto:
                del socket.socket.sendto

        self._restore = restore

    def uninstall(self) -> None:
        """Remove the recorders (pytest-socket resets its own guard after the test)."""
        if self._restore is not None:
            self._restore()
            self._restore = None

    @property
    def destinations(self) -> set[str]:
        """Every address connected or sent to."""
        return set(self.connects) | {destination for _, destination in self.sends}


class Sims:
    """Simulated servers on several loopback addresses, sharing one TCP and one UDP port."""

    def __init__(self) -> None:
        self.servers: list[SimServer] = []
        self.tcp_port = 0
        self.udp_port = 0
        self.state = PlantPhysics().state
        self.reserved: socket.socket | None = None

    async def serve(self, host: str, framing: str, *devices: SimDevice, port: int | None = None) -> SimServer:
        for device in devices:
            device.render(self.state)
        shared = self.udp_port if framing == "udp" else self.tcp_port
        if port is None and not shared and framing != "udp":
            shared = self.tcp_port = self._reserve_tcp_port()
        server = SimServer(list(devices), framing, host, shared if port is None else port)
        await server.start()
        self.servers.append(server)
        if port is None and not shared:  # the first server of its kind picks the port the others share
            self.udp_port = server.port
        return server

    def _reserve_tcp_port(self) -> int:
        """Pick the shared TCP port on 127.0.0.1 and hold it there (bound, not listening): scans of the test
        network include 127.0.0.1, and no other process may listen there while the test expects connection
        refused. Picked there first, so another process using 127.0.0.1 can never collide with it."""
        self.reserved = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.reserved.bind(("127.0.0.1", 0))
        return int(self.reserved.getsockname()[1])

    def settings(self, base: DiscoverySettings = DEFAULT_SETTINGS, **changes: Any) -> DiscoverySettings:
        """``base`` on the shared ports (Modbus TCP and GoodWe UDP), with ``changes``."""
        return replace(base, **{"tcp_ports": (self.tcp_port,), "udp_port": self.udp_port, **changes})

    async def stop(self) -> None:
        for server in self.servers:
            await server.stop()
        if self.reserved is not None:
            self.reserved.close()


async def serve_lan(sims: Sims) -> list[DongleResponder]:
    """A small LAN for searches of 127.0.0.0/29: devices on .2-.6 (.6 over both framings), a dongle on .10
    (inside the /28 but not in the /29; it answers the dongle query), and devices on .12 and the outside
    host that nothing may touch. Returns the two dongle query responders (.3 and .10, sharing a port),
    started: the caller stops them."""
    await sims.serve("127.0.0.2", "tcp", GoodWeEtSim())
    await sims.serve("127.0.0.3", "udp", GoodWeDtSim())
    await sims.serve("127.0.0.4", "tcp", SunSpecInverterSim(), SunSpecMeterSim())
    await sims.serve("127.0.0.5", "tcp", Sdm630Sim())
    await sims.serve("127.0.0.6", "tcp", GoodWeEtSim(serial="9010KETU000SIM06"))
    await sims.serve("127.0.0.6", "udp", GoodWeEtSim(serial="9010KETU000SIM06"))  # the same one, over UDP
    await sims.serve("127.0.0.10", "udp", GoodWeEtSim(serial="9010KETU000SIM10"))
    await sims.serve("127.0.0.12", "tcp", Sdm630Sim(serial=22222222))
    await sims.serve(OUTSIDE_HOST, "tcp", Sdm630Sim(serial=99999999))
    first = DongleResponder("127.0.0.3", 0)
    await first.start()
    responders = [first, DongleResponder("127.0.0.10", first.port)]
    await responders[1].start()
    return responders


def requests(sims: Sims, host: str) -> int:
    """Requests the simulated servers at ``host`` received."""
    return sum(server.count() for server in sims.servers if server.host == host)
