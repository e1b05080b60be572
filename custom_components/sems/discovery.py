"""Discovery for the config flow: what to search, what to probe, and how a known device is followed.

Three ways in, all ending in a probe with ``PlantClient`` before anything is offered:

- zeroconf ``_modbus._tcp.local.`` announcements (TXT manufacturer, model, serial, port, unit);
- DHCP matches of SunSpec vendors and of the Hi-Flying Wi-Fi modules inside GoodWe dongles;
- "Search my network": the GoodWe/Hi-Flying broadcast query plus a bounded scan of the networks of Home
  Assistant's enabled adapters.

Every address contacted comes from Home Assistant's adapters, an announcement, or the user; the scan
never leaves the adapters' networks (plantkit's ``ScanScope`` checks every single contact).
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, ip_address
from typing import Any

from homeassistant.components import network
from homeassistant.components.network.models import Adapter
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant

from .const import (
    CONF_TRANSPORT,
    DISCOVERY_PROBE_BUDGET,
    DISCOVERY_PROBE_TIMEOUT,
    DONGLE_QUERY_WINDOW,
    LOGGER,
    RESPONDER_BUDGET,
    SEARCH_BUDGET,
    SEARCH_CONCURRENCY,
    SEARCH_CONNECT_TIMEOUT,
    SEARCH_MAX_ADDRESSES,
    SEARCH_PROBE_TIMEOUT,
    SEARCH_TCP_PORTS,
    SEARCH_UDP_PORT,
    TRANSPORT_AUTO,
    UNIT_SCAN_BUDGET,
    UNIT_SCAN_IDS,
    UNIT_SCAN_TIMEOUT,
)
from .entry_data import endpoint_from_data, probe_unit_ids, stored_devices
from .plantkit.client import PlantClient
from .plantkit.discovery import (
    DONGLE_DISCOVERY_PORT,
    Found,
    discover_goodwe_dongles,
    identify_responders,
    is_lan,
    scan_network,
    scan_units,
    suggested_networks,
    tcp_port_open,
)
from .plantkit.exceptions import PlantError, PlantTimeoutError
from .plantkit.model import DeviceIdentity
from .plantkit.naming import main_device
from .plantkit.profiles import VENDORS
from .plantkit.profiles.base import DhcpHint, Vendor
from .plantkit.transport import Endpoint, TransportType
from .plantkit.transport.base import DEFAULT_PORTS
from .probe import ProbeCandidate, ProbeResult, is_serial_path, probe_candidates

type ProgressCallback = Callable[[float], None]  # fraction done, 0..1


# --- what the search covers -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScanPlan:
    """Where a search may go, derived from Home Assistant's enabled network adapters."""

    networks: tuple[IPv4Network, ...]  # scanned host by host
    allowed: tuple[IPv4Network, ...]  # the adapters' whole networks: nothing outside is ever contacted
    broadcasts: tuple[IPv4Address, ...]  # where the dongle query goes (one per adapter network)

    def describe(self) -> str:
        """The scanned networks, for the user."""
        return ", ".join(str(net) for net in self.networks) or "-"


def scan_plan(adapters: Iterable[Adapter], max_addresses: int = SEARCH_MAX_ADDRESSES) -> ScanPlan:
    """The plan for the IPv4 networks of the enabled adapters.

    Only networks inside the private LAN ranges count (``is_lan``): loopback, link-local, public, reserved
    and other special-purpose addresses are skipped one adapter at a time, so an odd adapter never
    spoils the search of the others (scanning a data centre's neighbours is never what a user means
    either). Networks larger than a /24 are
    scanned only around Home Assistant's own address (the broadcast still reaches the whole network);
    networks that would take the scan past ``max_addresses`` are left out.
    """
    interfaces: list[IPv4Interface] = []
    for adapter in adapters:
        if not adapter["enabled"]:
            continue
        for configured in adapter["ipv4"]:
            try:
                interface = IPv4Interface(f"{configured['address']}/{configured['network_prefix']}")
            except ValueError:
                LOGGER.debug("Not searching adapter %s: %s is no IPv4 network", adapter["name"], configured)
                continue
            if not is_lan(interface.network):
                continue
            if interface not in interfaces:
                interfaces.append(interface)
    allowed = tuple(dict.fromkeys(interface.network for interface in interfaces))
    networks: list[IPv4Network] = []
    total = 0
    for candidate in suggested_networks(interfaces):
        if total + candidate.num_addresses > max_addresses:
            LOGGER.info("Not searching %s: the search is limited to %d addresses", candidate, max_addresses)
            continue
        networks.append(candidate)
        total += candidate.num_addresses
    # A /31 or /32 has no broadcast address: its one peer is covered by the scan.
    broadcasts = tuple(dict.fromkeys(net.broadcast_address for net in allowed if net.prefixlen < 31))
    return ScanPlan(tuple(networks), allowed, broadcasts)


