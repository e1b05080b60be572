"""Opt-in cloud sync of one entry to the user's SEMS account: the Home Assistant side of plantkit.uplink.

Off by default: without a consent nothing is collected, no name is resolved, no socket is opened and no
file is written. What the entry's options hold (all set by the options flow, see README "Privacy and
cloud sync"):

- ``cloud``: the settings (broker URL, plant id, credentials, TLS, categories, resolution, device
  reference, the MQTT client id and the key of the device pseudonyms);
- ``cloud_consent``: the consent record (time, Home Assistant user, schema, destination, categories,
  resolution, device reference). Sync runs only while it covers the settings; otherwise it is paused;
- ``cloud_erase``: a withdrawal the receiver has not acknowledged yet, with what is needed to send it
  again (kept only for that; removed once acknowledged).

``CloudSync`` (one per loaded entry) runs the ``Uplink``, feeds it the coordinator's fresh readings
(``fresh_samples``), closes periods, raises and clears the repair issues, asks for new credentials when
the broker refuses them, and tells the sensors what changed. The outbox lives in
``.storage/sems_uplink/<entry_id>/``; removing the entry deletes it (``async_remove``).
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME, CONF_VERIFY_SSL, EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later, async_track_time_interval
from homeassistant.helpers.storage import STORAGE_DIR
from homeassistant.util import dt as dt_util

from .const import DOMAIN, LOGGER
from .plantkit.exceptions import UplinkAuthError, UplinkError
from .plantkit.uplink import (
    BrokerSettings,
    Consent,
    OutboxStats,
    SyncState,
    SyncTerms,
    Uplink,
    UplinkConfig,
    UplinkSample,
    UplinkStatus,
    Withdrawal,
    WithdrawalOutcome,
    WithdrawalRequest,
    preview,
)
from .plantkit.uplink.outbox import OutboxStore
from .plantkit.uplink.samples import samples

if TYPE_CHECKING:
    from .coordinator import SemsConfigEntry, SemsCoordinator

# entry.options keys
CONF_CLOUD: Final = "cloud"
CONF_CLOUD_CONSENT: Final = "cloud_consent"
CONF_CLOUD_ERASE: Final = "cloud_erase"
# keys inside CONF_CLOUD (and the options-flow fields of the same names); username, password and
# verify_ssl use homeassistant.const
CONF_URL: Final = "url"
CONF_PLANT: Final = "plant"
CONF_CA: Final = "ca_certificate"
CONF_CLIENT_CERT: Final = "client_certificate"
CONF_CLIENT_KEY: Final = "client_key"
CONF_CATEGORIES: Final = "categories"
CONF_RESOLUTION: Final = "resolution"
CONF_DEVICE_REF: Final = "device_ref"
CONF_CLIENT_ID: Final = "client_id"
CONF_DEVICE_KEY: Final = "device_key"

ISSUE_TLS_UNVERIFIED: Final = "cloud_tls_unverified"
ISSUE_UNREACHABLE: Final = "cloud_unreachable"
ISSUE_ERASE_PENDING: Final = "cloud_erase_pending"

UNREACHABLE_ISSUE_AFTER: Final = timedelta(hours=1)
TICK: Final = timedelta(seconds=15)  # closes periods, checks the broker's reachability
WITHDRAWAL_WAIT: Final = 30.0  # seconds one withdrawal attempt waits for the receiver
WITHDRAWAL_RETRY: Final = timedelta(hours=1)
REMOVAL_WAIT: Final = 10.0  # seconds removing an entry waits for the receiver's erase acknowledgement
SENSOR_DEBOUNCE: Final = 1.0  # seconds between two sensor updates while messages flow
PROBE_TIMEOUT: Final = 15.0
# What diagnostics never show.
SECRETS: Final = frozenset(
    {CONF_USERNAME, CONF_PASSWORD, CONF_CLIENT_KEY, CONF_CLIENT_CERT, CONF_CA, CONF_DEVICE_KEY}
)
# What a pending withdrawal keeps to be sent again.
_CONNECTION_KEYS: Final = (
    CONF_URL,
    CONF_PLANT,
    CONF_USERNAME,
    CONF_PASSWORD,
    CONF_CA,
    CONF_VERIFY_SSL,
    CONF_CLIENT_CERT,
    CONF_CLIENT_KEY,
    CONF_CLIENT_ID,
)


@dataclass(frozen=True, slots=True)
class CloudSettings:
    """The ``cloud`` option, parsed: where, how, what, and this entry's client id and pseudonym key."""

    broker: BrokerSettings
    terms: SyncTerms
    client_id: str
    device_key: bytes

    @classmethod
    def create(
        cls, broker: BrokerSettings, terms: SyncTerms, previous: CloudSettings | None
    ) -> CloudSettings:
        """New settings; the client id and pseudonym key stay those of ``previous`` (same session, same
        pseudonyms) or are made now."""
        if previous is not None:
            return cls(broker, terms, previous.client_id, previous.device_key)
        return cls(broker, terms, f"sems-{terms.plant}-{secrets.token_hex(4)}", secrets.token_bytes(32))

    @classmethod
    def from_options(cls, data: Mapping[str, Any]) -> CloudSettings:
        """Parse the ``cloud`` option; raises KeyError/TypeError/ValueError when malformed."""
        broker = BrokerSettings(
            url=str(data[CONF_URL]),
            username=data.get(CONF_USERNAME) or None,
            password=data.get(CONF_PASSWORD) or None,
            ca_pem=data.get(CONF_CA) or None,
            verify=bool(data.get(CONF_VERIFY_SSL, True)),
            client_cert_pem=data.get(CONF_CLIENT_CERT) or None,
            client_key_pem=data.get(CONF_CLIENT_KEY) or None,
        )
        terms = SyncTerms.create(
            destination=broker.url,
            plant=str(data[CONF_PLANT]),
            categories=data[CONF_CATEGORIES],
            resolution=int(data[CONF_RESOLUTION]),
            device_ref=str(data[CONF_DEVICE_REF]),
        )
        return cls(broker, terms, str(data[CONF_CLIENT_ID]), bytes.fromhex(str(data[CONF_DEVICE_KEY])))

    def to_options(self) -> dict[str, Any]:
        """The ``cloud`` option."""
        broker = self.broker
        return {
            CONF_URL: broker.url,
            CONF_PLANT: self.terms.plant,
            CONF_USERNAME: broker.username,
            CONF_PASSWORD: broker.password,
            CONF_CA: broker.ca_pem,
            CONF_VERIFY_SSL: broker.verify,
            CONF_CLIENT_CERT: broker.client_cert_pem,
            CONF_CLIENT_KEY: broker.client_key_pem,
            CONF_CATEGORIES: [str(category) for category in self.terms.categories],
            CONF_RESOLUTION: self.terms.resolution,
            CONF_DEVICE_REF: str(self.terms.device_ref),
            CONF_CLIENT_ID: self.client_id,
            CONF_DEVICE_KEY: self.device_key.hex(),
        }

    def with_credentials(self, username: str | None, password: str | None) -> CloudSettings:
        """The same settings with new credentials (reauthentication)."""
        return replace(
            self, broker=replace(self.broker, username=username or None, password=password or None)
        )


