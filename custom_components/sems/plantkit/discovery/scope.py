"""Which addresses a network scan may touch.

A scan sends packets to every host of the networks it is given, so the scope is checked twice: once when
the scan is planned (refuse networks that are too large, special-purpose, or outside what the caller
allows), and again before every single contact (a bug elsewhere must never widen the scan).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from .settings import DEFAULT_SETTINGS

_THIS_NETWORK = IPv4Network("0.0.0.0/8")  # "this host on this network": source-only, never a destination
# The private ranges a LAN uses (RFC 1918). Python's ``is_private`` also counts "this network", the
# reserved 240/4, the broadcast address and documentation ranges, where no plant can live.
LAN_RANGES = (IPv4Network("10.0.0.0/8"), IPv4Network("172.16.0.0/12"), IPv4Network("192.168.0.0/16"))


class ScanScopeError(ValueError):
    """The requested scan is refused: too large, special-purpose, or outside the allowed networks."""


class ScanScope:
    """The hosts a scan covers, and the guard every contact goes through."""

    def __init__(
        self,
        networks: Sequence[IPv4Network],
        *,
        allowed: Sequence[IPv4Network] | None = None,
        max_addresses: int = DEFAULT_SETTINGS.max_addresses,
    ) -> None:
        if not networks:
            raise ScanScopeError("no network to scan")
        for network in networks:
            _check_network(network, allowed, max_addresses)
        total = sum(network.num_addresses for network in networks)
        if total > max_addresses:
            raise ScanScopeError(f"{total} addresses in all: more than the limit of {max_addresses}")
        self.networks = tuple(networks)
        self.allowed = tuple(allowed) if allowed is not None else None

    def hosts(self) -> list[str]:
        """Every host address once, in address order; network and broadcast addresses are left out."""
        unique = {host for network in self.networks for host in network.hosts()}
        return [str(host) for host in sorted(unique)]

    def __contains__(self, host: object) -> bool:
        try:
            address = IPv4Address(str(host))
        except ValueError:
            return False  # host names are never contacted: resolving them could lead anywhere
        if not any(address in network for network in self.networks):
            return False
        return self.allowed is None or any(address in network for network in self.allowed)

    def require(self, host: str) -> None:
        """Raise unless ``host`` may be contacted (called right before every packet the scan sends)."""
        if host not in self:
            raise ScanScopeError(f"{host} is outside the scan scope")


def _check_network(network: IPv4Network, allowed: Sequence[IPv4Network] | None, max_addresses: int) -> None:
    if not isinstance(network, IPv4Network):
        raise ScanScopeError(f"{network!r} is not an IPv4 network")
    if network.is_multicast or network.is_reserved or network.overlaps(_THIS_NETWORK):
        raise ScanScopeError(f"{network} is no unicast network")
    if network.num_addresses > max_addresses:
        raise ScanScopeError(f"{network} has {network.num_addresses} addresses, more than {max_addresses}")
    if allowed is not None:
        if not any(network.subnet_of(a) for a in allowed):
            raise ScanScopeError(f"{network} is outside the allowed networks")
    elif not network.is_private:
        # Without the caller's list of local networks, only private ranges can be the home LAN.
        raise ScanScopeError(f"{network} is not a private network; pass it in 'allowed' to scan it")


def is_lan(network: IPv4Network) -> bool:
    """True for a network inside the private ranges a LAN uses (``LAN_RANGES``)."""
    return any(network.subnet_of(lan) for lan in LAN_RANGES)


def suggested_networks(
    interfaces: Iterable[IPv4Interface], *, prefix: int = DEFAULT_SETTINGS.search_prefix
) -> list[IPv4Network]:
    """Networks worth scanning for the host's own interfaces (e.g. Home Assistant's adapters).

    An interface on a network larger than ``prefix`` yields only the ``prefix``-sized part around its own
    address. Loopback and link-local interfaces are skipped: no plant lives there.
    """
    suggested: list[IPv4Network] = []
    for interface in interfaces:
        if interface.is_loopback or interface.is_link_local:
            continue
        network = interface.network
        if network.prefixlen < prefix:
            network = IPv4Network(f"{interface.ip}/{prefix}", strict=False)
        if network not in suggested:
            suggested.append(network)
    return suggested
