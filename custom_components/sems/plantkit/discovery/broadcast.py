"""Find GoodWe Wi-Fi/LAN dongles (Hi-Flying modules) by their UDP discovery query.

The dongle's module listens on UDP 48899 and answers the ASCII query ``WIFIKIT-214028-READ`` with
``<ip>,<mac>,<name>``. Solarman/Deye loggers use the same module and answer too, so a reply only says
"a Hi-Flying module is here": what sits behind it is found by probing (``identify_responders``).

The caller chooses where the query goes (Home Assistant passes the broadcast addresses of its adapters);
this module never picks a destination itself.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address

_LOGGER = logging.getLogger(__name__)

WIFIKIT_QUERY = b"WIFIKIT-214028-READ"
DONGLE_DISCOVERY_PORT = 48899
# Queries per target, spread over the window: one lost datagram must not hide a dongle.
QUERY_SENDS = 2
_MAC_DIGITS = re.compile(r"[0-9a-fA-F]{12}")
_MAX_NAME = 64


@dataclass(frozen=True, slots=True)
class DongleReply:
    """One module's answer. ``source`` is where the datagram came from: probe that, not ``ip``."""

    ip: str  # the address the module reports for itself
    mac: str  # lower case, colon separated
    name: str  # module or kit name, e.g. "HF_E20"
    source: str


def parse_dongle_reply(data: bytes, source: str) -> DongleReply | None:
    """Parse ``<ip>,<mac>,<name>``; anything else (echoes, other protocols, garbage) gives None."""
    try:
        text = data.decode("ascii").strip().strip("\x00").strip()
    except UnicodeDecodeError:
        return None
    parts = text.split(",", 2)
    if len(parts) != 3:
        return None
    ip_text, mac_text, name = (part.strip() for part in parts)
    try:
        ip = IPv4Address(ip_text)
    except ValueError:
        return None
    digits = mac_text.replace(":", "").replace("-", "")
    if not _MAC_DIGITS.fullmatch(digits):
        return None
    if not name or len(name) > _MAX_NAME or not name.isprintable():
        return None
    mac = ":".join(digits[i : i + 2] for i in range(0, 12, 2)).lower()
    return DongleReply(str(ip), mac, name, source)


class _ReplyCollector(asyncio.DatagramProtocol):
    """Keeps the first valid reply of every source address."""

    def __init__(self) -> None:
        self.replies: dict[str, DongleReply] = {}

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        source = str(addr[0])
        if source in self.replies:
            return  # the answer to our second query, or a module that always answers twice
        reply = parse_dongle_reply(data, source)
        if reply is None:
            _LOGGER.debug("ignoring %d bytes from %s: not a module reply", len(data), source)
            return
        self.replies[source] = reply

    def error_received(self, exc: Exception) -> None:
        # E.g. no route on one adapter: the other targets still count.
        _LOGGER.debug("dongle discovery: %s", exc)


async def discover_goodwe_dongles(
    targets: Iterable[str | IPv4Address],
    *,
    port: int = DONGLE_DISCOVERY_PORT,
    window: float = 2.0,
    query: bytes = WIFIKIT_QUERY,
    local_address: str = "0.0.0.0",  # noqa: S104 - replies come back on whichever adapter faces the dongle
) -> list[DongleReply]:
    """Send the discovery query to every target and collect every reply that arrives within ``window``.

    ``targets`` are IPv4 addresses, usually the broadcast addresses of the local adapters (Home Assistant:
    ``network.async_get_ipv4_broadcast_addresses``). Host names raise ``ValueError``: nothing is
    resolved. Replies are deduplicated by source address and returned in address order.
    """
    addresses = [str(IPv4Address(target)) for target in targets]  # ValueError on anything else
    if not addresses or window <= 0:
        return []
    loop = asyncio.get_running_loop()
    collector = _ReplyCollector()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: collector, local_addr=(local_address, 0), allow_broadcast=True
    )
    try:
        for send in range(QUERY_SENDS):
            for address in addresses:
                transport.sendto(query, (address, port))
            # Wait out this share of the window; the last share runs to the end of it.
            await asyncio.sleep(window / QUERY_SENDS)
            _LOGGER.debug("dongle discovery: %d replies after query %d", len(collector.replies), send + 1)
    finally:
        transport.close()
    return sorted(collector.replies.values(), key=lambda r: IPv4Address(r.source))