def cloud_settings(options: Mapping[str, Any]) -> CloudSettings | None:
    """The entry's cloud settings, or None (none stored, or unusable: then sync is off)."""
    data = options.get(CONF_CLOUD)
    if not isinstance(data, Mapping):
        return None
    try:
        return CloudSettings.from_options(data)
    except (KeyError, TypeError, ValueError) as err:
        LOGGER.warning("Ignoring unusable cloud sync settings: %s", err)
        return None


def stored_consent(options: Mapping[str, Any]) -> Consent | None:
    """The entry's consent record, or None."""
    data = options.get(CONF_CLOUD_CONSENT)
    if not isinstance(data, Mapping):
        return None
    try:
        return Consent.from_dict(data)
    except (KeyError, TypeError, ValueError) as err:
        LOGGER.warning("Ignoring an unreadable cloud sync consent record: %s", err)
        return None


def sync_directory(hass: HomeAssistant, entry_id: str) -> Path:
    """Where the entry's outbox lives; it holds nothing else."""
    return Path(hass.config.path(STORAGE_DIR, f"{DOMAIN}_uplink", entry_id))


def _remove_directory(directory: Path) -> None:
    OutboxStore.remove(directory)
    parent = directory.parent
    if parent.exists() and not any(parent.iterdir()):
        parent.rmdir()