async def async_scan_plan(hass: HomeAssistant) -> ScanPlan:
    """The plan for the adapters enabled in Home Assistant's network settings."""
    return scan_plan(await network.async_get_adapters(hass))


# --- the search ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchSettings:
    """How a search probes (the defaults are in const.py and documented in the README)."""

    tcp_ports: tuple[int, ...] = SEARCH_TCP_PORTS
    udp_port: int = SEARCH_UDP_PORT
    dongle_port: int = DONGLE_DISCOVERY_PORT
    concurrency: int = SEARCH_CONCURRENCY
    budget: float = SEARCH_BUDGET
    responder_budget: float = RESPONDER_BUDGET
    connect_timeout: float = SEARCH_CONNECT_TIMEOUT
    probe_timeout: float = SEARCH_PROBE_TIMEOUT
    dongle_window: float = DONGLE_QUERY_WINDOW


DEFAULT_SEARCH_SETTINGS = SearchSettings()


@dataclass(frozen=True, slots=True)
class SearchResult:
    """Every endpoint where supported devices answered, in address order."""

    found: tuple[Found, ...]
    complete: bool  # False when the time budget ran out before every host was checked
    checked: int  # endpoints of the scan that were checked
    dongles: int  # modules that answered the broadcast query
    seconds: float


async def async_search(
    plan: ScanPlan,
    settings: SearchSettings,
    progress: ProgressCallback,
) -> SearchResult:
    """Broadcast the dongle query and scan the plan's networks at the same time, within the budget.

    Dongles that answered the query but lie outside the scanned hosts (a large network narrowed to a
    /24, or hosts the budget did not reach) are identified afterwards, in the time kept for that.
    """
    started = time.monotonic()
    scan_budget = max(settings.budget - settings.responder_budget, settings.dongle_window)
    query = asyncio.create_task(
        discover_goodwe_dongles(plan.broadcasts, port=settings.dongle_port, window=settings.dongle_window)
    )
    try:
        report = None
        if plan.networks:
            report = await scan_network(
                plan.networks,
                ports=settings.tcp_ports,
                udp_port=settings.udp_port,
                concurrency=settings.concurrency,
                budget=scan_budget,
                connect_timeout=settings.connect_timeout,
                probe_timeout=settings.probe_timeout,
                allowed=plan.allowed,
                max_addresses=SEARCH_MAX_ADDRESSES,
                progress=_as_fraction(progress),
            )
        replies = await query
    finally:
        if not query.done():  # the scan failed or the flow was closed: stop listening for replies
            query.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await query
    found = list(report.found) if report is not None else []
    scanned = report.contacted if report is not None else frozenset()
    responders = [
        reply.source
        for reply in replies
        if reply.source not in scanned and _inside(reply.source, plan.allowed)
    ]
    remaining = settings.budget - (time.monotonic() - started)
    if responders and remaining > 0:
        identified = await identify_responders(
            responders,
            udp_port=settings.udp_port,
            tcp_port=settings.tcp_ports[0] if settings.tcp_ports else None,
            budget=remaining,
            connect_timeout=settings.connect_timeout,
            probe_timeout=settings.probe_timeout,
        )
        found.extend(result for result in identified.values() if result is not None)
    progress(1.0)
    found.sort(key=lambda f: (IPv4Address(f.host), f.port, str(f.transport)))
    return SearchResult(
        found=tuple(found),
        complete=report.complete if report is not None else True,
        checked=report.checked if report is not None else 0,
        dongles=len(replies),
        seconds=time.monotonic() - started,
    )


def _inside(host: str, networks: Sequence[IPv4Network]) -> bool:
    address = IPv4Address(host)  # a reply's source: always an IPv4 address
    return any(address in net for net in networks)


