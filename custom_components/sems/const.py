"""Constants of the SEMS Local Solar integration."""

from __future__ import annotations

import logging
from datetime import timedelta
from enum import StrEnum
from typing import Final

from homeassistant.const import Platform

DOMAIN: Final = "sems"
LOGGER = logging.getLogger(__package__)
# The coordinator's own lines ("Error fetching …", "… recovered"): see coordinator.FailedPollsAreWarnings.
POLL_LOGGER = logging.getLogger(f"{__package__}.poll")

PLATFORMS: Final = [
    Platform.BINARY_SENSOR,
    Platform.EVENT,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
]

# entry.data keys (connection data); host and port use homeassistant.const CONF_HOST / CONF_PORT.
CONF_TRANSPORT: Final = "transport"
CONF_UNIT_IDS: Final = "unit_ids"  # ids to probe again when no devices are stored; [] = the usual ids
CONF_DEVICES: Final = "devices"  # serialized DeviceIdentity dicts found by the last probe
# Options: where the user placed meters that do not say where they measure, device key -> MeterLocation.
CONF_METER_LOCATIONS: Final = "meter_locations"

# entry.options keys
CONF_POLL_PRESET: Final = "poll_preset"
CONF_UNAVAILABLE_AFTER: Final = "unavailable_after"  # consecutive failed polls before entities go unavailable

CONF_ALLOW_CONTROL: Final = "allow_control"  # write battery and export controls (off unless chosen)

# One lost UDP answer or a dongle busy with its cloud upload must not blank every entity: the last
# reading stays until this many polls in a row have failed.
DEFAULT_UNAVAILABLE_AFTER: Final = 3
MAX_UNAVAILABLE_AFTER: Final = 20

# The transport choice "auto" is not a plantkit transport: the config flow resolves it to one.
TRANSPORT_AUTO: Final = "auto"


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

# Availability: a repair issue once an endpoint has been unreachable this long (and its entities went
# unavailable); it is removed as soon as the endpoint answers again.
UNREACHABLE_ISSUE_AFTER: Final = timedelta(minutes=30)
ISSUE_UNREACHABLE: Final = "unreachable"
# Devices behind a gateway: unit ids listed in the entry that have no device are asked this often whether
# one answers now (a meter installed or switched on later); one found gets its entities at once.
DEVICE_CENSUS_INTERVAL: Final = timedelta(minutes=10)
# A PV-only inverter powers down without sun. Its silence counts as sleep when it starts within this
# margin of sunset/sunrise (or at night, or after a reading without production)...
TWILIGHT_MARGIN: Final = timedelta(hours=1)
# ...and for at most this long after its last answer: longer than any night where people install PV,
# shorter than a day, so a dead inverter is reported the next day at the latest.
MAX_NIGHT_SILENCE: Final = timedelta(hours=20)

# Controls (README "Battery and export controls"): each register at most this often, never twice within
# the interval (inverters keep many settings in flash), and temporary modes of at most this long.
CONTROL_WRITES_PER_HOUR: Final = 10
CONTROL_WRITE_INTERVAL: Final = 5.0  # seconds
MAX_TEMPORARY_MODE: Final = timedelta(hours=24)
CONTROL_RETRY: Final = timedelta(minutes=1)  # a temporary mode that could not end is ended again after
# Settings change rarely (the vendor's app, a display): read with the poll at most this often, and after
# each write.
CONTROL_READ_INTERVAL: Final = timedelta(minutes=5)
SERVICE_SET_BATTERY_MODE: Final = "set_battery_mode"
SERVICE_SET_EXPORT_LIMIT: Final = "set_export_limit"
EVENT_CONTROL_CHANGED: Final = f"{DOMAIN}_control_changed"  # one per written control (logbook)

# Event types of the per-device fault event entity.
EVENT_FAULT_RAISED: Final = "fault_raised"
EVENT_FAULT_CLEARED: Final = "fault_cleared"

# Keys of entries made by the cloud-only "GoodWe SEMS API" custom integration, which uses the same domain.
CLOUD_ENTRY_KEYS: Final = frozenset({"username", "password", "powerstation_id"})
ISSUE_CLOUD_ENTRY: Final = "cloud_entry"

# --- Discovery (config flow) ------------------------------------------------------------------------
# Every tunable (ports, waits, sizes, unit ids) is in plantkit.discovery.DiscoverySettings; README.md
# ("Discovery") lists exactly what each path sends.

# "scan" in the unit ID field: ask one unit id after another behind one host (RS485 gateways, parallel
# inverters).
UNIT_SCAN_KEYWORD: Final = "scan"
