"""Find plants on the LAN: GoodWe dongle discovery, network scans, unit scans behind a gateway.

Typical use (what the Home Assistant config flow does)::

    replies = await discover_goodwe_dongles(broadcast_addresses)
    identified = await identify_responders(reply.source for reply in replies)
    report = await scan_network(suggested_networks(adapter_interfaces), allowed=adapter_networks)
    units = await scan_units(Endpoint(host, 502), range(1, 11))

Nothing here chooses a destination by itself: every address comes from the caller, and scans only touch
the hosts of the networks they are given.
"""

from __future__ import annotations

from .broadcast import (
    DONGLE_DISCOVERY_PORT,
    WIFIKIT_QUERY,
    DongleReply,
    discover_goodwe_dongles,
    parse_dongle_reply,
)
from .reach import TcpConnector, goodwe_udp_units, tcp_port_open
from .scan import (
    GOODWE_UDP_PORT,
    MODBUS_TCP_PORTS,
    UnitScanReport,
    identify_responders,
    scan_network,
    scan_units,
)
from .scope import DEFAULT_MAX_ADDRESSES, ScanScope, ScanScopeError, is_lan, suggested_networks
from .sweep import Found, ScanReport, Unidentified

__all__ = [
    "DEFAULT_MAX_ADDRESSES",
    "DONGLE_DISCOVERY_PORT",
    "GOODWE_UDP_PORT",
    "MODBUS_TCP_PORTS",
    "WIFIKIT_QUERY",
    "DongleReply",
    "Found",
    "ScanReport",
    "ScanScope",
    "ScanScopeError",
    "TcpConnector",
    "Unidentified",
    "UnitScanReport",
    "discover_goodwe_dongles",
    "goodwe_udp_units",
    "identify_responders",
    "is_lan",
    "parse_dongle_reply",
    "scan_network",
    "scan_units",
    "suggested_networks",
    "tcp_port_open",
]
