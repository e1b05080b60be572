"""A compressed day through Home Assistant with the recorder: the long-term statistics of every energy sensor
of every profile equal the energy the plant really moved, whatever the devices' counters do (issue 9).

One simulated plant (8 kWp, a 6 kWh battery, a house of 0.8 to 3 kW) runs from 09:00 to 09:00 the next day
and is served through every profile at once: GoodWe ET (hybrid, battery, meter), GoodWe DT (PV only, it
sleeps at night), SunSpec inverter + battery + meter, an Eastron SDM630, an SDM630 + SDM120 behind a gateway,
Huawei SUN2000 + LUNA2000 + meter. Home Assistant polls every 5 minutes (the "dongle safe" preset); each step
moves its clock and the simulator's together by 5 minutes, so the energy guards judge real elapsed times.

Every energy counter of every device gets, through the simulator's counter faults (``CounterFault``):
- a 32-bit wrap, where the device stores it as an unsigned integer: it starts just below its width;
- then, 15 minutes apart: a drop to 0, a backward step (the value of 15 minutes before, twice), a torn read
  (the high word one ahead: +65,536 counter steps, for a float 65,536 of its last bits), and a reset to 0 or
  a replacement by a device whose counter starts elsewhere (lower or higher), which stays;
and the whole plant: the DT sleeps through the night, and Home Assistant restarts at 13:00 and across
midnight (10 minutes down each: every entry unloads, saving its energy books, and is set up again; the
recorder and the restored states stay, as they do across a real restart).

The recorder keeps every state; statistics are compiled for every 5-minute period (as the recorder does,
``homeassistant.components.recorder.statistics``). For each sensor the long-term ``sum`` must equal the
plant's true energy over the same span within 0.1 %, or within what its counter can say at all if that is
more: a counter shows whole steps (0.1 kWh on GoodWe), so each level it had (the first, each day of a daily
counter, each reset) hides up to one step. A calculated total (integrated from the 5-minute power readings)
must equal the integral of the readings it was fed within 0.1 %; against the plant's true energy it carries
the sampling error of 5-minute readings (1.5 % for a battery that stops charging between two polls), bounded
by 2 %. At the default 10 s the same totals are within 0.1 % of the truth (measured without Home Assistant,
``tests/plantkit/test_energy_integrator.py``: a day of 8,640 polls here would take ten minutes). No hourly change may be negative or more than the plant can move in an hour. ``pytest -s`` prints
the per-sensor error table. The day takes about 50 s: each poll is a real Modbus exchange with the simulator.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.components.recorder.util import get_instance
from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

import custom_components.sems as sems_init
from custom_components.sems.const import CONF_POLL_PRESET, PollPreset
from custom_components.sems.plantkit.client import PlantClient
from custom_components.sems.plantkit.energy import CounterWidth
from custom_components.sems.plantkit.model import QUANTITY_INFO, Kind, Quantity
from custom_components.sems.plantkit.transport import Endpoint, TransportType
from simulator.faults import CounterFault
from simulator.physics import PlantConfig, PlantState
from simulator.plant import SimulatedPlant

from .conftest import (
    EASTRON_GATEWAY,
    GOODWE_DT_UDP,
    GOODWE_ET_TCP,
    HOST,
    HUAWEI_TCP,
    SDM630_TCP,
    SUNSPEC_TCP,
    add_plant,
    quantity_of,
)

CASES = (GOODWE_ET_TCP, GOODWE_DT_UDP, SUNSPEC_TCP, SDM630_TCP, EASTRON_GATEWAY, HUAWEI_TCP)
# Home Assistant's test location is San Diego (UTC-7 in June): 16:00 UTC is the simulator's 09:00.
START = "2026-06-21 16:00:00+00:00"
SIM_START = datetime(2026, 6, 21, 9, 0)
CONFIG = PlantConfig(battery_capacity_kwh=6.0, base_load_w=800.0)  # the grid is imported from at night
STEP = timedelta(minutes=5)
POLL_SLACK = timedelta(seconds=60)
POLLS = 288  # a day: 09:00 to 08:55
GLITCHES_FROM = 12  # 10:00: an hour of clean readings first
# Per counter, from its first glitch on: (step, glitch). Each glitch lasts until the next entry.
SCRIPT = ((0, "drop"), (1, "clear"), (3, "stale"), (5, "clear"), (6, "torn"), (7, "clear"), (9, "reset"))
STALE_STEPS = 3  # the backward step shows the value of 15 minutes before
WRAP_BELOW_KWH = 0.5  # a wrapping counter starts this far below its width
# Home Assistant stops before the poll of 13:00 and of 00:00, and is back at 13:05 and 00:05 (10 minutes
# without a poll: calculated totals integrate across up to three intervals).
RESTARTS = ((48, 49), (180, 181))
QUICK_TIMEOUT = 0.1  # seconds
TOLERANCE = 0.001  # 0.1 %
READINGS_TOLERANCE = 0.001  # a calculated total against the integral of the power readings it was fed
# A calculated total against the plant's true energy: the 5-minute readings miss the shape of the power
# between them (a battery that stops charging at full between two polls): 1.3 % measured.
SAMPLING_TOLERANCE = 0.02
MAX_FLOW_KW = CONFIG.pv_peak_w / 1000 + CONFIG.battery_max_w / 1000  # no flow of this plant is larger

# The plant's true energy behind each sensor's quantity (PlantState fields, kWh).
TRUTH: dict[Quantity, Callable[[PlantState], float]] = {
    Quantity.PV_ENERGY_TOTAL: lambda s: s.pv_energy_total,
    Quantity.PV_ENERGY_TODAY: lambda s: s.pv_energy_total,  # its daily resets are resets of the sum
    Quantity.AC_ENERGY_TOTAL: lambda s: s.ac_energy_total,
    Quantity.GRID_IMPORT_ENERGY_TOTAL: lambda s: s.grid_import_energy_total,
    Quantity.GRID_EXPORT_ENERGY_TOTAL: lambda s: s.grid_export_energy_total,
    Quantity.BATTERY_CHARGE_ENERGY_TOTAL: lambda s: s.battery_charge_energy_total,
    Quantity.BATTERY_DISCHARGE_ENERGY_TOTAL: lambda s: s.battery_discharge_energy_total,
    Quantity.LOAD_ENERGY_TOTAL: lambda s: s.load_energy_total,
    Quantity.GRID_IMPORT_ENERGY_CALCULATED: lambda s: s.grid_import_energy_total,
    Quantity.GRID_EXPORT_ENERGY_CALCULATED: lambda s: s.grid_export_energy_total,
    Quantity.BATTERY_CHARGE_ENERGY_CALCULATED: lambda s: s.battery_charge_energy_total,
    Quantity.BATTERY_DISCHARGE_ENERGY_CALCULATED: lambda s: s.battery_discharge_energy_total,
    Quantity.LOAD_ENERGY_CALCULATED: lambda s: s.load_energy_total,
    Quantity.SELF_CONSUMED_ENERGY_TODAY: lambda s: s.pv_energy_total - s.grid_export_energy_total,
}
# The power each calculated total is integrated from (a PlantState field) and the sign of its flow.
POWER: dict[Quantity, tuple[str, int]] = {
    Quantity.GRID_IMPORT_ENERGY_CALCULATED: ("grid_power", 1),
    Quantity.GRID_EXPORT_ENERGY_CALCULATED: ("grid_power", -1),
    Quantity.BATTERY_DISCHARGE_ENERGY_CALCULATED: ("battery_power", 1),
    Quantity.BATTERY_CHARGE_ENERGY_CALCULATED: ("battery_power", -1),
    Quantity.LOAD_ENERGY_CALCULATED: ("load_power", 1),
}
# The simulated counter each counted quantity is read from.
FIELD: dict[Quantity, str] = {
    Quantity.PV_ENERGY_TOTAL: "pv_energy_total",
    Quantity.PV_ENERGY_TODAY: "pv_energy_today",
    Quantity.AC_ENERGY_TOTAL: "ac_energy_total",
    Quantity.GRID_IMPORT_ENERGY_TOTAL: "grid_import_energy_total",
    Quantity.GRID_EXPORT_ENERGY_TOTAL: "grid_export_energy_total",
    Quantity.BATTERY_CHARGE_ENERGY_TOTAL: "battery_charge_energy_total",
    Quantity.BATTERY_DISCHARGE_ENERGY_TOTAL: "battery_discharge_energy_total",
    Quantity.LOAD_ENERGY_TOTAL: "load_energy_total",
}


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_mock: Recorder, enable_custom_integrations: None) -> None:
    """The recorder must start before Home Assistant does, so it comes first here."""


@pytest.fixture
def give_up_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A silent device costs one 0.1 s timeout per poll, not four of 3 s (the DT sleeps 130 polls): the
    simulator on loopback loses nothing, so there is nothing to retry."""
    endpoint_from_data = sems_init.endpoint_from_data
    monkeypatch.setattr(
        sems_init,
        "endpoint_from_data",
        lambda data: replace(endpoint_from_data(data), timeout=QUICK_TIMEOUT, retries=0),
    )


