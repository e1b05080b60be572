"""Plant totals (plantkit.plant): what an endpoint's devices add up to, from their snapshots."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from custom_components.sems.plantkit.model import DeviceIdentity, DeviceStatus, MeterLocation, Quantity, Role
from custom_components.sems.plantkit.plant import PlantTotals
from custom_components.sems.plantkit.snapshot import DeviceSnapshot, Sample, Source

NOON = datetime(2026, 6, 21, 12, 0, tzinfo=UTC)
Q = Quantity


def _device(
    role: Role,
    values: dict[Quantity, float],
    *,
    status: DeviceStatus = DeviceStatus.RUNNING,
    location: MeterLocation | None = None,
    rated: int | None = None,
    serial: str = "S1",
    source: Source = Source.FRESH,
    read_at: datetime = NOON,
) -> DeviceSnapshot:
    identity = DeviceIdentity(role, "p", 1, "M", "X", serial, location=location, rated_power=rated)
    return DeviceSnapshot(
        identity=identity,
        quantities=frozenset(values),
        values={q: Sample(v, source) for q, v in values.items()},
        status=status,
        faults=(),
        source=source,
        read_at=read_at,
    )


def test_hybrid_with_meter_adds_up() -> None:
    """The grid meter's exchange is the plant's; the inverter's own load figure is the house."""
    devices = {
        "inv": _device(
            Role.INVERTER,
            {Q.PV_POWER: 6000, Q.AC_POWER: 4000, Q.LOAD_POWER: 1300, Q.PV_ENERGY_TODAY: 20.0},
            rated=10_000,
        ),
        "bat": _device(Role.BATTERY, {Q.BATTERY_POWER: -2000}, serial="S1b"),
        "meter": _device(
            Role.METER,
            {Q.GRID_POWER: -2700, Q.GRID_EXPORT_ENERGY_TOTAL: 100.0},
            location=MeterLocation.GRID,
            serial="S1m",
        ),
    }
    plant = PlantTotals(UTC)
    totals = plant.totals(devices, NOON)
    assert {q: s.value for q, s in totals.items()} == {
        Q.PV_POWER: 6000,
        Q.GRID_POWER: -2700,
        Q.BATTERY_POWER: -2000,
        Q.LOAD_POWER: 1300,
        Q.PV_ENERGY_TODAY: 20.0,
        Q.SELF_CONSUMED_ENERGY_TODAY: 20.0,  # nothing exported since the day began here
        Q.INSTALLED_POWER: 10_000,
    }
    assert plant.provides(devices.values()) == frozenset(totals)
    assert plant.status(devices) is DeviceStatus.RUNNING

    # Later that day 3 kWh went to the grid: 3 of the 24 kWh produced were not self-consumed.
    devices["meter"] = _device(
        Role.METER, {Q.GRID_EXPORT_ENERGY_TOTAL: 103.0}, location=MeterLocation.GRID, serial="S1m"
    )
    devices["inv"] = _device(Role.INVERTER, {Q.PV_ENERGY_TODAY: 24.0}, rated=10_000)
    later = plant.totals(devices, NOON + timedelta(hours=2))
    assert later[Q.SELF_CONSUMED_ENERGY_TODAY].value == 21.0

    # The export counted at the day's start survives a restart.
    restarted = PlantTotals(UTC)
    restarted.restore(plant.to_state())
    assert restarted.totals(devices, NOON + timedelta(hours=3))[Q.SELF_CONSUMED_ENERGY_TODAY].value == 21.0
    restarted.restore({"day": "not a date"})  # ignored
    assert restarted.to_state() == {"day": None, "export": None, "self_consumed": None, "produced": None}


