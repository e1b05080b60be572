"""Every tunable of discovery, in one settings object with one set of defaults.

Where a default is vendor knowledge (ports, unit ids) it is derived from the vendor registry
(``profiles.VENDORS``); the rest are the waits and sizes that keep a search quick and polite on a home
LAN. Every discovery function takes a ``DiscoverySettings``; callers (Home Assistant, tests) pass their
own instead of changing module constants. README.md ("Discovery") documents the defaults.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..profiles import VENDORS
from ..profiles.base import Vendor
from .broadcast import DONGLE_DISCOVERY_PORT

# Unit ids a unit scan asks besides the vendors' own: the first addresses of an RS485 chain.
CHAIN_UNITS = range(1, 33)
# 0 is the RTU broadcast address (devices act on it without answering), 248-255 are no RTU addresses:
# a scan that may run over a serial line asks neither.
RTU_UNITS = range(1, 248)


@dataclass(frozen=True, slots=True)
class ProbeLimits:
    """How patient one kind of probe is: ``timeout`` seconds per request, sent ``retries`` more times
    after a timeout, and ``budget`` seconds in all (for a search: the whole search)."""

    timeout: float
    budget: float
    retries: int = 0


def _ordered(values: Iterable[int]) -> tuple[int, ...]:
    return tuple(dict.fromkeys(values))


def registry_tcp_ports(vendors: Sequence[Vendor] = VENDORS) -> tuple[int, ...]:
    """Every vendor's searched Modbus TCP ports, once each, in registry order (502, 1502)."""
    return _ordered(port for vendor in vendors for port in vendor.searched_tcp_ports)


def registry_udp_ports(vendors: Sequence[Vendor] = VENDORS) -> tuple[int, ...]:
    """Every vendor's GoodWe-framed UDP ports, once each, in registry order (8899)."""
    return _ordered(port for vendor in vendors for port in vendor.udp_ports)


def registry_unit_scan_ids(vendors: Sequence[Vendor] = VENDORS) -> tuple[int, ...]:
    """The unit ids a unit scan asks, ascending: the first addresses of a chain, every unit id a profile
    probes by default and every vendor's ``scan_units``, where they are RTU addresses (1-32, 126, 127,
    240, 247)."""
    units = {*CHAIN_UNITS}
    for vendor in vendors:
        units.update(vendor.scan_units)
        units.update(unit for profile in vendor.profiles for unit in profile.default_units)
    return tuple(sorted(unit for unit in units if unit in RTU_UNITS))


def _first(ports: tuple[int, ...]) -> int | None:
    return ports[0] if ports else None


@dataclass(frozen=True, slots=True)
class DiscoverySettings:
    """How discovery finds devices. Frozen: change a copy with ``dataclasses.replace``.

    Where: ``tcp_ports`` (Modbus TCP; the search connects to each, a DHCP match of a SunSpec vendor is
    probed on each, a GoodWe dongle's on the first), ``udp_port`` (GoodWe's framing; None: no UDP),
    ``dongle_port`` (the Hi-Flying discovery query).

    How long: ``probe`` for an address the user typed; ``announced`` for a zeroconf or DHCP announcement
    (and, without retries, for asking whether a configured device still answers where it was);
    ``search`` per request while identifying what answered a search, its budget the whole search;
    ``unit_scan`` per silent unit id and for the whole unit scan.

    Search: ``concurrency`` endpoints at once, ``connect_timeout`` per TCP connect or UDP check,
    ``responder_budget`` of the search's budget kept for dongles found only by the query (identified
    ``responder_concurrency`` at a time), ``dongle_window`` to collect query replies, at most
    ``max_addresses`` addresses in all, a network larger than ``search_prefix`` narrowed to that.
    """

    tcp_ports: tuple[int, ...] = field(default_factory=registry_tcp_ports)
    udp_port: int | None = field(default_factory=lambda: _first(registry_udp_ports()))
    dongle_port: int = DONGLE_DISCOVERY_PORT
    # Short: the user is waiting, and the runtime endpoint is more patient than any probe.
    probe: ProbeLimits = field(default=ProbeLimits(timeout=2.0, budget=30.0, retries=1))
    # One retry: a silent unit id (a DT dongle asked for unit 247) then costs 2 timeouts, not 4.
    announced: ProbeLimits = field(default=ProbeLimits(timeout=1.5, budget=20.0, retries=1))
    search: ProbeLimits = field(default=ProbeLimits(timeout=1.0, budget=60.0))
    concurrency: int = 32
    connect_timeout: float = 0.5
    responder_budget: float = 10.0
    responder_concurrency: int = 4
    dongle_window: float = 2.0
    # A /22 at most: beyond that a scan takes minutes and looks like an attack to intrusion detection.
    max_addresses: int = 1024
    # What a home LAN usually is: a larger adapter network is searched only in this part around the
    # host's own address.
    search_prefix: int = 24
    unit_scan_ids: tuple[int, ...] = field(default_factory=registry_unit_scan_ids)
    unit_scan: ProbeLimits = field(default=ProbeLimits(timeout=0.5, budget=60.0))


DEFAULT_SETTINGS = DiscoverySettings()
