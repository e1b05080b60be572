"""Find plants on the LAN: probes, network searches, GoodWe dongle discovery, unit scans behind a gateway,
and what zeroconf and DHCP announcements mean.

Every tunable is in one ``DiscoverySettings`` (defaults derived from the vendor registry where they are
vendor knowledge), passed to each function. Typical use (what the Home Assistant config flow does)::

    settings = DiscoverySettings()
    found = await probe_host("192.168.1.50", None, None, None, settings)  # None: automatic framing
    plan = scan_plan(interfaces_of_the_host, settings)
    result = await search(plan, settings, progress=print)
    found = await unit_scan(await unit_scan_endpoint(host, None, None, settings), settings)
    found = await probe_candidates(dhcp_candidates(ip, mac, hostname, settings), settings.announced)

Nothing here chooses a destination by itself: every address comes from the caller, and scans only touch
the hosts of the networks they are given.
"""

from __future__ import annotations

from .announce import (
    DHCP_MATCHERS,
    MODBUS_SERVICE_TYPE,
    ZEROCONF_TYPES,
    DhcpMatcher,
    ZeroconfAnnouncement,
    dhcp_candidates,
    txt_number,
    zeroconf_announcement,
)
from .broadcast import (
    DONGLE_DISCOVERY_PORT,
    WIFIKIT_QUERY,
    DongleReply,
    discover_goodwe_dongles,
    parse_dongle_reply,
)
from .probe import (
    Found,
    ProbeCandidate,
    is_serial_path,
    probe_candidates,
    probe_host,
    probe_once,
    serial_port_problem,
    still_answers,
    transport_candidates,
)
from .reach import TcpConnector, goodwe_udp_units, tcp_port_open
from .scan import (
    FractionProgress,
    UnitScanReport,
    identify_responders,
    scan_network,
    scan_units,
    unit_scan,
    unit_scan_endpoint,
)
from .scope import ScanScope, ScanScopeError, is_lan, suggested_networks
from .search import ScanPlan, SearchResult, choice_label, distinct_choices, scan_plan, search
from .settings import DEFAULT_SETTINGS, DiscoverySettings, ProbeLimits
from .sweep import ScanReport, Unidentified

__all__ = [
    "DEFAULT_SETTINGS",
    "DHCP_MATCHERS",
    "DONGLE_DISCOVERY_PORT",
    "MODBUS_SERVICE_TYPE",
    "WIFIKIT_QUERY",
    "ZEROCONF_TYPES",
    "DhcpMatcher",
    "DiscoverySettings",
    "DongleReply",
    "Found",
    "FractionProgress",
    "ProbeCandidate",
    "ProbeLimits",
    "ScanPlan",
    "ScanReport",
    "ScanScope",
    "ScanScopeError",
    "SearchResult",
    "TcpConnector",
    "Unidentified",
    "UnitScanReport",
    "ZeroconfAnnouncement",
    "choice_label",
    "dhcp_candidates",
    "discover_goodwe_dongles",
    "distinct_choices",
    "goodwe_udp_units",
    "identify_responders",
    "is_lan",
    "is_serial_path",
    "parse_dongle_reply",
    "probe_candidates",
    "probe_host",
    "probe_once",
    "scan_network",
    "scan_plan",
    "scan_units",
    "search",
    "serial_port_problem",
    "still_answers",
    "suggested_networks",
    "tcp_port_open",
    "transport_candidates",
    "txt_number",
    "unit_scan",
    "unit_scan_endpoint",
    "zeroconf_announcement",
]