@pytest.fixture
def quiet_database_log() -> Iterator[None]:
    """The test harness logs every SQL statement at INFO; a day of states makes that the test's main cost."""
    logger = logging.getLogger("sqlalchemy.engine")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


def float32_step(value: float) -> float:
    """The spacing of binary32 floats at ``value`` (a 24-bit mantissa)."""
    return math.ldexp(1.0, math.frexp(value)[1] - 24) if value > 0 else 0.0


@dataclass
class Counter:
    """One counter of one simulated device: how it is stored, what it showed, and its glitch script."""

    device: str  # the simulator's device name
    field: str  # the PlantState field it counts
    width: CounterWidth
    fault: CounterFault
    reset_kind: str  # "reset" (to 0), "lower" or "higher" (a replacement whose counter starts there)
    index: int
    shown: list[float] = field(default_factory=list)
    first_glitch: int | None = None
    done: list[str] = field(default_factory=list)

    @property
    def daily(self) -> bool:
        return self.field == "pv_energy_today"

    @property
    def wraps(self) -> bool:
        return self.width.modulus_kwh is not None and not self.daily

    @property
    def tears(self) -> bool:
        """Held in two registers (a single one is read whole)."""
        modulus = self.width.modulus_kwh
        return modulus is None or round(modulus / self.width.resolution_kwh) > 1 << 16

    @property
    def script(self) -> list[str]:
        """The glitches this counter gets."""
        return [name for _, name in SCRIPT if name != "clear" and (name != "torn" or self.tears)]

    def glitch(self, step: int, true: float) -> None:
        """Change the fault as the script says for this step (before the step's poll).

        The script starts once the counter has wrapped (next to its width a drop to 0 would be a wrap).
        """
        if self.first_glitch is None:
            modulus = self.width.modulus_kwh
            wrapped = not self.wraps or (modulus is not None and self.shown[-1] < modulus / 2)
            if step < GLITCHES_FROM + self.index % 6 or not wrapped:
                return
            self.first_glitch = step
        fault, now = self.fault, self.shown[-1]
        for offset, name in SCRIPT:
            if step != self.first_glitch + offset:
                continue
            if name == "drop":
                fault.fixed = 0.0
            elif name == "stale":
                fault.fixed = self.shown[-STALE_STEPS]
            elif name == "torn":  # the high word one ahead: 65,536 steps (of a float: of its last bits)
                if not self.tears:
                    continue
                fault.spike = 65_536 * (
                    float32_step(now) if self.width.binary32 else self.width.resolution_kwh
                )
            elif name == "clear":
                fault.fixed, fault.spike = None, 0.0
            elif self.reset_kind == "reset":
                fault.reset(true)
            elif self.reset_kind == "lower":
                fault.reset(true, start=round(now / 3, 1))
            else:
                fault.reset(true, start=round(now + 5000.0, 1))
            if name != "clear":
                self.done.append(self.reset_kind if name == "reset" else name)


