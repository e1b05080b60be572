"""Searches built on the sweep engine: a network range, the responders of a broadcast, a gateway's units."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv4Network

from ..client import PlantClient
from ..exceptions import PlantTimeoutError, UnsupportedDeviceError
from ..model import DeviceIdentity
from ..profiles.base import Profile
from ..transport import Endpoint, TransportType
from ..transport.base import DEFAULT_PORTS
from .reach import TcpConnector, tcp_port_open
from .scope import DEFAULT_MAX_ADDRESSES, ScanScope, ScanScopeError
from .sweep import Found, Progress, ScanReport, SweepSettings, sweep

MODBUS_TCP_PORTS = (502, 1502)  # 1502: SolarEdge's default Modbus TCP port
GOODWE_UDP_PORT = DEFAULT_PORTS[TransportType.UDP]
# Unit ids: 1-247 are RTU addresses; TCP-native devices may also answer 248-255 (255 = "the device
# itself"). 0 is the RTU broadcast address: devices act on it without answering, so it is never probed.
VALID_UNIT_IDS = range(1, 256)


async def scan_network(
    networks: Sequence[IPv4Network],
    *,
    ports: Sequence[int] = MODBUS_TCP_PORTS,
    udp_port: int | None = GOODWE_UDP_PORT,
    unit_ids: Sequence[int] | None = None,
    concurrency: int = 32,
    budget: float = 60.0,
    connect_timeout: float = 0.5,
    probe_timeout: float = 1.0,
    progress: Progress | None = None,
    allowed: Sequence[IPv4Network] | None = None,
    max_addresses: int = DEFAULT_MAX_ADDRESSES,
    profiles: Sequence[Profile] | None = None,
    connector: TcpConnector = tcp_port_open,
) -> ScanReport:
    """Find supported devices on every host of ``networks``.

    Every host gets a TCP connect on each of ``ports`` and, unless ``udp_port`` is None, a GoodWe UDP
    round trip; what answers is identified (SunSpec, GoodWe, Eastron). Only hosts inside ``networks``
    (and inside ``allowed``, when given: pass the networks of the local adapters) are ever contacted.
    Raises ``ScanScopeError`` for networks that are too large (more than ``max_addresses`` in all),
    special-purpose, or outside ``allowed``; without ``allowed`` only private networks are accepted.
    When ``budget`` seconds run out, the report holds what was found so far (``complete`` False).
    """
    for port in (*ports, *([udp_port] if udp_port is not None else [])):
        if not 0 < port < 65536:
            raise ValueError(f"invalid port {port}")
    scope = ScanScope(networks, allowed=allowed, max_addresses=max_addresses)
    endpoints: list[Endpoint] = []
    for host in scope.hosts():
        endpoints.extend(Endpoint(host, port, TransportType.TCP) for port in ports)
        if udp_port is not None:
            endpoints.append(Endpoint(host, udp_port, TransportType.UDP))
    settings = SweepSettings(connect_timeout, probe_timeout, _unit_list(unit_ids), profiles, connector)
    return await sweep(
        endpoints,
        require=scope.require,
        settings=settings,
        concurrency=concurrency,
        budget=budget,
        progress=progress,
    )


async def identify_responders(
    hosts: Iterable[str],
    *,
    udp_port: int | None = GOODWE_UDP_PORT,
    tcp_port: int | None = MODBUS_TCP_PORTS[0],
    unit_ids: Sequence[int] | None = None,
    concurrency: int = 4,
    budget: float = 30.0,
    connect_timeout: float = 0.5,
    probe_timeout: float = 1.0,
    profiles: Sequence[Profile] | None = None,
) -> dict[str, Found | None]:
    """Identify what sits behind each discovered dongle: GoodWe UDP first (every dongle speaks it), then
    Modbus TCP (only some dongles enable it).

    ``hosts`` are IPv4 addresses, usually ``DongleReply.source``. Maps every host to the endpoint where
    its devices were identified (GoodWe UDP when both framings answer), or to None (nothing identified,
    or the budget ran out first).
    """
    addresses = list(dict.fromkeys(str(IPv4Address(host)) for host in hosts))
    preference: list[tuple[TransportType, int]] = []
    if udp_port is not None:
        preference.append((TransportType.UDP, udp_port))
    if tcp_port is not None:
        preference.append((TransportType.TCP, tcp_port))
    endpoints = [Endpoint(host, port, transport) for host in addresses for transport, port in preference]

    def require(host: str) -> None:
        if host not in addresses:
            raise ScanScopeError(f"{host} is not one of the responders")

    settings = SweepSettings(connect_timeout, probe_timeout, _unit_list(unit_ids), profiles)
    report = await sweep(
        endpoints, require=require, settings=settings, concurrency=concurrency, budget=budget
    )
    result: dict[str, Found | None] = dict.fromkeys(addresses)
    for transport, port in reversed(preference):  # the preferred framing is written last and wins
        for found in report.found:
            if found.transport is transport and found.port == port:
                result[found.host] = found
    return result


@dataclass(frozen=True, slots=True)
class UnitScanReport:
    """Devices found behind one endpoint; ``complete`` is False when the budget ran out first."""

    endpoint: Endpoint
    devices: tuple[DeviceIdentity, ...]
    complete: bool
    checked: tuple[int, ...]  # unit ids probed to the end

    @property
    def unit_ids(self) -> tuple[int, ...]:
        """Unit ids with at least one device, ascending."""
        return tuple(sorted({device.unit_id for device in self.devices}))


async def scan_units(
    endpoint: Endpoint,
    unit_ids: Iterable[int],
    *,
    request_timeout: float | None = None,
    budget: float | None = None,
    profiles: Sequence[Profile] | None = None,
    progress: Progress | None = None,
) -> UnitScanReport:
    """Probe every unit id behind one endpoint (parallel inverters, meters on an RS485 chain).

    Units are probed one after another on a single connection: behind a gateway they share one bus.
    A silent or unknown unit is skipped; a refused or broken connection raises ``PlantConnectionError``.
    ``request_timeout`` overrides the endpoint's per-request timeout (a silent unit costs about that much).
    """
    units = _unit_list(unit_ids) or []
    probing = endpoint if request_timeout is None else replace(endpoint, timeout=request_timeout)
    devices: list[DeviceIdentity] = []
    checked: list[int] = []
    complete = True
    client = PlantClient(probing, profiles=profiles)
    try:
        async with asyncio.timeout(budget):
            for unit_id in units:
                with contextlib.suppress(UnsupportedDeviceError, PlantTimeoutError):  # nothing known there
                    devices.extend(await client.probe([unit_id]))
                checked.append(unit_id)
                if progress is not None:
                    progress(len(checked), len(units))
    except TimeoutError:
        complete = False
    finally:
        await client.close()
    return UnitScanReport(endpoint, tuple(devices), complete, tuple(checked))


def _unit_list(unit_ids: Iterable[int] | None) -> list[int] | None:
    if unit_ids is None:
        return None
    units = list(dict.fromkeys(unit_ids))
    for unit_id in units:
        if unit_id not in VALID_UNIT_IDS:
            raise ValueError(f"unit id {unit_id} is outside 1..255")
    return units
