"""Searches built on the sweep engine: a network range, the responders of a broadcast, a gateway's units."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv4Network

from ..client import PlantClient
from ..exceptions import PlantTimeoutError, UnsupportedDeviceError
from ..model import DeviceIdentity
from ..profiles.base import Profile
from ..transport import Endpoint, TransportType
from ..transport.base import DEFAULT_PORTS
from .probe import Found, is_serial_path
from .reach import TcpConnector, tcp_port_open
from .scope import ScanScope, ScanScopeError
from .settings import DEFAULT_SETTINGS, DiscoverySettings
from .sweep import Progress, ScanReport, SweepSettings, sweep

# Unit ids: 1-247 are RTU addresses; TCP-native devices may also answer 248-255 (255 = "the device
# itself"). 0 is the RTU broadcast address: devices act on it without answering, so it is never probed.
VALID_UNIT_IDS = range(1, 256)

type FractionProgress = Callable[[float], None]  # fraction done, 0..1


async def scan_network(
    networks: Sequence[IPv4Network],
    *,
    settings: DiscoverySettings = DEFAULT_SETTINGS,
    allowed: Sequence[IPv4Network] | None = None,
    budget: float | None = None,
    unit_ids: Sequence[int] | None = None,
    profiles: Sequence[Profile] | None = None,
    progress: Progress | None = None,
    connector: TcpConnector = tcp_port_open,
) -> ScanReport:
    """Find supported devices on every host of ``networks``.

    Every host gets a TCP connect on each of ``settings.tcp_ports`` and, unless ``settings.udp_port``
    is None, a GoodWe UDP round trip; what answers is identified (every profile, or ``profiles``). Only
    hosts inside ``networks`` (and inside ``allowed``, when given: pass the networks of the local
    adapters) are ever contacted. Raises ``ScanScopeError`` for networks that are too large (more than
    ``settings.max_addresses`` in all), special-purpose, or outside ``allowed``; without ``allowed``
    only private networks are accepted. When ``budget`` seconds (None: ``settings.search.budget``) run
    out, the report holds what was found so far (``complete`` False).
    """
    udp = [settings.udp_port] if settings.udp_port is not None else []
    for port in (*settings.tcp_ports, *udp):
        if not 0 < port < 65536:
            raise ValueError(f"invalid port {port}")
    scope = ScanScope(networks, allowed=allowed, max_addresses=settings.max_addresses)
    endpoints: list[Endpoint] = []
    for host in scope.hosts():
        endpoints.extend(Endpoint(host, port, TransportType.TCP) for port in settings.tcp_ports)
        endpoints.extend(Endpoint(host, port, TransportType.UDP) for port in udp)
    sweep_settings = SweepSettings(
        settings.connect_timeout, settings.search, _unit_list(unit_ids), profiles, connector
    )
    return await sweep(
        endpoints,
        require=scope.require,
        settings=sweep_settings,
        concurrency=settings.concurrency,
        budget=settings.search.budget if budget is None else budget,
        progress=progress,
    )


async def identify_responders(
    hosts: Iterable[str],
    *,
    settings: DiscoverySettings = DEFAULT_SETTINGS,
    budget: float | None = None,
    unit_ids: Sequence[int] | None = None,
    profiles: Sequence[Profile] | None = None,
) -> dict[str, Found | None]:
    """Identify what sits behind each discovered dongle: GoodWe UDP on ``settings.udp_port`` first (every
    dongle speaks it), then Modbus TCP on the first of ``settings.tcp_ports`` (only some dongles enable
    it), ``settings.responder_concurrency`` endpoints at a time.

    ``hosts`` are IPv4 addresses, usually ``DongleReply.source``. Maps every host to the endpoint where
    its devices were identified (GoodWe UDP when both framings answer), or to None (nothing identified,
    or the ``budget``, None: ``settings.responder_budget``, ran out first).
    """
    addresses = list(dict.fromkeys(str(IPv4Address(host)) for host in hosts))
    preference: list[tuple[TransportType, int]] = []
    if settings.udp_port is not None:
        preference.append((TransportType.UDP, settings.udp_port))
    if settings.tcp_ports:
        preference.append((TransportType.TCP, settings.tcp_ports[0]))
    endpoints = [Endpoint(host, port, transport) for host in addresses for transport, port in preference]

    def require(host: str) -> None:
        if host not in addresses:
            raise ScanScopeError(f"{host} is not one of the responders")

    sweep_settings = SweepSettings(settings.connect_timeout, settings.search, _unit_list(unit_ids), profiles)
    report = await sweep(
        endpoints,
        require=require,
        settings=sweep_settings,
        concurrency=settings.responder_concurrency,
        budget=settings.responder_budget if budget is None else budget,
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

    def distinct_devices(self) -> tuple[DeviceIdentity, ...]:
        """Each device once, at the first unit id it answered on (many Modbus TCP devices answer on
        every unit id)."""
        seen: dict[str, DeviceIdentity] = {}
        for device in self.devices:
            seen.setdefault(device.key, device)
        return tuple(seen.values())


async def scan_units(
    endpoint: Endpoint,
    *,
    settings: DiscoverySettings = DEFAULT_SETTINGS,
    unit_ids: Iterable[int] | None = None,
    profiles: Sequence[Profile] | None = None,
    progress: Progress | None = None,
) -> UnitScanReport:
    """Probe every unit id behind one endpoint (parallel inverters, meters on an RS485 chain).

    Asks ``unit_ids`` (None: ``settings.unit_scan_ids``) one after another on a single connection
    (behind a gateway they share one bus), each request waiting ``settings.unit_scan.timeout`` with its
    retries, all within its budget. A silent or unknown unit is skipped; a refused or broken connection
    raises ``PlantConnectionError``.
    """
    limits = settings.unit_scan
    units = _unit_list(settings.unit_scan_ids if unit_ids is None else unit_ids) or []
    probing = replace(endpoint, timeout=limits.timeout, retries=limits.retries)
    devices: list[DeviceIdentity] = []
    checked: list[int] = []
    complete = True
    client = PlantClient(probing, profiles=profiles)
    try:
        async with asyncio.timeout(limits.budget):
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


async def unit_scan(
    endpoint: Endpoint,
    settings: DiscoverySettings = DEFAULT_SETTINGS,
    progress: FractionProgress | None = None,
) -> Found:
    """``scan_units`` for a person: each device once (``UnitScanReport.distinct_devices``), progress as
    a fraction; raises ``PlantTimeoutError`` when no unit has a supported device."""
    report = await scan_units(endpoint, settings=settings, progress=as_fraction(progress))
    devices = report.distinct_devices()
    if not devices:
        asked = len(report.checked)
        raise PlantTimeoutError(f"no unit of {asked} asked at {endpoint} has a supported device")
    return Found(endpoint, devices)


async def unit_scan_endpoint(
    host: str,
    transport: TransportType | None,
    port: int | None,
    settings: DiscoverySettings = DEFAULT_SETTINGS,
) -> Endpoint:
    """The endpoint a unit scan uses. Automatic (None) takes a serial port's path as serial, else Modbus
    TCP when its port accepts a connection within two unit-scan timeouts, else GoodWe UDP (the order of
    ``transport_candidates``)."""
    if transport is None:
        if is_serial_path(host):
            return Endpoint(host, 0, TransportType.SERIAL)
        tcp_port = port or DEFAULT_PORTS[TransportType.TCP]
        if await tcp_port_open(host, tcp_port, settings.unit_scan.timeout * 2):
            return Endpoint(host, tcp_port, TransportType.TCP)
        return Endpoint(host, port or DEFAULT_PORTS[TransportType.UDP], TransportType.UDP)
    if transport is TransportType.SERIAL:
        return Endpoint(host, 0, transport)
    return Endpoint(host, port or DEFAULT_PORTS[transport], transport)


def as_fraction(progress: FractionProgress | None) -> Progress | None:
    """A (done, planned) progress callback that reports the fraction done to ``progress``."""
    if progress is None:
        return None
    report = progress

    def fraction(done: int, planned: int) -> None:
        report(done / planned)

    return fraction


def _unit_list(unit_ids: Iterable[int] | None) -> list[int] | None:
    if unit_ids is None:
        return None
    units = list(dict.fromkeys(unit_ids))
    for unit_id in units:
        if unit_id not in VALID_UNIT_IDS:
            raise ValueError(f"unit id {unit_id} is outside 1..255")
    return units