@dataclass
class Sensor:
    """One energy sensor in Home Assistant and the plant's true energy behind it."""

    entity_id: str
    quantity: Quantity
    counter: Counter | None  # None: calculated, or the plant device's sum
    resolution_kwh: float
    first: float | None = None  # the true energy when the sensor first showed a number
    last: float = 0.0  # the true energy at the last poll
    entry: ConfigEntry | None = None
    # A calculated total: the power the device showed at each poll since the sensor showed a number, at the
    # time Home Assistant took it (its clock ticks on while it works; the simulator's stands between steps).
    readings: list[tuple[datetime, float]] = field(default_factory=list)

    @property
    def daily(self) -> bool:
        return QUANTITY_INFO[self.quantity].kind is Kind.DAILY_TOTAL

    def readings_kwh(self) -> float:
        """The energy of this flow in the power readings, as trapezoids between polls; where the power
        changes sign between two polls, the line is split where it crosses zero."""
        sign = POWER[self.quantity][1]
        total = 0.0
        for (t0, p0), (t1, p1) in itertools.pairwise(self.readings):
            a, b, hours = sign * p0, sign * p1, (t1 - t0).total_seconds() / 3600
            if a >= 0 and b >= 0:
                total += (a + b) / 2 * hours
            elif a > 0 or b > 0:  # the triangle above zero
                top = max(a, b)
                total += top * top / (2 * (abs(a) + abs(b))) * hours
        return total / 1000

    @property
    def calculated(self) -> bool:
        return self.quantity.endswith("_calculated")

    def bound(self, truth: float) -> float:
        """The largest error allowed: 0.1 %, or one counter step per level the counter had (the first, a
        reset, each new day of a daily counter); for a calculated total, the sampling error of 5-minute
        readings (its error against the readings' own integral is checked within 0.1 % on its own)."""
        if self.calculated:
            return SAMPLING_TOLERANCE * truth
        levels = (
            1
            + int(self.daily)
            + int(self.counter is not None and self.counter.reset_kind in self.counter.done)
        )
        return max(TOLERANCE * truth, levels * self.resolution_kwh)


