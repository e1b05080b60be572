"""Constants of the SEMS Local Solar integration."""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Final

from homeassistant.const import Platform

DOMAIN: Final = "sems"
LOGGER = logging.getLogger(__package__)

PLATFORMS: Final = [Platform.SENSOR]

# entry.data keys (connection data); host and port use homeassistant.const CONF_HOST / CONF_PORT.
CONF_TRANSPORT: Final = "transport"
CONF_UNIT_IDS: Final = "unit_ids"  # ids to probe again when no devices are stored; [] = the usual ids
CONF_DEVICES: Final = "devices"  # serialized DeviceIdentity dicts found by the last probe

# entry.options keys
CONF_POLL_PRESET: Final = "poll_preset"

# The transport choice "auto" is not a plantkit transport: the config flow resolves it to one.
TRANSPORT_AUTO: Final = "auto"

# How long the config flow waits for a device per transport candidate. Kept short: the user is waiting,
# and the runtime endpoint (plantkit's default timeout) is more patient than the probe.
PROBE_TIMEOUT: Final = 2.0
# Upper bound for a whole probe of one candidate (several unit ids and profiles may each time out).
PROBE_BUDGET: Final = 30.0


class PollPreset(StrEnum):
    """Polling interval presets offered in the options flow."""

    FAST = "fast"
    NORMAL = "normal"  # the main device profile's default
    GENTLE = "gentle"
    DONGLE_SAFE = "dongle_safe"


# Seconds per preset; NORMAL is None because it depends on the device profile.
POLL_PRESET_SECONDS: Final[dict[PollPreset, int | None]] = {
    PollPreset.FAST: 5,
    PollPreset.NORMAL: None,
    PollPreset.GENTLE: 60,
    # GoodWe's Wi-Fi dongles stop uploading to the SEMS Portal when polled often; reports say 150-600 s
    # between polls keeps the cloud upload alive on the oldest sticks.
    PollPreset.DONGLE_SAFE: 300,
}

# Keys of entries made by the cloud-only "GoodWe SEMS API" custom integration, which uses the same domain.
CLOUD_ENTRY_KEYS: Final = frozenset({"username", "password", "powerstation_id"})
ISSUE_CLOUD_ENTRY: Final = "cloud_entry"
