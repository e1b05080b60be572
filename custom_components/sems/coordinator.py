"""One coordinator per endpoint: it refreshes plantkit's ``PlantMonitor`` on Home Assistant's schedule.

The monitor decides what every value means (fresh, held after a failed poll, a night stand-in of a
sleeping PV inverter, a guarded energy total); the coordinator only maps its outcome to Home Assistant:
- ``PlantUnavailableError`` (too many failed polls in a row) becomes ``UpdateFailed``: the entities go
  unavailable and Home Assistant logs the loss and the recovery once each;
- after ``UNREACHABLE_ISSUE_AFTER`` unreachable, a repair issue says what to check; it goes away by
  itself when the endpoint answers again;
- what the energy guards remember is kept in a store, so a restart continues where they were.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.restore_state import async_get as async_get_restore_state
from homeassistant.helpers.storage import Store
from homeassistant.helpers.sun import is_up
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .const import (
    CONF_DEVICES,
    CONF_POLL_PRESET,
    CONF_UNAVAILABLE_AFTER,
    CONF_UNIT_IDS,
    DEFAULT_UNAVAILABLE_AFTER,
    DEVICE_CENSUS_INTERVAL,
    DOMAIN,
    ISSUE_UNREACHABLE,
    LOGGER,
    MAX_UNAVAILABLE_AFTER,
    POLL_LOGGER,
    POLL_PRESET_SECONDS,
    TWILIGHT_MARGIN,
    UNREACHABLE_ISSUE_AFTER,
    PollPreset,
)
from .entry_data import default_poll_seconds
from .plantkit.client import PlantClient
from .plantkit.exceptions import (
    ConnectionClosedError,
    ModbusExceptionError,
    NoDeviceAtUnitError,
    PlantConnectionError,
    PlantError,
    PlantProtocolError,
    PlantTimeoutError,
    PlantUnavailableError,
    UnsupportedDeviceError,
)
from .plantkit.model import QUANTITY_INFO, DeviceIdentity, Kind, Quantity
from .plantkit.monitor import WRITE_EVERY, NightRules, PlantMonitor
from .plantkit.naming import device_name
from .plantkit.snapshot import PlantSnapshot

if TYPE_CHECKING:
    from .cloud import CloudSync
    from .controls import SemsControls

type SemsConfigEntry = ConfigEntry[SemsCoordinator]

# Why reading a plant failed, as translated messages that name the plant, never its host or serial (they
# end up in ERROR log lines and the entry's setup error): key -> placeholders. Checked against
# translations/en.json by scripts/validate_integration.py.
TRANSLATED_EXCEPTIONS: dict[str, tuple[str, ...]] = {
    "cannot_connect": ("name",),
    "timeout": ("name",),
    "connection_closed": ("name",),
    "no_device_at_unit": ("name", "unit"),
    "device_error": ("name", "code"),
    "invalid_answer": ("name",),
    "not_supported": ("name",),
    "communication_error": ("name",),
}


def failure(err: BaseException | None, name: str) -> tuple[str, dict[str, str]]:
    """The translation key and placeholders saying why reading ``name`` failed.

    ``err`` may be any exception whose cause chain holds the library's error (the coordinator's
    ``UpdateFailed``, a ``ConfigEntryNotReady``): its innermost ``PlantError`` decides.
    """
    cause: BaseException | None = None
    while err is not None:
        if isinstance(err, PlantError) and not isinstance(err, PlantUnavailableError):
            cause = err
        err = err.__cause__
    placeholders = {"name": name}
    if isinstance(cause, NoDeviceAtUnitError):
        return "no_device_at_unit", {**placeholders, "unit": ", ".join(str(u) for u in cause.unit_ids)}
    if isinstance(cause, ConnectionClosedError):
        return "connection_closed", placeholders
    if isinstance(cause, PlantTimeoutError):
        return "timeout", placeholders
    if isinstance(cause, PlantConnectionError):
        return "cannot_connect", placeholders
    if isinstance(cause, ModbusExceptionError):
        return "device_error", {**placeholders, "code": str(cause.code)}
    if isinstance(cause, UnsupportedDeviceError):
        return "not_supported", placeholders
    if isinstance(cause, PlantProtocolError):
        return "invalid_answer", placeholders
    return "communication_error", placeholders


STORAGE_VERSION = 1


def storage_key(entry_id: str) -> str:
    """The store of one entry's energy guards (removed with the entry)."""
    return f"{DOMAIN}.{entry_id}.energy"


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