# SunSpec's profile gives no widths (scale factors come with the values); the simulator writes acc32 in Wh.
SUNSPEC_ACC32 = CounterWidth.unsigned(32, 0.001)


class Day:
    """Home Assistant and the simulator, one 5-minute step at a time."""

    def __init__(self, hass: HomeAssistant, plant: SimulatedPlant, freezer: FrozenDateTimeFactory) -> None:
        self.hass, self.plant, self.freezer = hass, plant, freezer
        self.entries: list[ConfigEntry] = []
        self.counters: dict[tuple[str, Quantity], Counter] = {}  # by (device key, quantity)
        self.sensors: list[Sensor] = []
        self.rejected: dict[str | None, str] = {}  # the devices' rejected-readings sensors, by device
        self.glitched: set[str | None] = set()  # the devices whose counters got glitches
        self.running = False

    async def probe(self) -> None:
        """Find each device's counters and how its profile says they are stored, without Home Assistant;
        wire them to the simulator's faults, a wrapping counter just below its width."""
        plant = self.plant
        made: dict[tuple[str, str], Counter] = {}
        for case in CASES:
            devices = {plant.devices[name].unit_id: name for name in plant.specs[case.endpoint].devices}
            units = [int(unit) for unit in case.unit_ids.split(",")] if case.unit_ids else None
            endpoint = Endpoint(HOST, plant.port(case.endpoint), TransportType(case.transport))
            if endpoint.transport is TransportType.UDP:  # each profile it is not costs a timeout
                endpoint = replace(endpoint, timeout=QUICK_TIMEOUT, retries=0)
            client = PlantClient(endpoint)
            async with client:
                await client.probe(units)
                for reading in await client.read():
                    identity = reading.identity
                    widths = client.profile(identity.profile).counter_widths(identity)
                    for quantity in set(reading.values) & FIELD.keys():
                        width = widths.get(quantity, SUNSPEC_ACC32)
                        key = (devices[identity.unit_id], FIELD[quantity])
                        assert key not in made, key
                        made[key] = self.counter(*key, width, len(made))
                        self.counters[(identity.key, quantity)] = made[key]
        plant.render()

    def counter(self, device: str, name: str, width: CounterWidth, index: int) -> Counter:
        fault = self.plant.counter_fault(device, name)
        kind = "reset" if name == "pv_energy_today" else ("reset", "lower", "higher")[index % 3]
        counter = Counter(device, name, width, fault, kind, index)
        if counter.wraps:
            modulus = width.modulus_kwh
            assert modulus is not None
            fault.modulus, fault.step = modulus, width.resolution_kwh
            fault.offset = modulus - WRAP_BELOW_KWH - getattr(self.plant.physics.state, name)
        return counter

    async def add_plants(self) -> None:
        """Every case through the config flow, then the 5-minute preset; its energy sensors found."""
        hass, registry = self.hass, er.async_get(self.hass)
        for case in CASES:
            entry = await add_plant(hass, self.plant, case)
            self.entries.append(entry)
            options = {**entry.options, CONF_POLL_PRESET: PollPreset.DONGLE_SAFE}  # meters stay placed
            hass.config_entries.async_update_entry(entry, options=options)
            await hass.async_block_till_done()
            for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
                if entity.unique_id.endswith("_rejected_readings"):
                    self.rejected[entity.device_id] = entity.entity_id
                if entity.original_device_class != SensorDeviceClass.ENERGY or entity.disabled_by:
                    continue
                quantity = quantity_of(entity)
                assert quantity is not None, entity.entity_id
                counter = self.counters.get((entity.unique_id.removesuffix(f"_{quantity}"), quantity))
                # The plant's daily sums are 0.1 kWh counters (or finer) added up.
                resolution = 0.1 if counter is None else counter.width.resolution_kwh
                self.sensors.append(Sensor(entity.entity_id, quantity, counter, resolution, entry=entry))
                if counter is not None:
                    self.glitched.add(entity.device_id)
        self.running = True
        self.remember()
        self.observe()

    def sync(self) -> None:
        """Bring the simulator to Home Assistant's local time (its clock runs on while the test works)."""
        behind = dt_util.now().replace(tzinfo=None) - self.plant.physics.state.now
        if behind > timedelta(0):
            self.plant.advance(behind.total_seconds())

    async def step(self, step: int, action: str | None = None) -> None:
        """Five minutes on: this step's glitches, then the poll (or a stop or start of Home Assistant)."""
        self.freezer.tick(STEP)
        self.sync()
        state = self.plant.physics.state
        for counter in self.counters.values():
            counter.glitch(step, getattr(state, counter.field))
        self.plant.render()
        self.remember()
        if action == "stop":  # the entries unload and save their energy books
            for entry in self.entries:
                assert await self.hass.config_entries.async_unload(entry.entry_id)
            self.running = False
        elif action == "start":  # each entry's first refresh reads at once
            for entry in self.entries:
                assert await self.hass.config_entries.async_setup(entry.entry_id)
            await self.hass.async_block_till_done()
            self.running = True
        elif self.running:
            # Each poll is due 5 minutes after the last one, which came a little after its step began (the
            # clock ticks on while the test works): the time fired reaches it, not the next.
            began = dt_util.utcnow()
            async_fire_time_changed(self.hass, began + POLL_SLACK)
            await self.hass.async_block_till_done(wait_background_tasks=True)
            for entry in self.entries:  # every entry polled in this step
                assert entry.runtime_data.data.taken_at >= began, (step, entry.title)
        if self.running:
            self.observe()

    def remember(self) -> None:
        """What each counter shows now (a later backward step shows it again)."""
        for counter in self.counters.values():
            counter.shown.append(getattr(self.plant.shown_state(counter.device), counter.field))

    def observe(self) -> None:
        """After a poll: the true energy behind each sensor, and the power a calculated total was fed."""
        state = self.plant.physics.state
        for sensor in self.sensors:
            shown = self.hass.states.get(sensor.entity_id)
            truth = TRUTH[sensor.quantity](state)
            if sensor.first is None and shown is not None and is_number(shown.state):
                sensor.first = truth
            sensor.last = truth
            if sensor.calculated and sensor.first is not None:
                assert sensor.entry is not None
                taken_at = sensor.entry.runtime_data.data.taken_at
                sensor.readings.append((taken_at, getattr(state, POWER[sensor.quantity][0])))


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@pytest.mark.usefixtures("give_up_at_once", "quiet_database_log")
@pytest.mark.parametrize(
    "plant", [{"start": SIM_START, "config": CONFIG, "endpoints": [c.endpoint for c in CASES]}], indirect=True
)
@pytest.mark.freeze_time(START, tick=True)
@pytest.mark.timeout(240)  # about 50 s alone; the suite runs beside other work on two cores
async def test_a_day_of_glitches_leaves_true_statistics(
    hass: HomeAssistant, plant: SimulatedPlant, freezer: FrozenDateTimeFactory
) -> None:
    """Every energy sensor's long-term sum equals the plant's true energy (see the module docstring)."""
    first_hour = dt_util.parse_datetime(START)
    assert first_hour is not None
    day = Day(hass, plant, freezer)
    await day.probe()
    await day.add_plants()  # poll 0, at 09:00
    actions = {stop: "stop" for stop, _ in RESTARTS} | {back: "start" for _, back in RESTARTS}
    for step in range(1, POLLS):  # to 08:55
        await day.step(step, actions.get(step))
    freezer.tick(STEP)  # 09:00: the last hour is over (a poll now is beyond it, and not compared)
    await async_wait_recording_done(hass)
    end = first_hour + POLLS * STEP
    period = first_hour
    while period < end:
        do_adhoc_statistics(hass, start=period)
        period += STEP
    await async_wait_recording_done(hass)
    ids = {sensor.entity_id for sensor in day.sensors}
    hourly = await get_instance(hass).async_add_executor_job(
        statistics_during_period, hass, first_hour, end, ids, "hour", None, {"sum"}
    )

    rows, failures = [], []
    for sensor in day.sensors:
        stats = hourly.get(sensor.entity_id, [])
        assert len(stats) == POLLS // 12, sensor.entity_id
        sums = [row["sum"] or 0.0 for row in stats]
        changes = [b - a for a, b in itertools.pairwise([0.0, *sums])]
        assert sensor.first is not None, sensor.entity_id
        row = Row(sensor, sensor.last - sensor.first, sums[-1])
        rows.append(row)
        if abs(row.error) > row.bound:
            failures.append(f"{sensor.entity_id}: {row.error:+.4f} kWh, more than {row.bound:.4f}")
        if row.readings is not None and abs(row.total - row.readings) > READINGS_TOLERANCE * row.readings:
            failures.append(f"{sensor.entity_id}: {row.total:.4f} kWh, its readings {row.readings:.4f}")
        impossible = [c for c in changes if not -1e-6 <= c <= MAX_FLOW_KW * 1.25]
        if impossible:
            failures.append(f"{sensor.entity_id}: hourly changes {impossible}")
    print_table(rows)
    assert failures == []
    for counter in day.counters.values():  # every counter went through every glitch
        expected = [counter.reset_kind if name == "reset" else name for name in counter.script]
        assert counter.done == expected, (counter.device, counter.field)
    # Each device's rejected-readings sensor counted its glitches (a rebase takes the readings it needed;
    # SunSpec shows 0 for "not implemented", a drop to 0 there is no reading at all).
    for device_id in day.glitched:
        state = hass.states.get(day.rejected[device_id])
        assert state is not None
        assert int(state.state) >= 2, state