def _as_fraction(progress: ProgressCallback) -> Callable[[int, int], None]:
    """plantkit reports (done, planned); the flow wants the fraction done."""

    def fraction(done: int, planned: int) -> None:
        progress(done / planned)

    return fraction


def distinct_choices(found: Iterable[Found], configured: set[str]) -> list[Found]:
    """One choice per device: skip endpoints with an already configured device, and a device reached two
    ways (a dongle answering Modbus TCP and GoodWe UDP) is offered once, over Modbus TCP (loss-free)."""
    chosen: dict[str, Found] = {}
    for candidate in sorted(found, key=lambda f: f.transport is not TransportType.TCP):
        serials = {device.serial for device in candidate.devices}
        if serials & configured:
            continue
        key = main_device(candidate.devices).key
        chosen.setdefault(key, candidate)
    return sorted(chosen.values(), key=lambda f: (IPv4Address(f.host), f.port))


def choice_label(found: Found) -> str:
    """What a found endpoint looks like in the list: model, serial, address, unit."""
    main = main_device(found.devices)
    units = ", ".join(str(unit) for unit in found.unit_ids)
    others = len(found.devices) - 1
    extra = f" + {others} more" if others else ""
    return (
        f"{main.manufacturer} {main.model} ({main.serial}){extra} at {found.host}:{found.port} "
        f"{found.transport}, unit {units}"
    )


# --- probing announced devices ------------------------------------------------------------------------


async def async_probe_candidates(candidates: Sequence[ProbeCandidate]) -> ProbeResult:
    """Probe an announced device's candidates with discovery's short timeout and budget."""
    return await probe_candidates(
        candidates, request_timeout=DISCOVERY_PROBE_TIMEOUT, budget=DISCOVERY_PROBE_BUDGET
    )


@dataclass(frozen=True, slots=True)
class DhcpMatcher:
    """One manifest DHCP matcher (a vendor's ``DhcpHint``) and the vendor whose devices it probes."""

    hint: DhcpHint
    vendor: Vendor

    @property
    def brand(self) -> str:
        """Whose devices the matcher is for."""
        return self.hint.brand

    def manifest_entry(self) -> dict[str, str]:
        """The matcher as manifest.json lists it."""
        return self.hint.manifest_entry()

    def matches(self, mac: str, hostname: str) -> bool:
        """Home Assistant's rule: every key of the matcher must match (MAC upper case, host name lower)."""
        if self.hint.macaddress is not None and not fnmatch.fnmatch(_bare_mac(mac), self.hint.macaddress):
            return False
        return self.hint.hostname is None or fnmatch.fnmatch(hostname.lower(), self.hint.hostname)


# The registry's hints, in the manifest's order (a test keeps the two the same).
DHCP_MATCHERS: tuple[DhcpMatcher, ...] = tuple(
    DhcpMatcher(hint, vendor) for vendor in VENDORS for hint in vendor.dhcp
)


def _bare_mac(mac: str) -> str:
    return "".join(ch for ch in mac if ch.isalnum()).upper()


def dhcp_candidates(
    host: str, mac: str, hostname: str, settings: SearchSettings = DEFAULT_SEARCH_SETTINGS
) -> list[ProbeCandidate]:
    """How to probe a DHCP match: SunSpec over Modbus TCP (502, then 1502); GoodWe over UDP 8899, then
    Modbus TCP 502. Empty when no matcher fits (Home Assistant only calls us for matches, but a manual
    ``dhcp`` flow could carry anything)."""
    matcher = next((m for m in DHCP_MATCHERS if m.matches(mac, hostname)), None)
    if matcher is None:
        return []
    vendor, first_units = matcher.vendor, matcher.hint.first_units
    # A vendor whose devices speak GoodWe's UDP framing is asked that way first (the dongles' own
    # protocol), then over its first Modbus TCP port; others over each of their Modbus TCP ports.
    if vendor.udp_ports:
        udp = [Endpoint(host, settings.udp_port, TransportType.UDP)]
        endpoints = udp + [Endpoint(host, port, TransportType.TCP) for port in settings.tcp_ports[:1]]
    else:
        endpoints = [Endpoint(host, port, TransportType.TCP) for port in settings.tcp_ports]
    candidates: list[ProbeCandidate] = []
    for endpoint in endpoints:
        if first_units:
            candidates.append(ProbeCandidate(endpoint, first_units, vendor.profiles))
        candidates.append(ProbeCandidate(endpoint, None, vendor.profiles))
    return candidates