def test_self_consumption_never_dips_within_a_day() -> None:
    """Today's production held at 20 kWh by its guard (a stale reading) while the export counter moves on
    by 1 kWh: self-consumption stays at 20 (a dip would look like a new day to Home Assistant) and follows
    again once production catches up; the next day starts from 0."""
    meter = _device(
        Role.METER, {Q.GRID_EXPORT_ENERGY_TOTAL: 100.0}, location=MeterLocation.GRID, serial="S1m"
    )
    plant = PlantTotals(UTC)
    shown = [(20.0, 100.0), (20.0, 101.0), (22.0, 101.5)]
    values = []
    for hour, (produced, exported) in enumerate(shown):
        devices = {
            "inv": _device(Role.INVERTER, {Q.PV_ENERGY_TODAY: produced}),
            "meter": _device(
                Role.METER, {Q.GRID_EXPORT_ENERGY_TOTAL: exported}, location=MeterLocation.GRID, serial="S1m"
            ),
        }
        values.append(plant.totals(devices, NOON + timedelta(hours=hour))[Q.SELF_CONSUMED_ENERGY_TODAY].value)
    assert values == [20.0, 20.0, 20.5]
    restarted = PlantTotals(UTC)
    restarted.restore({**plant.to_state(), "self_consumed": 21.0})
    assert restarted.totals(devices, NOON + timedelta(hours=4))[Q.SELF_CONSUMED_ENERGY_TODAY].value == 21.0
    tomorrow = {"inv": _device(Role.INVERTER, {Q.PV_ENERGY_TODAY: 0.5}), "meter": meter}
    assert restarted.totals(tomorrow, NOON + timedelta(days=1))[Q.SELF_CONSUMED_ENERGY_TODAY].value == 0.5


def test_production_today_never_dips_when_an_inverter_drops_out() -> None:
    """Two inverters behind one gateway: the second stops answering (left out of the snapshot after a few
    polls, or not yet answering right after a restart) and comes back. Today's production keeps the 15 kWh
    it showed; adding only the first inverter's 10 kWh was a dip Home Assistant takes for a new day, and the
    second's 5 kWh were counted again when it came back."""
    plant = PlantTotals(UTC)

    def both(first: float, second: float) -> dict[str, DeviceSnapshot]:
        return {
            "a": _device(Role.INVERTER, {Q.PV_ENERGY_TODAY: first}),
            "b": _device(Role.INVERTER, {Q.PV_ENERGY_TODAY: second}, serial="S2"),
        }

    values = [plant.totals(both(10.0, 5.0), NOON)[Q.PV_ENERGY_TODAY].value]
    alone = {"a": _device(Role.INVERTER, {Q.PV_ENERGY_TODAY: 11.0})}
    values.append(plant.totals(alone, NOON + timedelta(minutes=5))[Q.PV_ENERGY_TODAY].value)
    restarted = PlantTotals(UTC)
    restarted.restore(json.loads(json.dumps(plant.to_state())))
    values.append(restarted.totals(alone, NOON + timedelta(minutes=10))[Q.PV_ENERGY_TODAY].value)
    values.append(restarted.totals(both(11.0, 5.5), NOON + timedelta(minutes=15))[Q.PV_ENERGY_TODAY].value)
    assert values == [15.0, 15.0, 15.0, 16.5]
    tomorrow = restarted.totals(alone, NOON + timedelta(days=1))
    assert tomorrow[Q.PV_ENERGY_TODAY].value == 11.0  # a new day starts from what is there


def test_load_from_output_and_grid_when_no_device_says() -> None:
    """A SunSpec plant: the house takes the inverters' AC output plus what comes from the grid."""
    devices = {
        "inv": _device(Role.INVERTER, {Q.PV_POWER: 3000, Q.AC_POWER: 2800}),
        "meter": _device(Role.METER, {Q.GRID_POWER: 500}, location=MeterLocation.GRID, serial="S2"),
    }
    totals = PlantTotals(UTC).totals(devices, NOON)
    assert totals[Q.LOAD_POWER].value == 3300
    assert Q.INSTALLED_POWER not in totals  # no nameplate reported: unknown, not 0


