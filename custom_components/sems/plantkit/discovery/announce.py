"""Announcements of devices (zeroconf records, DHCP leases) matched against the vendor registry.

The host's own discovery (Home Assistant's zeroconf and DHCP watchers) hears the announcements; this
module decides what they mean and how to probe them: which vendor a DHCP lease belongs to (the
``DhcpHint``s of ``profiles.VENDORS``, by Home Assistant's matching rules) and what a ``_modbus._tcp``
record's TXT properties say. Nothing here sends anything.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..profiles import VENDORS
from ..profiles.base import DhcpHint, Vendor
from ..transport import Endpoint, TransportType
from ..transport.base import DEFAULT_PORTS
from .probe import ProbeCandidate
from .settings import DEFAULT_SETTINGS, DiscoverySettings

# The zeroconf service types announcing Modbus devices (the manifest lists the same; a test checks).
MODBUS_SERVICE_TYPE = "_modbus._tcp.local."
ZEROCONF_TYPES: tuple[str, ...] = (MODBUS_SERVICE_TYPE,)


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
    host: str, mac: str, hostname: str, settings: DiscoverySettings = DEFAULT_SETTINGS
) -> list[ProbeCandidate]:
    """How to probe a DHCP lease of ``mac``/``hostname`` at ``host``, with only the matched vendor's
    profiles: a vendor whose devices speak GoodWe's UDP framing on ``settings.udp_port`` first (the
    dongles' own protocol), then on the first of ``settings.tcp_ports``; others on each of
    ``settings.tcp_ports``. At each endpoint the hint's ``first_units`` go before the usual unit ids.

    Empty when no matcher fits (Home Assistant only reports matches, but a manual ``dhcp`` flow could
    carry anything).
    """
    matcher = next((m for m in DHCP_MATCHERS if m.matches(mac, hostname)), None)
    if matcher is None:
        return []
    vendor, first_units = matcher.vendor, matcher.hint.first_units
    if vendor.udp_ports:
        udp = [settings.udp_port] if settings.udp_port is not None else []
        endpoints = [Endpoint(host, port, TransportType.UDP) for port in udp]
        endpoints += [Endpoint(host, port, TransportType.TCP) for port in settings.tcp_ports[:1]]
    else:
        endpoints = [Endpoint(host, port, TransportType.TCP) for port in settings.tcp_ports]
    candidates: list[ProbeCandidate] = []
    for endpoint in endpoints:
        if first_units:
            candidates.append(ProbeCandidate(endpoint, first_units, vendor.profiles))
        candidates.append(ProbeCandidate(endpoint, None, vendor.profiles))
    return candidates


@dataclass(frozen=True, slots=True)
class ZeroconfAnnouncement:
    """What a ``_modbus._tcp`` record says: where to probe, which unit, whose serial (if it says)."""

    endpoint: Endpoint
    unit_id: int | None
    serial: str | None

    def candidate(self) -> ProbeCandidate:
        """The probe: the announced unit, or the usual unit ids, over Modbus TCP."""
        return ProbeCandidate(self.endpoint, (self.unit_id,) if self.unit_id else None)


def zeroconf_announcement(
    host: str, service_port: int | None, properties: Mapping[str, Any]
) -> ZeroconfAnnouncement:
    """Read a record's TXT ``port`` (else the service's port, else 502), ``unit`` (1-255) and ``serial``;
    values out of range or unreadable count as absent."""
    port = txt_number(properties, "port", 1, 65535) or service_port or DEFAULT_PORTS[TransportType.TCP]
    serial = str(properties.get("serial") or "").strip()
    return ZeroconfAnnouncement(
        Endpoint(host, port, TransportType.TCP), txt_number(properties, "unit", 1, 255), serial or None
    )


def txt_number(properties: Mapping[str, Any], key: str, lowest: int, highest: int) -> int | None:
    """An integer TXT property (text or bytes) inside [lowest, highest], else None."""
    value = properties.get(key)
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if lowest <= number <= highest else None