def txt_number(properties: Mapping[str, Any], key: str, lowest: int, highest: int) -> int | None:
    """An integer TXT property inside [lowest, highest], else None."""
    value = properties.get(key)
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if lowest <= number <= highest else None


# --- units behind one host ------------------------------------------------------------------------------


async def async_unit_scan_endpoint(host: str, transport: str, port: int | None) -> Endpoint:
    """The endpoint a unit scan uses. "Automatic" takes Modbus TCP when its port accepts a connection,
    else GoodWe UDP (the order of the manual probe)."""
    if transport == TRANSPORT_AUTO:
        if is_serial_path(host):
            return Endpoint(host, 0, TransportType.SERIAL)
        tcp_port = port or DEFAULT_PORTS[TransportType.TCP]
        if await tcp_port_open(host, tcp_port, UNIT_SCAN_TIMEOUT * 2):
            return Endpoint(host, tcp_port, TransportType.TCP)
        return Endpoint(host, port or DEFAULT_PORTS[TransportType.UDP], TransportType.UDP)
    kind = TransportType(transport)
    return Endpoint(host, 0 if kind is TransportType.SERIAL else port or DEFAULT_PORTS[kind], kind)


async def async_scan_units(endpoint: Endpoint, progress: ProgressCallback) -> ProbeResult:
    """Ask every unit id of ``UNIT_SCAN_IDS`` in turn, within ``UNIT_SCAN_BUDGET``; raises
    ``PlantTimeoutError`` when none has a supported device.

    Many Modbus TCP devices answer on every unit id: a device seen again at a later id is dropped.
    """
    report = await scan_units(
        replace(endpoint, retries=0),
        UNIT_SCAN_IDS,
        request_timeout=UNIT_SCAN_TIMEOUT,
        budget=UNIT_SCAN_BUDGET,
        progress=_as_fraction(progress),
    )
    devices = distinct_devices(report.devices)
    if not devices:
        raise PlantTimeoutError(f"no unit of {report.checked} asked at {endpoint} has a supported device")
    return ProbeResult(endpoint, devices)


def distinct_devices(devices: Iterable[DeviceIdentity]) -> list[DeviceIdentity]:
    """Each device once (the first unit id it answered on)."""
    seen: dict[str, DeviceIdentity] = {}
    for device in devices:
        seen.setdefault(device.key, device)
    return list(seen.values())


# --- following a configured device ----------------------------------------------------------------------


def followed_data(data: Mapping[str, Any], endpoint: Endpoint) -> dict[str, Any] | None:
    """The entry data for a configured device found at ``endpoint``, or None to leave the entry alone.

    Only an entry that stores an IP address follows its device: a host name the user typed keeps
    pointing at the device by itself, and a serial port is not on the network. The port changes only
    when the device was found in the framing the entry uses (a dongle announcing Modbus TCP keeps an
    entry that reads it over GoodWe UDP on UDP, at the new address).
    """
    host = data.get(CONF_HOST)
    if not isinstance(host, str) or data.get(CONF_TRANSPORT) == TransportType.SERIAL:
        return None
    try:
        ip_address(host)
    except ValueError:
        return None
    updates: dict[str, Any] = {CONF_HOST: endpoint.host}
    if data.get(CONF_TRANSPORT) == endpoint.transport:
        updates[CONF_PORT] = endpoint.port
    new = {**data, **updates}
    return None if new == dict(data) else new


async def async_answers_at(data: Mapping[str, Any], serial: str) -> bool:
    """Whether the device with ``serial`` still answers where an entry reads it (short probe)."""
    try:
        endpoint = endpoint_from_data(data)
    except (KeyError, ValueError):
        return False
    units = sorted({device.unit_id for device in stored_devices(data)}) or probe_unit_ids(data)
    client = PlantClient(replace(endpoint, timeout=DISCOVERY_PROBE_TIMEOUT, retries=0))
    try:
        async with asyncio.timeout(DISCOVERY_PROBE_BUDGET):
            devices = await client.probe(units)
    except (PlantError, TimeoutError):
        return False
    finally:
        await client.close()
    return any(device.serial == serial for device in devices)