def test_production_meter_is_solar_only_where_no_inverter_says_and_never_grid() -> None:
    devices = {
        "prod": _device(Role.METER, {Q.AC_POWER: 3200}, location=MeterLocation.PRODUCTION),
        "grid": _device(Role.METER, {Q.GRID_POWER: -1500}, location=MeterLocation.GRID, serial="S3"),
    }
    totals = PlantTotals(UTC).totals(devices, NOON)
    assert totals[Q.PV_POWER].value == 3200
    assert totals[Q.GRID_POWER].value == -1500


@pytest.mark.parametrize(
    ("statuses", "worst"),
    [
        ((DeviceStatus.RUNNING, DeviceStatus.FAULT), DeviceStatus.FAULT),
        ((DeviceStatus.RUNNING, DeviceStatus.SLEEPING), DeviceStatus.SLEEPING),
        ((DeviceStatus.UNKNOWN,), DeviceStatus.UNKNOWN),
    ],
)
def test_status_is_the_worst_device(statuses: tuple[DeviceStatus, ...], worst: DeviceStatus) -> None:
    devices = {str(i): _device(Role.INVERTER, {}, status=s, serial=str(i)) for i, s in enumerate(statuses)}
    assert PlantTotals.status(devices) is worst


@pytest.mark.parametrize(
    ("battery", "plant"),
    [
        (DeviceStatus.STANDBY, DeviceStatus.RUNNING),  # full and resting: the plant still produces
        (DeviceStatus.OFF, DeviceStatus.RUNNING),
        (DeviceStatus.FAULT, DeviceStatus.FAULT),  # any device's fault is the plant's
    ],
)
def test_status_is_the_inverters_unless_a_device_faults(battery: DeviceStatus, plant: DeviceStatus) -> None:
    devices = {
        "inverter": _device(Role.INVERTER, {}, status=DeviceStatus.RUNNING),
        "battery": _device(Role.BATTERY, {}, status=battery),
        "meter": _device(Role.METER, {}, status=DeviceStatus.UNKNOWN),
    }
    assert PlantTotals.status(devices) is plant


def test_held_values_stay_marked_held() -> None:
    devices = {"inv": _device(Role.INVERTER, {Q.PV_POWER: 1000}, source=Source.HELD)}
    assert PlantTotals(UTC).totals(devices, NOON)[Q.PV_POWER] == Sample(1000, Source.HELD)


def test_an_inverter_held_across_midnight_does_not_carry_yesterday_into_today() -> None:
    """Two hybrid inverters behind one gateway poll through the night; the second is silent at the first
    polls after midnight, so the monitor holds its last snapshot: yesterday's 20 kWh, read before midnight.
    That is no energy of today: kept as the day's highest, it stood as today's production all day."""
    plant = PlantTotals(UTC)
    evening = NOON + timedelta(hours=11, minutes=59)
    after = evening + timedelta(minutes=2)
    yesterday = _device(Role.INVERTER, {Q.PV_ENERGY_TODAY: 20.0}, serial="S2", read_at=evening)
    held = _device(Role.INVERTER, {Q.PV_ENERGY_TODAY: 20.0}, serial="S2", source=Source.HELD, read_at=evening)
    first = {"a": _device(Role.INVERTER, {Q.PV_ENERGY_TODAY: 30.0}, read_at=evening), "b": yesterday}
    assert plant.totals(first, evening)[Q.PV_ENERGY_TODAY].value == 50.0
    awake = {"a": _device(Role.INVERTER, {Q.PV_ENERGY_TODAY: 0.0}, read_at=after), "b": held}
    assert plant.totals(awake, after)[Q.PV_ENERGY_TODAY].value == 0.0
    back = _device(Role.INVERTER, {Q.PV_ENERGY_TODAY: 0.0}, serial="S2", read_at=after + timedelta(hours=8))
    morning = {"a": _device(Role.INVERTER, {Q.PV_ENERGY_TODAY: 1.0}, read_at=after + timedelta(hours=8))}
    assert plant.totals({**morning, "b": back}, after + timedelta(hours=8))[Q.PV_ENERGY_TODAY].value == 1.0
