"""PlantClient.probe: what counts as "no device", what is only transient, and gateways that close."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from custom_components.sems.plantkit.client import IDENTIFY_ATTEMPTS, PlantClient
from custom_components.sems.plantkit.discovery.scan import scan_units
from custom_components.sems.plantkit.exceptions import (
    ModbusExceptionError,
    NoDeviceAtUnitError,
    PlantProtocolError,
    PlantTimeoutError,
    UnsupportedDeviceError,
)
from custom_components.sems.plantkit.model import DeviceIdentity, DeviceReading, Role
from custom_components.sems.plantkit.profiles.base import Profile, UnitSession
from custom_components.sems.plantkit.registers import Point, RawValue
from custom_components.sems.plantkit.transport import Endpoint, TransportType
from simulator.devices.eastron import Sdm120Sim, Sdm630Sim
from simulator.devices.goodwe import GoodWeEtSim

from .conftest import Serve
from .counting import CountingDevice, H

pytestmark = pytest.mark.usefixtures("socket_enabled")


class FlakyProfile(Profile):
    """Knows the counting device; its first ``garbled`` identifications see a protocol error."""

    name = "flaky"
    role = Role.INVERTER
    default_units = (1,)

    def __init__(self, garbled: int, error: PlantProtocolError) -> None:
        self.garbled = garbled
        self.error = error
        self.attempts = 0

    async def identify(self, session: UnitSession) -> list[DeviceIdentity]:
        self.attempts += 1
        [value] = await session.read(H, 100, 1)
        if self.attempts <= self.garbled:
            raise self.error
        if value != 100:
            raise UnsupportedDeviceError("not counting")
        return [DeviceIdentity(Role.INVERTER, self.name, session.unit_id, "Test", "Counter", "C1")]

    def points(self, identity: DeviceIdentity) -> Sequence[Point]:
        return ()

    def decode(self, identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> DeviceReading:
        return DeviceReading(identity, {})


def _endpoint(port: int, transport: TransportType = TransportType.TCP) -> Endpoint:
    return Endpoint("127.0.0.1", port, transport, timeout=0.3, retries=0)


@pytest.mark.parametrize(
    "error",
    [PlantProtocolError("garbled"), ModbusExceptionError(ModbusExceptionError.DEVICE_BUSY)],
    ids=["garbled", "busy"],
)
async def test_protocol_error_while_identifying_is_transient(serve: Serve, error: PlantProtocolError) -> None:
    server = await serve([CountingDevice()])
    profile = FlakyProfile(IDENTIFY_ATTEMPTS - 1, error)
    async with PlantClient(_endpoint(server.port), profiles=[profile]) as client:
        assert [d.serial for d in await client.probe()] == ["C1"]
    profile = FlakyProfile(IDENTIFY_ATTEMPTS, error)
    async with PlantClient(_endpoint(server.port), profiles=[profile]) as client:
        with pytest.raises(PlantTimeoutError) as failure:  # never "not supported"
            await client.probe()
        assert not isinstance(failure.value, UnsupportedDeviceError)
        assert profile.attempts == IDENTIFY_ATTEMPTS


async def test_refusal_while_identifying_is_an_answer(serve: Serve) -> None:
    server = await serve([CountingDevice()])
    profile = FlakyProfile(1, ModbusExceptionError(ModbusExceptionError.ILLEGAL_DATA_ADDRESS))
    async with PlantClient(_endpoint(server.port), profiles=[profile]) as client:
        with pytest.raises(UnsupportedDeviceError):
            await client.probe()
        assert profile.attempts == 1


async def test_gateway_exception_means_no_device_at_the_unit(serve: Serve) -> None:
    server = await serve([Sdm630Sim(unit_id=1)], "rtu-over-tcp")
    async with PlantClient(_endpoint(server.port, TransportType.RTU_OVER_TCP)) as client:
        with pytest.raises(NoDeviceAtUnitError, match="exception 11") as failure:
            await client.probe([4, 5])
        assert failure.value.unit_ids == (4, 5)
        # Units that are there are found next to those that are not.
        assert [d.unit_id for d in await client.probe([5, 1])] == [1]


async def test_automatic_search_behind_a_gateway_that_closes_on_unknown_units(serve: Serve) -> None:
    """Asked for unit 1 first, the ET's gateway closes the connection; the search reconnects, goes on."""
    server = await serve([GoodWeEtSim()])
    server.faults.close_unknown_units = True
    async with PlantClient(_endpoint(server.port)) as client:
        devices = await client.probe()
        assert [d.profile for d in devices] == ["goodwe_et", "goodwe_et_battery", "goodwe_et_meter"]
        assert await client.read()
        with pytest.raises(NoDeviceAtUnitError, match="closes the connection") as failure:
            await client.probe([3])
        assert failure.value.unit_ids == (3,)


async def test_unit_scan_behind_a_gateway_that_closes_on_unknown_units(serve: Serve) -> None:
    gateway = await serve([Sdm630Sim(unit_id=1), Sdm120Sim(unit_id=3)], "rtu-over-tcp")
    gateway.faults.close_unknown_units = True
    report = await scan_units(_endpoint(gateway.port, TransportType.RTU_OVER_TCP), range(1, 6), budget=10)
    assert report.complete
    assert report.unit_ids == (1, 3)
    assert report.checked == (1, 2, 3, 4, 5)
