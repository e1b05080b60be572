""" "Search my network": what a search covers, the search itself, and the list a person picks from.

A search broadcasts the GoodWe/Hi-Flying dongle query and, at the same time, scans the networks of the
host's own interfaces. The caller gives the interfaces (Home Assistant: its enabled network adapters);
the plan never leaves their networks, and ``ScanScope`` checks every single contact again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from ..naming import main_device
from ..transport import TransportType
from .broadcast import discover_goodwe_dongles
from .probe import Found
from .scan import FractionProgress, as_fraction, identify_responders, scan_network
from .scope import is_lan, suggested_networks
from .settings import DEFAULT_SETTINGS, DiscoverySettings

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ScanPlan:
    """Where a search may go, derived from the host's network interfaces."""

    networks: tuple[IPv4Network, ...]  # scanned host by host
    allowed: tuple[IPv4Network, ...]  # the interfaces' whole networks: nothing outside is ever contacted
    broadcasts: tuple[IPv4Address, ...]  # where the dongle query goes (one per interface network)

    def describe(self) -> str:
        """The scanned networks, for the user."""
        return ", ".join(str(net) for net in self.networks) or "-"


def scan_plan(
    interfaces: Iterable[IPv4Interface], settings: DiscoverySettings = DEFAULT_SETTINGS
) -> ScanPlan:
    """The plan for the networks of ``interfaces`` (each counted once, in the order given).

    Only networks inside the private LAN ranges count (``is_lan``): loopback, link-local, public, reserved
    and other special-purpose addresses are skipped one interface at a time, so an odd one never spoils
    the search of the others (scanning a data centre's neighbours is never what a user means either).
    Networks larger than ``settings.search_prefix`` are scanned only around the host's own address (the
    broadcast still reaches the whole network); networks that would take the scan past
    ``settings.max_addresses`` are left out.
    """
    lan = list(dict.fromkeys(interface for interface in interfaces if is_lan(interface.network)))
    allowed = tuple(dict.fromkeys(interface.network for interface in lan))
    networks: list[IPv4Network] = []
    total = 0
    for candidate in suggested_networks(lan, prefix=settings.search_prefix):
        if total + candidate.num_addresses > settings.max_addresses:
            _LOGGER.info(
                "Not searching %s: the search is limited to %d addresses", candidate, settings.max_addresses
            )
            continue
        networks.append(candidate)
        total += candidate.num_addresses
    # A /31 or /32 has no broadcast address: its one peer is covered by the scan.
    broadcasts = tuple(dict.fromkeys(net.broadcast_address for net in allowed if net.prefixlen < 31))
    return ScanPlan(tuple(networks), allowed, broadcasts)


@dataclass(frozen=True, slots=True)
class SearchResult:
    """Every endpoint where supported devices answered, in address order."""

    found: tuple[Found, ...]
    complete: bool  # False when the time budget ran out before every host was checked
    checked: int  # endpoints of the scan that were checked
    dongles: int  # modules that answered the broadcast query
    seconds: float


async def search(
    plan: ScanPlan,
    settings: DiscoverySettings = DEFAULT_SETTINGS,
    progress: FractionProgress | None = None,
) -> SearchResult:
    """Broadcast the dongle query and scan the plan's networks at the same time, within
    ``settings.search.budget``; ``progress`` hears the fraction done.

    Dongles that answered the query but lie outside the scanned hosts (a large network narrowed to a
    /24, or hosts the budget did not reach) are identified afterwards, in the time kept for that
    (``settings.responder_budget``).
    """
    started = time.monotonic()
    budget = settings.search.budget
    scan_budget = max(budget - settings.responder_budget, settings.dongle_window)
    query = asyncio.create_task(
        discover_goodwe_dongles(plan.broadcasts, port=settings.dongle_port, window=settings.dongle_window)
    )
    try:
        report = None
        if plan.networks:
            report = await scan_network(
                plan.networks,
                settings=settings,
                allowed=plan.allowed,
                budget=scan_budget,
                progress=as_fraction(progress),
            )
        replies = await query
    finally:
        if not query.done():  # the scan failed or the search was cancelled: stop listening for replies
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
    remaining = budget - (time.monotonic() - started)
    if responders and remaining > 0:
        identified = await identify_responders(responders, settings=settings, budget=remaining)
        found.extend(result for result in identified.values() if result is not None)
    if progress is not None:
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


def distinct_choices(found: Iterable[Found], configured: set[str]) -> list[Found]:
    """One choice per device: skip endpoints with an already configured device (by serial), and a device
    reached two ways (a dongle answering Modbus TCP and GoodWe UDP) is offered once, over Modbus TCP
    (loss-free). In address order."""
    chosen: dict[str, Found] = {}
    for candidate in sorted(found, key=lambda f: f.transport is not TransportType.TCP):
        serials = {device.serial for device in candidate.devices}
        if serials & configured:
            continue
        key = main_device(candidate.devices).key
        chosen.setdefault(key, candidate)
    return sorted(chosen.values(), key=lambda f: (IPv4Address(f.host), f.port))


def choice_label(found: Found) -> str:
    """What a found endpoint looks like in a list: model, serial, address, unit."""
    main = main_device(found.devices)
    units = ", ".join(str(unit) for unit in found.unit_ids)
    others = len(found.devices) - 1
    extra = f" + {others} more" if others else ""
    return (
        f"{main.manufacturer} {main.model} ({main.serial}){extra} at {found.host}:{found.port} "
        f"{found.transport}, unit {units}"
    )
