"""One coordinator per endpoint: reads every device behind it in one planned pass.

It also decides what a failed poll means, so entities only show what the plant really said:
- a few failed polls in a row keep the last reading (entities stay available);
- after ``unavailable_after`` failed polls in a row the entities go unavailable (Home Assistant logs the
  loss and the recovery once each), and after ``UNREACHABLE_ISSUE_AFTER`` a repair issue says what to
  check; the issue goes away by itself when the endpoint answers again;
- a PV-only inverter that goes silent around sunset, at night, or after a reading without production is
  asleep, not broken: its energy totals keep their last value, its power reads 0, no issue is raised.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.sun import is_up
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .const import (
    CONF_POLL_PRESET,
    CONF_UNAVAILABLE_AFTER,
    DEFAULT_UNAVAILABLE_AFTER,
    DOMAIN,
    ISSUE_UNREACHABLE,
    LOGGER,
    MAX_NIGHT_SILENCE,
    MAX_UNAVAILABLE_AFTER,
    POLL_PRESET_SECONDS,
    TWILIGHT_MARGIN,
    UNREACHABLE_ISSUE_AFTER,
    PollPreset,
)
from .entry_data import default_poll_seconds
from .plantkit.client import PlantClient
from .plantkit.exceptions import PlantConnectionError, PlantError
from .plantkit.model import (
    QUANTITY_INFO,
    DeviceIdentity,
    DeviceReading,
    DeviceStatus,
    Kind,
    Quantity,
    Role,
    Unit,
)

if TYPE_CHECKING:
    from .cloud import CloudSync

type SemsConfigEntry = ConfigEntry[SemsCoordinator]
type Readings = dict[str, DeviceReading]

_TOTAL_KINDS = (Kind.LIFETIME_TOTAL, Kind.DAILY_TOTAL)
_IDLE_STATUSES = (DeviceStatus.SLEEPING, DeviceStatus.STANDBY, DeviceStatus.OFF)


def poll_interval(entry: ConfigEntry, devices: list[DeviceIdentity]) -> timedelta:
    """The interval the entry's options ask for; "normal" is the main device profile's default.

    Profiles set that default: GoodWe 30 s, because polling through the Wi-Fi dongle more often starves
    its upload to the SEMS Portal; SunSpec and Eastron devices on a wired gateway are fine with 10 s.
    """
    try:
        preset = PollPreset(entry.options.get(CONF_POLL_PRESET, PollPreset.NORMAL))
    except ValueError:
        preset = PollPreset.NORMAL
    seconds = POLL_PRESET_SECONDS[preset] or default_poll_seconds(devices)
    return timedelta(seconds=seconds)


def unavailable_after(entry: ConfigEntry) -> int:
    """Failed polls in a row before the entities go unavailable (the option, clamped to its range)."""
    try:
        polls = int(entry.options.get(CONF_UNAVAILABLE_AFTER, DEFAULT_UNAVAILABLE_AFTER))
    except (TypeError, ValueError):
        polls = DEFAULT_UNAVAILABLE_AFTER
    return min(max(polls, 1), MAX_UNAVAILABLE_AFTER)


def sleeps_at_night(devices: list[DeviceIdentity]) -> bool:
    """True for a PV-only plant: an inverter without battery powers down (and goes silent) without sun.

    A hybrid inverter runs from its battery at night and keeps answering, so its silence is a failure.
    """
    roles = {device.role for device in devices}
    return Role.INVERTER in roles and Role.BATTERY not in roles


def looked_idle(reading: DeviceReading) -> bool:
    """An inverter winding down: an idle status, or no PV production without a fault."""
    if reading.status in _IDLE_STATUSES:
        return True
    pv_power = reading.values.get(Quantity.PV_POWER)
    return reading.status is not DeviceStatus.FAULT and pv_power is not None and pv_power <= 0


def night_reading(reading: DeviceReading) -> DeviceReading:
    """What a sleeping PV-only plant shows until it answers again.

    Energy totals keep their last value (statistics see neither a gap nor a reset); the inverter's
    powers are 0, which is what it produces; every other value is left out, so its entity is
    unavailable. Faults stay as last read: sleep neither clears nor raises any.
    """
    is_inverter = reading.identity.role is Role.INVERTER
    values: dict[Quantity, float | None] = {}
    for quantity, value in reading.values.items():
        info = QUANTITY_INFO[quantity]
        if info.kind in _TOTAL_KINDS:
            values[quantity] = value
        elif is_inverter and info.unit is Unit.WATT:
            values[quantity] = 0.0
    status = DeviceStatus.SLEEPING if is_inverter else DeviceStatus.UNKNOWN
    return replace(reading, values=values, status=status)


class SemsCoordinator(DataUpdateCoordinator[Readings]):
    """Polls one endpoint; ``data`` maps each device's key to its latest reading."""

    config_entry: SemsConfigEntry
    cloud_sync: CloudSync | None = None  # the entry's opt-in cloud sync, set by setup

    def __init__(self, hass: HomeAssistant, entry: SemsConfigEntry, client: PlantClient) -> None:
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {client.endpoint}",
            update_interval=poll_interval(entry, client.devices),
        )
        self.client = client
        self.unavailable_after = unavailable_after(entry)
        self.failed_polls = 0  # in a row, not counting sleep
        self.unreachable_since: datetime | None = None
        self.asleep = False
        self.last_read: Readings = {}  # the last readings the plant really sent (no night stand-ins)
        # When the plant last answered; before its first answer, since when it could have (a start at
        # night has no answer yet, and its silence must not count as sleep for ever).
        self._answered_at = dt_util.utcnow()
        self._may_sleep = sleeps_at_night(client.devices)
        self._issue_id = f"{ISSUE_UNREACHABLE}_{entry.entry_id}"
        self._issue_raised = False

    @property
    def devices(self) -> list[DeviceIdentity]:
        """The devices this coordinator reads."""
        return self.client.devices

    def has_read(self, key: str) -> bool:
        """True once the device really answered (not only night stand-ins after a start at night)."""
        return key in self.last_read

    @override
    async def _async_update_data(self) -> Readings:
        try:
            readings = await self.client.read()
        except PlantError as err:
            if isinstance(err, PlantConnectionError):
                # Start the next poll on a fresh connection (a device that rebooted drops old sockets).
                await self.client.close()
            return await self._async_failed_poll(err)
        self._answered()
        self.last_read = {reading.identity.key: reading for reading in readings}
        self._answered_at = dt_util.utcnow()
        return self.last_read

    def _answered(self) -> None:
        if self.asleep:
            LOGGER.info("%s answers again: awake", self.client.endpoint)
            self.asleep = False
        self.failed_polls = 0
        self.unreachable_since = None
        if self._issue_raised:
            ir.async_delete_issue(self.hass, DOMAIN, self._issue_id)
            self._issue_raised = False

    async def _async_failed_poll(self, err: PlantError) -> Readings:
        """Keep the last reading, go to sleep, or give up (UpdateFailed: entities become unavailable)."""
        now = dt_util.utcnow()
        if self.asleep and self._slept_too_long(now):
            LOGGER.info(
                "%s has not answered for %s; no longer taken as asleep",
                self.client.endpoint,
                MAX_NIGHT_SILENCE,
            )
            self.asleep = False
        elif not self.asleep and self.failed_polls < self.unavailable_after and self._falls_asleep(now):
            LOGGER.info(
                "%s stopped answering without sun: asleep, its energy totals keep their last value",
                self.client.endpoint,
            )
            self.asleep = True
        if self.asleep:
            self.failed_polls = 0
            self.unreachable_since = None
            return await self._async_night_readings()

        self.failed_polls += 1
        self.unreachable_since = self.unreachable_since or now
        if self.failed_polls < self.unavailable_after and self.last_read:
            LOGGER.debug(
                "Poll %d of %d of %s failed (%s); keeping the last reading",
                self.failed_polls,
                self.unavailable_after,
                self.client.endpoint,
                err,
            )
            return self.last_read
        if now - self.unreachable_since >= UNREACHABLE_ISSUE_AFTER:
            self._raise_unreachable_issue(now - self.unreachable_since)
        raise UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="communication_error",
            translation_placeholders={"error": str(err) or type(err).__name__},
        ) from err

    def _falls_asleep(self, now: datetime) -> bool:
        """A PV-only plant going silent without sun, or right after it showed no production, sleeps.

        "Without sun" includes an hour around sunset and sunrise: inverters stop before sunset and
        start after sunrise, and a poll just before the silence may still have seen a few watts.
        Right after a start at night there is no reading yet; the sun alone decides then. After
        ``MAX_NIGHT_SILENCE`` without an answer nothing is sleep any more.
        """
        if not self._may_sleep or self._slept_too_long(now):
            return False
        sun_low = not (is_up(self.hass, now - TWILIGHT_MARGIN) and is_up(self.hass, now + TWILIGHT_MARGIN))
        if sun_low:
            return True
        return any(looked_idle(r) for r in self.last_read.values() if r.identity.role is Role.INVERTER)

    def _slept_too_long(self, now: datetime) -> bool:
        return now - self._answered_at >= MAX_NIGHT_SILENCE

    async def _async_night_readings(self) -> Readings:
        """Night stand-ins from the last readings, or from empty ones after a start at night.

        Empty readings still list every quantity the profile provides, so all entities are created and
        the energy totals show the value they restored from before the restart.
        """
        if self.last_read:
            return {key: night_reading(reading) for key, reading in self.last_read.items()}
        readings: Readings = {}
        for device in self.devices:
            profile = self.client.profile(device.profile)
            await profile.prepare()
            readings[device.key] = night_reading(profile.decode(device, {}))
        return readings

    def _raise_unreachable_issue(self, outage: timedelta) -> None:
        if self._issue_raised:
            return
        LOGGER.debug("Raising repair issue: %s unreachable for %s", self.client.endpoint, outage)
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._issue_id,
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_UNREACHABLE,
            translation_placeholders={
                "title": self.config_entry.title,
                "endpoint": str(self.client.endpoint),
                "minutes": str(int(outage.total_seconds() // 60)),
            },
        )
        self._issue_raised = True

    @override
    async def async_shutdown(self) -> None:
        """Stop polling, close the connection, drop the repair issue (unload, or setup failed)."""
        await super().async_shutdown()
        await self.client.close()
        ir.async_delete_issue(self.hass, DOMAIN, self._issue_id)
        self._issue_raised = False

    def apply_options(self) -> bool:
        """Use the interval and failure threshold the options ask for, without a reload.

        Returns True when the interval changed (the caller then polls at once at the new pace).
        """
        threshold = unavailable_after(self.config_entry)
        if threshold != self.unavailable_after:
            LOGGER.debug("%s: unavailable after %d failed polls", self.client.endpoint, threshold)
            self.unavailable_after = threshold
        interval = poll_interval(self.config_entry, self.devices)
        if interval == self.update_interval:
            return False
        LOGGER.debug("Polling %s every %s", self.client.endpoint, interval)
        self.update_interval = interval
        return True