# --- the coordinator's readings, as uplink samples ---------------------------------------------------------


def fresh_samples(coordinator: SemsCoordinator, previous: object, at: datetime) -> list[UplinkSample] | None:
    """The samples of a refresh that read the plant, or None when it did not.

    ``previous`` is the snapshot of the last refresh taken, so the same reading is not taken twice; held
    and night snapshots have no fresh devices, so they give no samples.
    """
    data = coordinator.data
    if data is None or data is previous:
        return None
    return samples(data, at) or None


def example_messages(coordinator: SemsCoordinator | None, settings: CloudSettings) -> list[dict[str, Any]]:
    """The messages the plant's current readings would make under ``settings`` (one period's worth)."""
    if coordinator is None or not coordinator.data:
        return []
    return preview(samples(coordinator.data, dt_util.utcnow()), terms=settings.terms, key=settings.device_key)


def _now() -> datetime:
    return dt_util.utcnow()


# --- the manager -------------------------------------------------------------------------------------------


class CloudSync:
    """The cloud sync of one loaded entry; see the module docstring."""

    def __init__(self, hass: HomeAssistant, entry: SemsConfigEntry, coordinator: SemsCoordinator) -> None:
        self.hass = hass
        self.entry = entry
        self.coordinator = coordinator
        self.directory = sync_directory(hass, entry.entry_id)
        self.uplink: Uplink | None = None
        self.settings: CloudSettings | None = None
        self.consent: Consent | None = None
        self.state = SyncState.OFF
        self._running_key: tuple[str, CloudSettings] | None = None
        self._listeners: list[Callable[[], None]] = []
        self._unsubscribers: list[CALLBACK_TYPE] = []
        self._previous_data: object = None
        self._debounce: CALLBACK_TYPE | None = None
        self._reauth_started = False
        self._unreachable_issue = False
        self._withdrawing: str | None = None  # the request id being sent now
        self._retry: CALLBACK_TYPE | None = None
        self._acknowledged: set[str] = set()
        self._last_status: UplinkStatus | None = None
        self._lock = asyncio.Lock()  # one change at a time (a flow step and the update listener)
        self._on_hass_stop: CALLBACK_TYPE | None = None

    # --- lifecycle -------------------------------------------------------------------------------------

    async def async_start(self) -> None:
        """Apply the entry's options (at setup)."""
        # Home Assistant does not unload entries when it stops: without this the open periods and energy
        # references would never reach the disk, and a restart would lose up to a period of readings.
        self._on_hass_stop = self.hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, self._async_hass_stop)
        await self.async_apply()

    async def _async_hass_stop(self, _event: Event) -> None:
        self._on_hass_stop = None  # fired: a once-listener removes itself
        await self.async_stop()

    async def async_apply(self) -> None:
        """Bring the sync in line with the entry's options (at setup and after every options change)."""
        async with self._lock:
            await self._async_apply()

    async def _async_apply(self) -> None:
        options = self.entry.options
        settings = cloud_settings(options)
        consent = stored_consent(options)
        self.settings, self.consent = settings, consent
        if settings is not None and consent is not None and consent.covers(settings.terms):
            key = (consent.consent_id, settings)
            if self._running_key != key:
                await self._async_stop_uplink()
                if await self._async_start_uplink(consent, settings):
                    self._running_key = key
            self.state = self.uplink.status.state if self.uplink is not None else SyncState.ERROR
        else:
            await self._async_stop_uplink()
            # Paused (the settings changed since the consent) or off: nothing may wait to be sent, and
            # what was queued under old terms must not leave under new ones.
            await self.hass.async_add_executor_job(_remove_directory, self.directory)
            if settings is not None and consent is not None:
                self.state = SyncState.PAUSED
            else:
                self.state = SyncState.OFF
        self._update_tls_issue()
        self._apply_withdrawal(options.get(CONF_CLOUD_ERASE))
        self._notify()

    async def async_stop(self) -> None:
        """Unload or Home Assistant stopping: stop sending (what is queued and the open periods stay on
        disk), cancel timers."""
        if self._on_hass_stop is not None:
            self._on_hass_stop()
            self._on_hass_stop = None
        if self._retry is not None:
            self._retry()
            self._retry = None
        if self._debounce is not None:
            self._debounce()
            self._debounce = None
        await self._async_stop_uplink()

    async def _async_start_uplink(self, consent: Consent, settings: CloudSettings) -> bool:
        config = UplinkConfig(
            consent=consent,
            broker=settings.broker,
            client_id=settings.client_id,
            device_key=settings.device_key,
            directory=self.directory,
        )
        uplink = Uplink(config, on_change=self._uplink_changed)
        try:
            await uplink.start()
        except UplinkError as err:
            LOGGER.warning("Cloud sync cannot start: %s", err)
            return False
        self.uplink = uplink
        self._reauth_started = False
        self._previous_data = self.coordinator.data  # a reading from before the start is not fresh
        self._unsubscribers = [
            self.coordinator.async_add_listener(self._coordinator_updated),
            async_track_time_interval(self.hass, self.async_tick, TICK, cancel_on_shutdown=True),
        ]
        return True

    async def _async_stop_uplink(self) -> None:
        for unsubscribe in self._unsubscribers:
            unsubscribe()
        self._unsubscribers = []
        self._running_key = None
        # "Unreachable" is about the uplink that ran: withdrawn, paused or restarted, it no longer holds.
        self._delete_issue(ISSUE_UNREACHABLE)
        self._unreachable_issue = False
        uplink, self.uplink = self.uplink, None
        if uplink is not None:
            self._last_status = uplink.status
            await uplink.stop()

    # --- data in ---------------------------------------------------------------------------------------

    @callback
    def _coordinator_updated(self) -> None:
        if self.uplink is None:
            return
        samples = fresh_samples(self.coordinator, self._previous_data, _now())
        if samples is None:
            return
        self._previous_data = self.coordinator.data
        self.uplink.add_samples(samples)

    async def async_tick(self, now: datetime) -> None:
        """Close the periods that ended by ``now``; raise or clear the "broker unreachable" issue."""
        uplink = self.uplink
        if uplink is None:
            return
        await uplink.flush(now)
        self._update_unreachable_issue(uplink.status, now)

    # --- status out ------------------------------------------------------------------------------------

    @callback
    def _uplink_changed(self) -> None:
        uplink = self.uplink
        if uplink is None:
            return
        status = uplink.status
        self.state = status.state
        if isinstance(status.error, UplinkAuthError) and not self._reauth_started:
            self._reauth_started = True
            LOGGER.info("Cloud sync for %s needs new credentials: %s", self.entry.title, status.error)
            self.entry.async_start_reauth(self.hass)
        if status.connected:
            self._update_unreachable_issue(status, _now())
        if self._debounce is None:
            self._debounce = async_call_later(self.hass, SENSOR_DEBOUNCE, self._debounced)

    @callback
    def _debounced(self, _now: datetime) -> None:
        self._debounce = None
        self._notify()

    @callback
    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    @callback
    def async_add_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call ``listener`` when the state or the counters change; returns the remover."""
        self._listeners.append(listener)

        @callback
        def remove() -> None:
            self._listeners.remove(listener)

        return remove

    @property
    def status(self) -> UplinkStatus | None:
        """The running uplink's status, or the last one before it stopped."""
        return self.uplink.status if self.uplink is not None else self._last_status

    @property
    def stats(self) -> OutboxStats:
        """What waits, went and was dropped (zeros while off)."""
        if self.state is SyncState.OFF:
            return OutboxStats()
        status = self.status
        return status.stats if status is not None else OutboxStats()

    # --- repair issues ---------------------------------------------------------------------------------

    def _issue_id(self, key: str) -> str:
        return f"{key}_{self.entry.entry_id}"

    def _delete_issue(self, key: str) -> None:
        ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(key))

    def _update_tls_issue(self) -> None:
        settings = self.settings
        if settings is not None and not settings.broker.verify and self.state is not SyncState.OFF:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                self._issue_id(ISSUE_TLS_UNVERIFIED),
                is_fixable=False,
                is_persistent=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=ISSUE_TLS_UNVERIFIED,
                translation_placeholders={"title": self.entry.title, "destination": settings.broker.url},
            )
        else:
            self._delete_issue(ISSUE_TLS_UNVERIFIED)

    def _update_unreachable_issue(self, status: UplinkStatus, now: datetime) -> None:
        since = status.disconnected_since
        if status.connected or since is None or isinstance(status.error, UplinkAuthError):
            if self._unreachable_issue:
                self._delete_issue(ISSUE_UNREACHABLE)
                self._unreachable_issue = False
            return
        if self._unreachable_issue or now - since < UNREACHABLE_ISSUE_AFTER or self.settings is None:
            return
        self._unreachable_issue = True
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._issue_id(ISSUE_UNREACHABLE),
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_UNREACHABLE,
            translation_placeholders={
                "title": self.entry.title,
                "destination": self.settings.broker.url,
                "since": dt_util.as_local(since).strftime("%Y-%m-%d %H:%M"),
                "error": str(status.error or ""),
                "queued": str(status.stats.queued),
            },
        )

    # --- withdrawal ------------------------------------------------------------------------------------

    async def async_withdraw(self, erase: bool) -> dict[str, Any]:
        """Withdraw consent at once: stop publishing, delete the outbox, then tell the receiver (clear the
        retained consent, say withdrawn, ask to erase when ``erase``) in the background until it
        acknowledges. Returns the entry's new options, already saved: no settings or consent, and the
        pending withdrawal (which keeps the credentials only until acknowledged)."""
        async with self._lock:
            settings, consent = self.settings, self.consent
            await self._async_stop_uplink()
            self._last_status = None
            await self.hass.async_add_executor_job(_remove_directory, self.directory)
            options = without_cloud(self.entry.options)
            if settings is not None:
                options[CONF_CLOUD_ERASE] = pending_withdrawal(settings, consent, erase)
            self.hass.config_entries.async_update_entry(self.entry, options=options)
            await self._async_apply()
        return options

    def _apply_withdrawal(self, pending: object) -> None:
        """Send a pending withdrawal unless it is being sent, was acknowledged, or waits for its retry."""
        if not isinstance(pending, Mapping):
            self._delete_issue(ISSUE_ERASE_PENDING)
            return
        request_id = str(pending.get("request_id"))
        if request_id in self._acknowledged:
            self._forget_withdrawal(request_id)
            return
        if self._withdrawing == request_id or self._retry is not None:
            return
        self._withdrawing = request_id
        self.entry.async_create_background_task(
            self.hass, self._async_send_withdrawal(pending), f"{DOMAIN} cloud withdrawal"
        )

    async def _async_send_withdrawal(self, pending: Mapping[str, Any]) -> None:
        try:
            broker, client_id, request = parse_pending_withdrawal(pending)
        except (KeyError, TypeError, ValueError) as err:
            LOGGER.warning("Dropping an unreadable pending cloud withdrawal: %s", err)
            self._forget_withdrawal(str(pending.get("request_id")))
            return
        outcome = await send_withdrawal(broker, client_id, request, WITHDRAWAL_WAIT)
        self._withdrawing = None
        if outcome is WithdrawalOutcome.ACKNOWLEDGED:
            LOGGER.info("Cloud sync withdrawal for %s acknowledged", self.entry.title)
            self._acknowledged.add(request.request_id)
            self._forget_withdrawal(request.request_id)
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._issue_id(ISSUE_ERASE_PENDING),
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_ERASE_PENDING,
            translation_placeholders={
                "title": self.entry.title,
                "destination": broker.url,
                "requested": dt_util.as_local(request.requested_at).strftime("%Y-%m-%d %H:%M"),
            },
        )
        self._retry = async_call_later(self.hass, WITHDRAWAL_RETRY, self._retry_withdrawal)

    async def async_retry_withdrawal(self) -> None:
        """Send the pending withdrawal now instead of at the next retry."""
        if self._retry is not None:
            self._retry()
            self._retry = None
        await self.async_apply()

    @callback
    def _retry_withdrawal(self, _now: datetime) -> None:
        self._retry = None
        self._apply_withdrawal(self.entry.options.get(CONF_CLOUD_ERASE))

    def _forget_withdrawal(self, request_id: str) -> None:
        """Acknowledged: drop the pending record (and with it the credentials) and the issue."""
        self._delete_issue(ISSUE_ERASE_PENDING)
        pending = self.entry.options.get(CONF_CLOUD_ERASE)
        if isinstance(pending, Mapping) and str(pending.get("request_id")) == request_id:
            options = {k: v for k, v in self.entry.options.items() if k != CONF_CLOUD_ERASE}
            self.hass.config_entries.async_update_entry(self.entry, options=options)

    # --- diagnostics -----------------------------------------------------------------------------------

    def diagnostics(self) -> dict[str, Any]:
        """State, consent record, settings, counters and the last message (secrets redacted by the caller)."""
        status = self.status
        stats = self.stats
        return {
            "state": str(self.state),
            "consent": self.consent.to_dict() if self.consent is not None else None,
            "settings": self.settings.to_options() if self.settings is not None else None,
            "pending_withdrawal": self.entry.options.get(CONF_CLOUD_ERASE),
            "connected": status.connected if status is not None else False,
            "error": str(status.error) if status is not None and status.error is not None else None,
            "queued": stats.queued,
            "sent": stats.sent,
            "dropped": stats.dropped,
            "sent_by_category": dict(stats.sent_by_category),
            "last_sent_at": stats.last_sent_at.isoformat() if stats.last_sent_at else None,
            "last_message": status.last_message if status is not None else None,
        }


