"""Constants of the SEMS Local Solar integration."""

from __future__ import annotations

import logging
from datetime import timedelta
from enum import StrEnum
from typing import Final

from homeassistant.const import Platform

DOMAIN: Final = "sems"
LOGGER = logging.getLogger(__package__)

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
# README.md ("Discovery") lists exactly what each path sends. Every destination comes from Home
# Assistant's enabled network adapters, a zeroconf/DHCP announcement, or the user.

# "Search my network": every host of each adapter network (narrowed to the /24 around Home Assistant's own
# address) gets a TCP connect on each of these ports and a GoodWe UDP read; what answers is identified.
SEARCH_TCP_PORTS: Final = (502, 1502)  # Modbus TCP; 1502 is SolarEdge's default
SEARCH_UDP_PORT: Final = 8899  # GoodWe Wi-Fi/LAN dongles
SEARCH_CONCURRENCY: Final = 32  # endpoints checked at once
SEARCH_BUDGET: Final = 60.0  # seconds for the whole search; what was found by then is listed
SEARCH_CONNECT_TIMEOUT: Final = 0.5  # per TCP connect / UDP round trip of the reachability check
SEARCH_PROBE_TIMEOUT: Final = 1.0  # per request while identifying an endpoint that answered
SEARCH_MAX_ADDRESSES: Final = 1024  # networks beyond this many addresses in all are left out
# The GoodWe/Hi-Flying query "WIFIKIT-214028-READ" goes to UDP 48899 at the broadcast address of each
# adapter network; replies are collected for this long.
DONGLE_QUERY_WINDOW: Final = 2.0
# Part of SEARCH_BUDGET kept to identify dongles that answered the query from outside the scanned hosts.
RESPONDER_BUDGET: Final = 10.0

# A device announced by zeroconf or matched by DHCP is probed before a flow is offered.
DISCOVERY_PROBE_TIMEOUT: Final = 1.5  # per request
DISCOVERY_PROBE_BUDGET: Final = 20.0  # for all the ports and unit ids tried for one announcement

# "scan" in the unit ID field: ask these unit ids one after another behind one host (RS485 gateways,
# parallel inverters). 126: SMA's SunSpec id; 127/247: GoodWe DT/ET; 240: Fronius' meter.
UNIT_SCAN_KEYWORD: Final = "scan"
UNIT_SCAN_IDS: Final = (*range(1, 33), 126, 127, 240, 247)
UNIT_SCAN_TIMEOUT: Final = 0.5  # a silent unit costs about this long
UNIT_SCAN_BUDGET: Final = 60.0
