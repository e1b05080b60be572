"""Poll an endpoint and decide what each value means: fresh, held after a failed poll, or a night stand-in.

The ``PlantMonitor`` wraps a ``PlantClient`` and turns every refresh into a ``PlantSnapshot``:

- a few failed polls in a row keep the last reading (values marked held);
- ``unavailable_after`` failed polls in a row raise ``PlantUnavailableError``: consumers show the
  devices unavailable until they answer again;
- a PV-only inverter that goes silent without sun (``NightRules.sun_is_low``), or right after a
  reading that showed it idle, is asleep, not broken: its energy totals keep their last value, its
  powers read 0, values it cannot have are left out, its faults stay as last read. After
  ``NightRules.max_silence`` without an answer its silence is an outage again;
- every energy counter passes its device's energy books (``energy.ledger``): lifetime counters are
  guarded against glitches, resets and wraps, daily counters restart at local midnight, and totals a
  device lacks are integrated from its power.

Home Assistant, the CLI and the cloud uplink all read the same snapshots, so all of them get the same
trustworthy values.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Final

from .client import PlantClient
from .energy.ledger import DeviceLedger
from .energy.spec import rated_power_w
from .exceptions import PlantConnectionError, PlantError, PlantUnavailableError
from .faults import merge
from .model import QUANTITY_INFO, DeviceIdentity, DeviceReading, DeviceStatus, Quantity, Role, Unit
from .naming import device_name
from .plant import PlantTotals
from .snapshot import DeviceSnapshot, PlantSnapshot, Sample, Samples, Source, held_samples

_LOGGER = logging.getLogger(__name__)

DEFAULT_UNAVAILABLE_AFTER = 3
# Longer than any night where people install PV, shorter than a day: a dead inverter is reported the
# next day at the latest.
DEFAULT_MAX_NIGHT_SILENCE = timedelta(hours=20)

DEFAULT_POLL_INTERVAL = timedelta(seconds=30)
STATE_VERSION = 2
_IDLE_STATUSES = (DeviceStatus.SLEEPING, DeviceStatus.STANDBY, DeviceStatus.OFF)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class NightRules:
    """When a silent PV-only inverter counts as asleep.

    ``sun_is_low(now)`` says whether the sun is down or near the horizon at the plant (the caller knows
    its location); without it only an idle last reading makes silence sleep.
    """

    sun_is_low: Callable[[datetime], bool] | None = None
    max_silence: timedelta = DEFAULT_MAX_NIGHT_SILENCE


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


# How often the energy books' state is due for writing (``PlantMonitor.state_to_write``).
WRITE_EVERY: Final = timedelta(minutes=5)
WRITE_SOON: Final = timedelta(minutes=1)  # the soonest a hold or rebase is written after the last write


class PlantMonitor:
    """Refreshes one endpoint's devices and says what each value means (see the module docstring)."""

    def __init__(
        self,
        client: PlantClient,
        *,
        name: str,
        unavailable_after: int = DEFAULT_UNAVAILABLE_AFTER,
        night: NightRules | None = None,
        clock: Callable[[], datetime] = _utcnow,
        timezone: tzinfo = UTC,
        poll_interval: timedelta = DEFAULT_POLL_INTERVAL,
    ) -> None:
        self.client = client
        self.name = name  # how logs name the endpoint (no host, no serial)
        self.unavailable_after = unavailable_after
        self.night = night or NightRules()
        self._clock = clock
        self.failed_polls = 0  # in a row, not counting sleep
        self.unreachable_since: datetime | None = None
        self.asleep = False
        self.last_error: PlantError | None = None
        self._fresh: dict[str, DeviceReading] = {}  # the last readings the devices really sent
        self._read_at: dict[str, datetime] = {}
        self._snapshot: PlantSnapshot | None = None
        # Before the first answer: since when it could have answered (a start at night has no answer
        # yet, and its silence must not count as sleep for ever).
        self._answered_at = clock()
        self._may_sleep = sleeps_at_night(client.devices)
        self.timezone = timezone  # where the plant's days start (daily counters restart at its midnight)
        self._poll_interval = poll_interval
        self._ledgers: dict[str, DeviceLedger] = {}
        self._plant = PlantTotals(timezone)
        self._stored: dict[str, Any] = {}  # ledger states restored before their device was read
        self._seeds: dict[tuple[str, Quantity], float] = {}
        self._silent_polls: dict[str, int] = {}  # device key -> polls in a row it was silent alone
        # The last refresh held a counter (an episode began) or rebased one: save ``export_state()`` now,
        # not later. A restart from older state would show a total below the one published.
        self.save_now = False
        # The last refresh saw a total grow by 5 % since it last did (``DeviceLedger.outgrown``): save at
        # once. A restart from older state would show it that much lower (10 %: a new meter).
        self.outgrown = False
        self._written_at: datetime | None = None  # when state_to_write last gave the state
        self._write_soon = False  # a hold or rebase since then

    @property
    def devices(self) -> list[DeviceIdentity]:
        """The devices this monitor reads."""
        return self.client.devices

    @property
    def poll_interval(self) -> timedelta:
        """How often the caller refreshes: calculated energy is integrated across a few such intervals."""
        return self._poll_interval

    @poll_interval.setter
    def poll_interval(self, interval: timedelta) -> None:
        # The energy books already made follow too, or a longer interval would end every integration.
        self._poll_interval = interval
        for ledger in self._ledgers.values():
            ledger.set_poll_interval(interval)

    @property
    def snapshot(self) -> PlantSnapshot | None:
        """The latest snapshot (None before the first refresh)."""
        return self._snapshot

    def has_read(self, key: str) -> bool:
        """True once the device really answered (not only night stand-ins after a start at night)."""
        return key in self._fresh

    async def refresh(self) -> PlantSnapshot:
        """Read every device once and return what to show.

        Raises ``PlantUnavailableError`` (its ``__cause__`` is the last failure) when the endpoint has
        failed ``unavailable_after`` polls in a row and its inverter is not asleep.
        """
        now = self._clock()
        self.save_now = self.outgrown = False
        try:
            readings = await self.client.read()
        except PlantError as err:
            if isinstance(err, PlantConnectionError):
                await self.client.close()  # start the next poll on a fresh connection
            self._snapshot = await self._failed_poll(err, now)
            return self._snapshot
        self._answered(now)
        first = not self._fresh
        devices = self._record(readings, now, integrate=not first)
        devices |= self._silent_devices(devices)
        again = None
        if first and any(ledger.waiting for ledger in self._ledgers.values()):
            # A new guard takes a counter only once a second reading agrees with the first (a torn or
            # boot-time first value must never become the level): ask once more right away. The first
            # reading only confirms counters; calculated totals start from the second.
            again_at = self._clock()
            again = await self._read_again()
            if again is not None:
                now = again_at
                devices = self._record(again, now)
                devices |= self._silent_devices(devices)
        if first and again is None:  # calculated totals start from the first reading
            for reading in readings:
                self._ledgers[reading.identity.key].integrate(reading, now)
        self._snapshot = self._plant_snapshot(devices, now)
        return self._snapshot

    async def _read_again(self) -> list[DeviceReading] | None:
        """The first poll's second read; None when it fails (a lossy dongle drops a reply): the first read
        stands, and the next poll confirms its counters."""
        try:
            return await self.client.read()
        except PlantError as err:
            if isinstance(err, PlantConnectionError):
                await self.client.close()  # start the next poll on a fresh connection
            _LOGGER.debug("%s: reading again to confirm the counters failed (%s)", self.name, err)
            return None

    def _plant_snapshot(
        self, devices: dict[str, DeviceSnapshot], now: datetime, *, asleep: bool = False
    ) -> PlantSnapshot:
        return PlantSnapshot(
            devices,
            now,
            asleep=asleep,
            totals=self._plant.totals(devices, now),
            total_quantities=self._plant.provides(devices.values()),
            status=self._plant.status(devices),
        )

    def _record(
        self, readings: list[DeviceReading], now: datetime, *, integrate: bool = True
    ) -> dict[str, DeviceSnapshot]:
        keys = {device.key for device in self.devices}
        self._fresh = {k: r for k, r in self._fresh.items() if k in keys}
        for reading in readings:
            key = reading.identity.key
            self._fresh[key] = reading
            self._read_at[key] = now
            if self._silent_polls.pop(key, 0) >= self.unavailable_after:
                _LOGGER.info("%s answers again", device_name(reading.identity, self.devices))
        return {r.identity.key: self._fresh_snapshot(r, now, integrate=integrate) for r in readings}

    def _silent_devices(self, answered: Mapping[str, DeviceSnapshot]) -> dict[str, DeviceSnapshot]:
        """Devices of a gateway that were silent this poll while others answered: their last reading is
        held for a few polls, like a failed poll's; after ``unavailable_after`` polls they are left out
        of the snapshot (shown unavailable) until they answer again."""
        held: dict[str, DeviceSnapshot] = {}
        previous = self._snapshot.devices if self._snapshot is not None else {}
        for device in self.devices:
            if device.key in answered:
                continue
            polls = self._silent_polls[device.key] = self._silent_polls.get(device.key, 0) + 1
            if polls < self.unavailable_after and device.key in previous:
                held[device.key] = _held_device(previous[device.key])
            elif polls == self.unavailable_after:
                _LOGGER.info("%s has not answered for %d polls", device_name(device, self.devices), polls)
        return held

    def silent_devices(self) -> list[DeviceIdentity]:
        """Devices left out of the snapshot because they stopped answering while others answer."""
        return [d for d in self.devices if self._silent_polls.get(d.key, 0) >= self.unavailable_after]

    def _answered(self, now: datetime) -> None:
        if self.asleep:
            _LOGGER.info("%s answers again: awake", self.name)
            self.asleep = False
        self.failed_polls = 0
        self.unreachable_since = None
        self.last_error = None
        self._answered_at = now

    async def _failed_poll(self, err: PlantError, now: datetime) -> PlantSnapshot:
        """Keep the last reading, go to sleep, or give up."""
        self.last_error = err
        if self.asleep and self._slept_too_long(now):
            _LOGGER.info(
                "%s has not answered for %s; no longer taken as asleep", self.name, self.night.max_silence
            )
            self.asleep = False
        elif not self.asleep and self.failed_polls < self.unavailable_after and self._falls_asleep(now):
            _LOGGER.info(
                "%s stopped answering without sun: asleep, its energy totals keep their last value",
                self.name,
            )
            self.asleep = True
        if self.asleep:
            self.failed_polls = 0
            self.unreachable_since = None
            return await self._night_snapshot(now)

        self.failed_polls += 1
        self.unreachable_since = self.unreachable_since or now
        if self.failed_polls < self.unavailable_after and self._fresh and self._snapshot is not None:
            _LOGGER.debug(
                "Poll %d of %d of %s failed (%s); keeping the last reading",
                self.failed_polls,
                self.unavailable_after,
                self.name,
                err,
            )
            return _held(self._snapshot, now)
        raise PlantUnavailableError(f"{self.name}: {err or type(err).__name__}") from err

    def _falls_asleep(self, now: datetime) -> bool:
        """A PV-only plant going silent without sun, or right after it showed no production, sleeps.

        Right after a start at night there is no reading yet: the sun alone decides then. After
        ``max_silence`` without an answer nothing is sleep any more.
        """
        if not self._may_sleep or self._slept_too_long(now):
            return False
        if self.night.sun_is_low is not None and self.night.sun_is_low(now):
            return True
        return any(looked_idle(r) for r in self._fresh.values() if r.identity.role is Role.INVERTER)

    def _slept_too_long(self, now: datetime) -> bool:
        return now - self._answered_at >= self.night.max_silence

    # -- snapshots ------------------------------------------------------------------------------------

    def _fresh_snapshot(
        self, reading: DeviceReading, now: datetime, *, integrate: bool = True
    ) -> DeviceSnapshot:
        ledger = self._ledger(reading)
        energy = ledger.record(reading, now, integrate=integrate)
        self.save_now |= ledger.turned
        self.outgrown |= ledger.outgrown
        values = {quantity: value for quantity, value in reading.values.items() if quantity not in energy}
        held: dict[Quantity, Source] = {}
        for quantity, entry in energy.items():
            values[quantity] = entry.value
            if not entry.taken:
                held[quantity] = Source.HELD
        return DeviceSnapshot(
            identity=reading.identity,
            quantities=frozenset(reading.values) | ledger.quantities,
            values=Samples(values, Source.FRESH, held),
            status=reading.status,
            faults=merge(reading.faults),
            source=Source.FRESH,
            read_at=now,
            rejected=ledger.rejected,
        )

    def _ledger(self, reading: DeviceReading) -> DeviceLedger:
        """The device's energy books, made at its first reading (restored, or seeded, where stored)."""
        identity = reading.identity
        ledger = self._ledgers.get(identity.key)
        if ledger is None:
            profile = self.client.profile(identity.profile)
            ledger = DeviceLedger(
                device_name(identity, self.devices),
                rated_power_w(identity.role, identity.rated_power),
                profile.counter_widths(identity),
                frozenset(reading.values),
                timezone=self.timezone,
                poll_interval=self.poll_interval,
            )
            stored = self._stored.pop(identity.key, None)
            if isinstance(stored, dict):
                ledger.restore(stored)
            for (key, quantity), value in list(self._seeds.items()):
                if key == identity.key:
                    ledger.seed(quantity, value)
                    del self._seeds[(key, quantity)]
            self._ledgers[identity.key] = ledger
        return ledger

    async def _night_snapshot(self, now: datetime) -> PlantSnapshot:
        """Night stand-ins from the last readings, or from empty ones after a start at night.

        Energy totals keep their last value (statistics see neither a gap nor a reset), today's energy
        restarts at midnight; the inverter's powers are 0, which is what it produces; every other value is
        left out. Faults stay as last read.
        """
        devices: dict[str, DeviceSnapshot] = {}
        for device in self.devices:
            reading = self._fresh.get(device.key)
            if reading is None:
                reading = await self.client.blank_reading(device)
            devices[device.key] = self._night_device(reading, now)
        return self._plant_snapshot(devices, now, asleep=True)

    def _night_device(self, reading: DeviceReading, now: datetime) -> DeviceSnapshot:
        identity = reading.identity
        key = identity.key
        is_inverter = identity.role is Role.INVERTER
        ledger = self._ledger(reading)
        values = ledger.standing(now)
        for quantity in reading.values:
            if is_inverter and QUANTITY_INFO[quantity].unit is Unit.WATT:
                values[quantity] = 0.0
        fresh = key in self._fresh
        return DeviceSnapshot(
            identity=identity,
            quantities=frozenset(reading.values) | ledger.quantities,
            values=Samples(values, Source.NIGHT),
            status=DeviceStatus.SLEEPING if is_inverter else DeviceStatus.UNKNOWN,
            faults=merge(reading.faults) if fresh else None,
            source=Source.NIGHT,
            read_at=self._read_at.get(key),
            rejected=ledger.rejected,
        )

    # -- state kept across restarts ---------------------------------------------------------------------

    def export_state(self) -> dict[str, Any]:
        """What the energy books must remember across a restart, JSON-safe."""
        ledgers = {**self._stored, **{key: ledger.to_state() for key, ledger in self._ledgers.items()}}
        return {"version": STATE_VERSION, "ledgers": ledgers, "plant": self._plant.to_state()}

    def state_to_write(self, now: datetime) -> dict[str, Any] | None:
        """``export_state()`` when the caller should write it now (and it counts as written), else None.

        Due at the first call, then every ``WRITE_EVERY``, at once when a total grew by 5 % (``outgrown``:
        a young total, this morning's energy, would otherwise restart more than 10 % lower after a power
        cut, a new meter to Home Assistant's statistics; about 60 times while a total grows from 1 to
        20 kWh), and when a counter began to be held or was rebased (``save_now``), at most once per
        ``WRITE_SOON`` (a device glitching on every other poll begins a hold each time, and each write
        is the whole state, on the SD card most installs run from).
        """
        self._write_soon |= self.save_now
        age = None if self._written_at is None else now - self._written_at
        if not (
            age is None or age >= WRITE_EVERY or self.outgrown or (self._write_soon and age >= WRITE_SOON)
        ):
            return None
        self._written_at, self._write_soon = now, False
        return self.export_state()

    def restore_state(self, data: Mapping[str, Any]) -> None:
        """Continue from ``export_state``'s output (other versions and malformed parts are ignored)."""
        ledgers = data.get("ledgers") if data.get("version") == STATE_VERSION else None
        plant = data.get("plant")
        if isinstance(plant, dict):
            self._plant.restore(plant)
        if isinstance(ledgers, dict):
            self._stored.update(
                {str(key): state for key, state in ledgers.items() if isinstance(state, dict)}
            )

    def seed_total(self, key: str, quantity: Quantity, value: float) -> None:
        """Start a lifetime counter from a value published before the monitor kept state (an upgrade)."""
        self._seeds[(key, quantity)] = value


def _held(snapshot: PlantSnapshot, now: datetime) -> PlantSnapshot:
    """The last snapshot again, every value marked held."""
    devices = {key: _held_device(device) for key, device in snapshot.devices.items()}
    totals = {q: Sample(s.value, Source.HELD) for q, s in snapshot.totals.items()}
    return PlantSnapshot(
        devices,
        now,
        asleep=snapshot.asleep,
        totals=totals,
        total_quantities=snapshot.total_quantities,
        status=snapshot.status,
    )


def _held_device(device: DeviceSnapshot) -> DeviceSnapshot:
    """A device's last snapshot again, every value marked held."""
    return DeviceSnapshot(
        identity=device.identity,
        quantities=device.quantities,
        values=held_samples(device.values),
        status=device.status,
        faults=device.faults,
        source=Source.HELD,
        read_at=device.read_at,
        rejected=device.rejected,
    )