def without_cloud(options: Mapping[str, Any]) -> dict[str, Any]:
    """The options without any cloud sync setting, consent or pending withdrawal."""
    return {k: v for k, v in options.items() if k not in (CONF_CLOUD, CONF_CLOUD_CONSENT, CONF_CLOUD_ERASE)}


def pending_withdrawal(settings: CloudSettings, consent: Consent | None, erase: bool) -> dict[str, Any]:
    """The ``cloud_erase`` record: the request, and what is needed to send it again."""
    broker = settings.to_options()
    return {
        "request_id": str(uuid.uuid4()),
        "requested_at": _now().isoformat(),
        "consent_id": consent.consent_id if consent is not None else None,
        "erase": erase,
        **{key: broker[key] for key in _CONNECTION_KEYS},
    }


def parse_pending_withdrawal(data: Mapping[str, Any]) -> tuple[BrokerSettings, str, WithdrawalRequest]:
    """Broker, client id and request of a ``cloud_erase`` record; raises KeyError/TypeError/ValueError."""
    broker = BrokerSettings(
        url=str(data[CONF_URL]),
        username=data.get(CONF_USERNAME) or None,
        password=data.get(CONF_PASSWORD) or None,
        ca_pem=data.get(CONF_CA) or None,
        verify=bool(data.get(CONF_VERIFY_SSL, True)),
        client_cert_pem=data.get(CONF_CLIENT_CERT) or None,
        client_key_pem=data.get(CONF_CLIENT_KEY) or None,
    )
    requested_at = datetime.fromisoformat(str(data["requested_at"]))
    request = WithdrawalRequest(
        plant=str(data[CONF_PLANT]),
        request_id=str(data["request_id"]),
        requested_at=requested_at,
        consent_id=data.get("consent_id"),
        erase=bool(data.get("erase", True)),
    )
    return broker, str(data[CONF_CLIENT_ID]), request