@dataclass
class Row:
    """One sensor's result: the plant's true energy and the statistics' sum over the day (kWh)."""

    sensor: Sensor
    truth: float
    total: float

    @property
    def error(self) -> float:
        return self.total - self.truth

    @property
    def bound(self) -> float:
        return self.sensor.bound(self.truth)

    @property
    def readings(self) -> float | None:
        """A calculated total: the energy in the power readings it was fed."""
        return self.sensor.readings_kwh() if self.sensor.calculated else None


def percent(part: float, whole: float) -> float:
    return part / whole * 100 if whole else 0.0


def print_table(rows: list[Row]) -> None:
    """The per-sensor error table (pytest -s shows it; a failing run always does)."""
    print()
    print(
        f"{'sensor':62} {'counter':22} {'true kWh':>9} {'sum kWh':>9} {'error kWh':>9} {'error':>8} "
        f"{'bound':>7} {'vs readings':>11}"
    )
    for row in rows:
        sensor, counter = row.sensor, row.sensor.counter
        if counter is None:
            how = "calculated" if sensor.calculated else "plant sum"
        else:
            width = counter.width
            kind = "f32" if width.binary32 else ("u32" if width.modulus_kwh else "int")
            how = f"{kind} {width.resolution_kwh:g} {counter.reset_kind}"
        readings = row.readings
        against = "" if readings is None else f"{percent(row.total - readings, readings):+10.3f}%"
        print(
            f"{sensor.entity_id.removeprefix('sensor.'):62} {how:22} {row.truth:9.3f} {row.total:9.3f} "
            f"{row.error:+9.4f} {percent(row.error, row.truth):+7.3f}% {percent(row.bound, row.truth):6.3f}% "
            f"{against:>11}"
        )
