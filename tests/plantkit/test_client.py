"""PlantClient with a purpose-built profile: probing order, shared reads, learning refused registers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence

import pytest

from custom_components.sems.plantkit.client import RELEARN_REFUSALS_EVERY, PlantClient
from custom_components.sems.plantkit.exceptions import (
    ModbusExceptionError,
    PlantConnectionError,
    PlantError,
    UnsupportedDeviceError,
)
from custom_components.sems.plantkit.model import DeviceIdentity, DeviceReading, Quantity, Role
from custom_components.sems.plantkit.planner import PlanLimits
from custom_components.sems.plantkit.profiles.base import Profile, UnitSession
from custom_components.sems.plantkit.registers import DataType, Point, RawValue, RegisterKind
from custom_components.sems.plantkit.transport import Endpoint, TransportType
from simulator.device import SimDevice
from simulator.physics import PlantState
from simulator.server import SimServer

H = RegisterKind.HOLDING
POINTS = (
    Point("power", 10, DataType.S16),
    Point("energy", 12, DataType.U32, scale=0.1),
    Point("soc", 20, DataType.U16),
    Point("temperature", 40, DataType.S16, scale=0.1),
)


class ToyProfile(Profile):
    """Identifies by the magic value 0x5A5A at register 0; serial in register 1."""

    name = "toy"
    role = Role.INVERTER
    limits = PlanLimits(max_registers=125, max_gap=30)
    default_units = (1, 5)

    async def identify(self, session: UnitSession) -> list[DeviceIdentity]:
        magic, serial = await session.read(H, 0, 2)
        if magic != 0x5A5A:
            raise UnsupportedDeviceError("not a toy")
        return [DeviceIdentity(Role.INVERTER, self.name, session.unit_id, "Toys", "T1", f"TOY{serial}")]

    def points(self, identity: DeviceIdentity) -> Sequence[Point]:
        return POINTS

    def decode(self, identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> DeviceReading:
        def number(key: str, scale: float = 1.0) -> float | None:
            value = raw[key]
            return None if value is None or isinstance(value, str) else float(value) * scale

        return DeviceReading(
            identity,
            {
                Quantity.AC_POWER: number("power"),
                Quantity.AC_ENERGY_TOTAL: number("energy", 0.1),
                Quantity.BATTERY_SOC: number("soc"),
                Quantity.INVERTER_TEMPERATURE: number("temperature", 0.1),
            },
        )


class ToyDevice(SimDevice):
    name = "toy"

    def __init__(self, unit_id: int, serial: int, magic: int = 0x5A5A) -> None:
        super().__init__()
        self.unit_id = unit_id
        self.serial = f"TOY{serial}"
        self.image.define(H, 0, 50)
        self.image.set_words(H, 0, [magic, serial])
        self.image.set_words(H, 10, [0xFFF6, 0, 0, 1234])
        self.image.set_words(H, 20, [77])
        self.image.set_words(H, 40, [215])

    def render(self, state: PlantState) -> None:
        """Static registers."""


@pytest.fixture
async def toy_server(socket_enabled: None) -> AsyncIterator[SimServer]:
    server = SimServer([ToyDevice(5, 42), ToyDevice(6, 43)], "tcp")
    await server.start()
    yield server
    await server.stop()


def _client(server: SimServer) -> PlantClient:
    return PlantClient(Endpoint("127.0.0.1", server.port, timeout=0.5, retries=0), profiles=[ToyProfile()])


async def test_probe_tries_usual_units_and_reads_in_one_request(toy_server: SimServer) -> None:
    async with _client(toy_server) as client:
        devices = await client.probe()
        assert [(d.unit_id, d.serial) for d in devices] == [(5, "TOY42")]
        toy_server.requests.clear()
        [reading] = await client.read()
        assert reading.values == {
            Quantity.AC_POWER: -10.0,
            Quantity.AC_ENERGY_TOTAL: pytest.approx(123.4),
            Quantity.BATTERY_SOC: 77.0,
            Quantity.INVERTER_TEMPERATURE: pytest.approx(21.5),
        }
        assert toy_server.count() == client.planned_requests() == 1


async def test_explicit_units_find_every_device(toy_server: SimServer) -> None:
    async with _client(toy_server) as client:
        devices = await client.probe(unit_ids=[5, 6, 7])
        assert [d.serial for d in devices] == ["TOY42", "TOY43"]
        toy_server.requests.clear()
        assert len(await client.read()) == 2
        assert toy_server.count() == 2  # one request per unit


async def test_a_device_gone_from_behind_a_gateway_leaves_only_its_readings_out(
    toy_server: SimServer,
) -> None:
    """One unit stops answering ("no device", exception 11): the others are still read; nothing at all
    answering fails the read; identify() looks for devices without changing what read() reads."""
    async with _client(toy_server) as client:
        await client.probe(unit_ids=[5, 6])
        gone = toy_server.devices.pop(6)
        readings = await client.read()
        assert [r.identity.serial for r in readings] == ["TOY42"]
        assert list(client.silent_units) == [6]
        assert isinstance(client.silent_units[6], ModbusExceptionError)

        toy_server.devices[6] = gone
        assert [d.serial for d in await client.identify([6])] == ["TOY43"]
        assert len(client.devices) == 2
        assert len(await client.read()) == 2
        assert client.silent_units == {}

        toy_server.devices.clear()
        with pytest.raises(ModbusExceptionError):
            await client.read()


async def test_refused_registers_are_learned_and_planned_around(toy_server: SimServer) -> None:
    device = toy_server.devices[5]
    device.image.refused.update({(H, 20), (H, 30)})
    async with _client(toy_server) as client:
        await client.probe(unit_ids=[5])
        toy_server.requests.clear()
        [reading] = await client.read()
        assert reading.values[Quantity.BATTERY_SOC] is None  # refused point: unavailable, not a number
        assert reading.values[Quantity.AC_POWER] == -10.0
        assert reading.values[Quantity.INVERTER_TEMPERATURE] == pytest.approx(21.5)
        first = toy_server.count()
        assert first == 1 + 4  # the refused block, then each point alone
        toy_server.requests.clear()
        await client.read()
        # Next time the plan avoids refused registers. The device never said which register of the block
        # it refused, so unread gap registers count as refused too: power, energy, temperature apart.
        assert toy_server.count() == client.planned_requests() == 3


async def test_unknown_device_and_unreachable(toy_server: SimServer, socket_enabled: None) -> None:
    toy_server.devices[5].image.set_words(H, 0, [1])
    async with _client(toy_server) as client:
        with pytest.raises(UnsupportedDeviceError):
            await client.probe(unit_ids=[5])
        with pytest.raises(PlantError, match="probe first"):
            await client.read()
    await toy_server.stop()
    async with _client(toy_server) as client:
        with pytest.raises(PlantConnectionError):
            await client.probe()


async def test_udp_endpoint_skips_profiles_that_cannot_speak_it(socket_enabled: None) -> None:
    server = SimServer([ToyDevice(5, 42)], "udp")
    await server.start()
    try:
        client = PlantClient(
            Endpoint("127.0.0.1", server.port, TransportType.UDP, timeout=0.2), profiles=[ToyProfile()]
        )
        async with client:
            with pytest.raises(PlantConnectionError):
                await client.probe()
        assert server.count() == 0
    finally:
        await server.stop()


async def test_refusing_everything_is_a_state_not_a_layout(toy_server: SimServer) -> None:
    """A gateway whose device is booting refuses every register for a while; nothing is learned from it."""
    async with _client(toy_server) as client:
        await client.probe(unit_ids=[5])
        toy_server.faults.exception_code = 2
        with pytest.raises(ModbusExceptionError):
            await client.read()
        toy_server.faults.clear()
        toy_server.requests.clear()
        [reading] = await client.read()
        assert reading.values[Quantity.BATTERY_SOC] == 77.0
        assert toy_server.count() == client.planned_requests() == 1


async def test_refusals_are_tried_again_after_a_while(toy_server: SimServer) -> None:
    device = toy_server.devices[5]
    device.image.refused.add((H, 20))
    async with _client(toy_server) as client:
        await client.probe(unit_ids=[5])
        [reading] = await client.read()
        assert reading.values[Quantity.BATTERY_SOC] is None
        device.image.refused.clear()  # e.g. after a firmware update
        for _ in range(RELEARN_REFUSALS_EVERY - 2):
            [reading] = await client.read()
        assert reading.values[Quantity.BATTERY_SOC] is None
        [reading] = await client.read()
        assert reading.values[Quantity.BATTERY_SOC] == 77.0


# -- a family that drops requests right after a connect ------------------------------------------------------


class SlowToyProfile(ToyProfile):
    """The toy family, but its devices need 0.3 s after a connect (``Profile.connect_delay``)."""

    name = "slow_toy"
    connect_delay = 0.3


class SlowToyDevice(ToyDevice):
    deaf_after_connect = 0.2


async def test_probe_lets_a_young_connection_settle_before_a_slow_family_asks(socket_enabled: None) -> None:
    server = SimServer([SlowToyDevice(1, 7)], "tcp")
    await server.start()
    endpoint = Endpoint("127.0.0.1", server.port, timeout=0.1, retries=0)
    try:
        async with PlantClient(endpoint, profiles=[ToyProfile()]) as client:  # asks at once: dropped
            with pytest.raises(PlantError):
                await client.probe([1])
        assert server.dropped_early >= 1
        async with PlantClient(endpoint, profiles=[SlowToyProfile()]) as client:
            [device] = await client.probe([1])
            assert client.transport.connect_delay == 0.3
        assert device.profile == "slow_toy"
        assert server.count() == 1
    finally:
        await server.stop()


def test_stored_devices_set_the_delay_of_the_slowest_family() -> None:
    endpoint = Endpoint("127.0.0.1", 1, connect_delay=0.1)
    client = PlantClient(endpoint, profiles=[ToyProfile(), SlowToyProfile()])
    assert client.transport.connect_delay == 0.1  # the endpoint's own
    fast = DeviceIdentity(Role.INVERTER, "toy", 5, "Toys", "T1", "TOY1")
    slow = DeviceIdentity(Role.INVERTER, "slow_toy", 6, "Toys", "T1", "TOY2")
    client.devices = [fast, slow]
    assert client.transport.connect_delay == 0.3
    client.devices = [fast]
    assert client.transport.connect_delay == 0.1  # never below the endpoint's
    client.devices = [DeviceIdentity(Role.INVERTER, "gone", 7, "Toys", "T1", "TOY3")]  # unknown profile
    assert client.transport.connect_delay == 0.1


async def test_read_or_none_is_none_only_for_refused_registers(toy_server: SimServer) -> None:
    async with _client(toy_server) as client:
        session = UnitSession(client.transport, 5)
        assert await session.read_or_none(H, 0, 2) == [0x5A5A, 42]
        assert await session.read_or_none(H, 45, 10) is None  # 50.. is not served: illegal data address
        with pytest.raises(ModbusExceptionError) as err:
            await UnitSession(client.transport, 9).read_or_none(H, 0, 2)  # no unit 9 behind the gateway
        assert err.value.no_device