async def send_withdrawal(
    broker: BrokerSettings, client_id: str, request: WithdrawalRequest, seconds: float
) -> WithdrawalOutcome:
    """One attempt, at most ``seconds`` long; a refusal or unusable settings count as not acknowledged."""
    withdrawal = Withdrawal(broker, client_id=client_id, request=request)
    try:
        async with asyncio.timeout(seconds):
            return await withdrawal.run()
    except TimeoutError:
        return withdrawal.outcome
    except UplinkError as err:
        LOGGER.info("Cloud sync withdrawal not sent: %s", err)
        return WithdrawalOutcome.UNREACHABLE


async def async_withdraw(hass: HomeAssistant, entry: SemsConfigEntry, erase: bool) -> dict[str, Any]:
    """The "Stop cloud sync" step: withdraw consent (see ``CloudSync.async_withdraw``); returns the new
    options, already saved. Without settings but with a withdrawal still waiting for its acknowledgement,
    ``erase`` sends it again now, and no ``erase`` stops waiting (forgetting the credentials)."""
    sync = entry.runtime_data.cloud_sync if entry.state is ConfigEntryState.LOADED else None
    if cloud_settings(entry.options) is None:
        options = dict(entry.options)
        if not erase:
            options.pop(CONF_CLOUD_ERASE, None)
            ir.async_delete_issue(hass, DOMAIN, f"{ISSUE_ERASE_PENDING}_{entry.entry_id}")
        hass.config_entries.async_update_entry(entry, options=options)
        if sync is not None:
            await sync.async_retry_withdrawal()
        return options
    if sync is not None:
        return await sync.async_withdraw(erase)
    # Not loaded: nothing runs; delete the outbox now, the withdrawal is sent at the next setup.
    await hass.async_add_executor_job(_remove_directory, sync_directory(hass, entry.entry_id))
    settings = cloud_settings(entry.options)
    assert settings is not None
    options = without_cloud(entry.options)
    options[CONF_CLOUD_ERASE] = pending_withdrawal(settings, stored_consent(entry.options), erase)
    hass.config_entries.async_update_entry(entry, options=options)
    return options


