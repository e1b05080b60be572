"""Home Assistant's side of discovery: its settings, its network adapters, and entries following a device.

What to search and probe, and how, is ``plantkit.discovery``'s (README.md, "Discovery"). This module only
adapts Home Assistant to it: the adapters enabled under Settings > System > Network become the search's
interfaces, the flow's transport choice becomes plantkit's, and a configured device found elsewhere
moves its entry. Every address contacted comes from those adapters, an announcement, or the user.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from ipaddress import IPv4Interface, ip_address
from typing import Any

from homeassistant.components import network
from homeassistant.components.network.models import Adapter
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.util.hass_dict import HassKey

from .const import CONF_TRANSPORT, DOMAIN, LOGGER, TRANSPORT_AUTO
from .entry_data import endpoint_from_data, probe_unit_ids, stored_devices
from .plantkit.discovery import DEFAULT_SETTINGS, DiscoverySettings, ScanPlan, scan_plan, still_answers
from .plantkit.transport import Endpoint, TransportType

# Discovery settings other than plantkit's defaults (a developer's or a test's), read by every flow.
DISCOVERY_SETTINGS: HassKey[DiscoverySettings] = HassKey(f"{DOMAIN}_discovery_settings")


def discovery_settings(hass: HomeAssistant) -> DiscoverySettings:
    """The settings the flows discover with: ``hass.data[DISCOVERY_SETTINGS]``, else the defaults."""
    return hass.data.get(DISCOVERY_SETTINGS, DEFAULT_SETTINGS)


def transport_choice(transport: str) -> TransportType | None:
    """The flow's transport field in plantkit's terms: "auto" is None (plantkit chooses)."""
    return None if transport == TRANSPORT_AUTO else TransportType(transport)


def adapter_interfaces(adapters: Iterable[Adapter]) -> list[IPv4Interface]:
    """The IPv4 addresses of the enabled adapters, with their networks."""
    interfaces: list[IPv4Interface] = []
    for adapter in adapters:
        if not adapter["enabled"]:
            continue
        for configured in adapter["ipv4"]:
            try:
                interfaces.append(IPv4Interface(f"{configured['address']}/{configured['network_prefix']}"))
            except ValueError:
                LOGGER.debug("Not searching adapter %s: %s is no IPv4 network", adapter["name"], configured)
    return interfaces


async def async_scan_plan(hass: HomeAssistant, settings: DiscoverySettings) -> ScanPlan:
    """The search plan for the adapters enabled in Home Assistant's network settings."""
    return scan_plan(adapter_interfaces(await network.async_get_adapters(hass)), settings)


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


async def async_answers_at(data: Mapping[str, Any], serial: str, settings: DiscoverySettings) -> bool:
    """Whether the device with ``serial`` still answers where an entry reads it (a short probe)."""
    try:
        endpoint = endpoint_from_data(data)
    except (KeyError, ValueError):
        return False
    units = sorted({device.unit_id for device in stored_devices(data)}) or probe_unit_ids(data)
    return await still_answers(endpoint, units, serial, settings)
