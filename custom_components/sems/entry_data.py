"""What a config entry stores, and how it turns back into plantkit objects.

Devices found by the probe are stored in ``entry.data`` so a restart can read at once, without probing
the endpoint again (a probe costs many requests and a GoodWe Wi-Fi dongle dislikes bursts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from homeassistant.const import CONF_HOST, CONF_PORT

from .const import CONF_DEVICES, CONF_METER_LOCATIONS, CONF_TRANSPORT, CONF_UNIT_IDS, LOGGER
from .plantkit.model import DeviceIdentity, MeterLocation
from .plantkit.naming import main_device
from .plantkit.profiles import identity_from_dict, profile_by_name
from .plantkit.transport import Endpoint, TransportType


def stored_devices(data: Mapping[str, Any]) -> list[DeviceIdentity]:
    """The devices stored in an entry; empty when none are stored or they no longer fit plantkit.

    An empty list makes setup probe again, which also heals entries whose profile names changed.
    """
    devices: list[DeviceIdentity] = []
    for item in data.get(CONF_DEVICES, ()):
        try:
            identity = identity_from_dict(item)
        except (KeyError, TypeError, ValueError) as err:
            LOGGER.debug("Stored device %s is not usable (%s); probing again", item, err)
            return []
        devices.append(identity)
    return devices


def endpoint_from_data(data: Mapping[str, Any]) -> Endpoint:
    """The plantkit endpoint of an entry."""
    return Endpoint(
        host=data[CONF_HOST], port=int(data[CONF_PORT]), transport=TransportType(data[CONF_TRANSPORT])
    )


def meter_locations(options: Mapping[str, Any]) -> dict[str, MeterLocation]:
    """Where the user placed meters, by device key (``CONF_METER_LOCATIONS``); unknown values are left out,
    so such a meter counts as a grid meter until placed again."""
    placements: dict[str, MeterLocation] = {}
    for key, value in (options.get(CONF_METER_LOCATIONS) or {}).items():
        try:
            placements[str(key)] = MeterLocation(value)
        except ValueError:
            LOGGER.debug("Ignoring the stored location %r of meter %s", value, key)
    return placements


def probe_unit_ids(data: Mapping[str, Any]) -> list[int] | None:
    """Unit ids to probe (None = plantkit's usual ids)."""
    return list(data.get(CONF_UNIT_IDS) or ()) or None


def default_poll_seconds(devices: Sequence[DeviceIdentity]) -> int:
    """The main device's profile decides the default interval (GoodWe dongles need slow polling)."""
    return profile_by_name(main_device(devices).profile).default_poll_seconds