async def async_remove(hass: HomeAssistant, entry: SemsConfigEntry) -> None:
    """The entry is being removed: delete every file the sync made, and if it had consent (or a
    withdrawal was pending) ask the receiver to erase; waits a little for the acknowledgement."""
    for key in (ISSUE_TLS_UNVERIFIED, ISSUE_UNREACHABLE, ISSUE_ERASE_PENDING):
        ir.async_delete_issue(hass, DOMAIN, f"{key}_{entry.entry_id}")
    await hass.async_add_executor_job(_remove_directory, sync_directory(hass, entry.entry_id))
    pending = entry.options.get(CONF_CLOUD_ERASE)
    settings = cloud_settings(entry.options)
    if settings is not None:
        pending = pending_withdrawal(settings, stored_consent(entry.options), erase=True)
    if not isinstance(pending, Mapping):
        return
    try:
        broker, client_id, request = parse_pending_withdrawal(pending)
    except (KeyError, TypeError, ValueError):
        return
    outcome = await send_withdrawal(broker, client_id, replace(request, erase=True), REMOVAL_WAIT)
    if outcome is not WithdrawalOutcome.ACKNOWLEDGED:
        LOGGER.warning(
            "Removed %s: the erase request to %s was not acknowledged (%s); ask SEMS to erase plant %s",
            entry.title,
            broker.url,
            outcome,
            request.plant,
        )