class FailedPollsAreWarnings(logging.Filter):
    """Home Assistant's coordinator logs the poll that made the devices unavailable at ERROR. For us it
    is a device that is off, asleep past its night or refusing: it recovers by itself, and the user's log
    keeps ERROR for what needs fixing. So that one line (and its timeout form) becomes a WARNING, once per
    outage as before; anything unexpected (a traceback) stays an ERROR."""

    _FAILED_POLL = ("Error fetching ", "Timeout fetching ")

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            record.levelno == logging.ERROR
            and record.exc_info is None
            and isinstance(record.msg, str)
            and record.msg.startswith(self._FAILED_POLL)
        ):
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        return True


POLL_LOGGER.addFilter(FailedPollsAreWarnings())


class SemsCoordinator(DataUpdateCoordinator[PlantSnapshot]):
    """Polls one endpoint; ``data`` is the monitor's latest snapshot."""

    config_entry: SemsConfigEntry
    cloud_sync: CloudSync | None = None  # the entry's opt-in cloud sync, set by setup
    controls: SemsControls | None = None  # the entry's battery and export controls, set by setup

    def __init__(self, hass: HomeAssistant, entry: SemsConfigEntry, client: PlantClient) -> None:
        super().__init__(
            hass,
            POLL_LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            update_interval=poll_interval(entry, client.devices),
        )
        self.client = client
        self.monitor = PlantMonitor(
            client,
            name=entry.title,
            unavailable_after=unavailable_after(entry),
            night=NightRules(sun_is_low=self._sun_is_low),
            clock=dt_util.utcnow,
            timezone=dt_util.get_default_time_zone(),
            poll_interval=self.update_interval or poll_interval(entry, client.devices),
        )
        self._store: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, storage_key(entry.entry_id))
        self._issue_id = f"{ISSUE_UNREACHABLE}_{entry.entry_id}"
        self._issue_raised = False
        self._next_census = dt_util.utcnow() + DEVICE_CENSUS_INTERVAL

    @property
    def devices(self) -> list[DeviceIdentity]:
        """The devices this coordinator reads."""
        return self.client.devices

    @property
    def asleep(self) -> bool:
        """True while the endpoint's PV-only inverter sleeps."""
        return self.monitor.asleep

    def _sun_is_low(self, now: datetime) -> bool:
        """The sun is down or within ``TWILIGHT_MARGIN`` of the horizon at Home Assistant's location.

        Inverters stop before sunset and start after sunrise, so a poll just before the silence may
        still have seen a few watts.
        """
        return not (is_up(self.hass, now - TWILIGHT_MARGIN) and is_up(self.hass, now + TWILIGHT_MARGIN))

    @override
    async def _async_setup(self) -> None:
        """Continue the energy guards from their store; an entry without one starts from its restored
        states (the first start after an update that introduced the store)."""
        stored = await self._store.async_load()
        if stored is not None:
            self.monitor.restore_state(stored)
            return
        registry = er.async_get(self.hass)
        last_states = async_get_restore_state(self.hass).last_states
        for device in self.devices:
            for quantity in Quantity:
                if QUANTITY_INFO[quantity].kind is not Kind.LIFETIME_TOTAL:
                    continue
                entity_id = registry.async_get_entity_id("sensor", DOMAIN, f"{device.key}_{quantity}")
                restored = last_states.get(entity_id) if entity_id else None
                if restored is None:
                    continue
                try:
                    value = float(restored.state.state)
                except ValueError:
                    continue
                self.monitor.seed_total(device.key, quantity, value)

    @override
    async def _async_update_data(self) -> PlantSnapshot:
        if dt_util.utcnow() >= self._next_census:
            self._next_census = dt_util.utcnow() + DEVICE_CENSUS_INTERVAL
            await self._async_census()
        try:
            snapshot = await self.monitor.refresh()
        except PlantUnavailableError as err:
            since = self.monitor.unreachable_since
            if since is not None and dt_util.utcnow() - since >= UNREACHABLE_ISSUE_AFTER:
                self._raise_unreachable_issue(dt_util.utcnow() - since)
            key, placeholders = failure(err, self.config_entry.title)
            raise UpdateFailed(
                translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
            ) from err
        if self.monitor.failed_polls == 0 and self._issue_raised:
            ir.async_delete_issue(self.hass, DOMAIN, self._issue_id)
            self._issue_raised = False
        # Written when the library says (``PlantMonitor.state_to_write``); otherwise when Home Assistant
        # stops, or once polls stop for that long (a delayed save alone is pushed back at every call).
        state = self.monitor.state_to_write(dt_util.utcnow())
        if state is not None:
            await self._store.async_save(state)
        else:
            self._store.async_delay_save(self.monitor.export_state, WRITE_EVERY.total_seconds())
        if self.controls is not None:
            await self.controls.async_read_if_due()
        return snapshot

    def absent_units(self) -> list[int]:
        """Unit ids the entry lists that have no device (yet): a gateway's place for a later device."""
        present = {device.unit_id for device in self.devices}
        return [unit for unit in self.config_entry.data.get(CONF_UNIT_IDS) or () if unit not in present]

    async def _async_census(self) -> None:
        """Ask the entry's unit ids without a device whether one answers now; add what answers.

        The new devices are read from this poll on, stored with the entry, and the platforms add their
        entities (``entity.async_add_device_entities``). Entries that list no unit ids send nothing.
        """
        units = self.absent_units()
        if not units:
            return
        try:
            found = await self.client.identify(units)
        except PlantError as err:
            LOGGER.debug("%s: nothing new at unit %s (%s)", self.config_entry.title, units, err)
            return
        known = {device.key for device in self.devices}
        new = [device for device in found if device.key not in known]
        if not new:
            return
        self.client.devices = [*self.devices, *new]
        self._store_devices()
        names = ", ".join(device_name(device, self.devices) for device in new)
        LOGGER.info("%s: found %s", self.config_entry.title, names)

    def forget(self, key: str) -> None:
        """Stop reading a device the user deleted (it is found again if it answers at a census)."""
        self.client.devices = [device for device in self.devices if device.key != key]
        self._store_devices()

    def _store_devices(self) -> None:
        entry = self.config_entry
        devices = [device.to_dict() for device in self.devices]
        self.hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_DEVICES: devices})

    def _raise_unreachable_issue(self, outage: timedelta) -> None:
        if self._issue_raised:
            return
        LOGGER.debug("Raising repair issue: %s unreachable for %s", self.config_entry.title, outage)
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
        await self._store.async_save(self.monitor.export_state())
        ir.async_delete_issue(self.hass, DOMAIN, self._issue_id)
        self._issue_raised = False

    def apply_options(self) -> bool:
        """Use the interval and failure threshold the options ask for, without a reload.

        Returns True when the interval changed (the caller then polls at once at the new pace).
        """
        threshold = unavailable_after(self.config_entry)
        if threshold != self.monitor.unavailable_after:
            LOGGER.debug("%s: unavailable after %d failed polls", self.config_entry.title, threshold)
            self.monitor.unavailable_after = threshold
        interval = poll_interval(self.config_entry, self.devices)
        if interval == self.update_interval:
            return False
        LOGGER.debug("Polling %s every %s", self.config_entry.title, interval)
        self.update_interval = interval
        self.monitor.poll_interval = interval
        return True
