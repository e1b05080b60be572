"""PlantClient.probe: what counts as "no device", what is only transient, and gateways that close; and
discovery's probes built on it (``plantkit.discovery.probe``)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace

import pytest

from custom_components.sems.plantkit.client import IDENTIFY_ATTEMPTS, PlantClient
from custom_components.sems.plantkit.discovery import (
    DEFAULT_SETTINGS,
    ProbeCandidate,
    ProbeLimits,
    probe_candidates,
    probe_once,
    scan_units,
    still_answers,
)
from custom_components.sems.plantkit.discovery.probe import _most_telling
from custom_components.sems.plantkit.exceptions import (
    ModbusExceptionError,
    NoDeviceAtUnitError,
    PlantConnectionError,
    PlantError,
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
from simulator.server import SimServer

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
    settings = replace(
        DEFAULT_SETTINGS, unit_scan_ids=(1, 2, 3, 4, 5), unit_scan=ProbeLimits(timeout=0.3, budget=10.0)
    )
    report = await scan_units(_endpoint(gateway.port, TransportType.RTU_OVER_TCP), settings=settings)
    assert report.complete
    assert report.unit_ids == (1, 3)
    assert report.checked == (1, 2, 3, 4, 5)


# -- discovery's probe-and-close helper, candidates in turn, what "automatic" tries --------------------

QUICK_PROBE = ProbeLimits(timeout=0.3, budget=5.0)


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _connections_closed(server: SimServer) -> bool:
    """Whether the server's connections are all gone within a second."""
    for _ in range(100):
        if not server._streams:
            return True
        await asyncio.sleep(0.01)
    return False


async def test_probe_once_closes_its_connection_and_keeps_its_budget(serve: Serve) -> None:
    server = await serve([Sdm630Sim()])
    endpoint = Endpoint("127.0.0.1", server.port)
    devices = await probe_once(endpoint, QUICK_PROBE, within=5.0)
    assert [d.profile for d in devices] == ["eastron_sdm630"]
    assert await _connections_closed(server)

    server.faults.delay = 5.0  # accepts, then answers far too late
    started = time.monotonic()
    with pytest.raises(PlantTimeoutError, match=r"took longer than 0\.5 s"):
        await probe_once(endpoint, ProbeLimits(timeout=10.0, budget=60.0), within=0.5)
    assert time.monotonic() - started < 1.5


async def test_probe_candidates_in_turn(serve: Serve) -> None:
    """A refused port rules out its other candidates; the first candidate with devices wins, and the
    endpoint found carries the runtime settings, not the probe's."""
    server = await serve([Sdm630Sim()])
    closed = _closed_port()
    candidates = [
        ProbeCandidate(Endpoint("127.0.0.1", closed), (1,)),
        ProbeCandidate(Endpoint("127.0.0.1", closed), None),  # skipped: the port refused
        ProbeCandidate(Endpoint("127.0.0.1", server.port), (5,)),  # silent unit
        ProbeCandidate(Endpoint("127.0.0.1", server.port), (1,)),
    ]
    found = await probe_candidates(candidates, QUICK_PROBE)
    assert found.endpoint == Endpoint("127.0.0.1", server.port)
    assert [d.serial for d in found.devices] == ["12345678"]
    assert found.unit_ids == (1,)


async def test_probe_candidates_raise_the_most_telling_failure(serve: Serve) -> None:
    refusing = await serve([Sdm630Sim()])
    refusing.faults.exception_code = 2  # something answers, but as nothing we know
    silent = await serve([Sdm630Sim()])
    timeout = ProbeCandidate(Endpoint("127.0.0.1", silent.port), (7,))
    unsupported = ProbeCandidate(Endpoint("127.0.0.1", refusing.port), (1,))
    refused = ProbeCandidate(Endpoint("127.0.0.1", _closed_port()))
    with pytest.raises(UnsupportedDeviceError):
        await probe_candidates([timeout, unsupported, refused], QUICK_PROBE)
    with pytest.raises(PlantTimeoutError):
        await probe_candidates([refused, timeout], QUICK_PROBE)
    with pytest.raises(PlantConnectionError, match="nothing to probe"):
        await probe_candidates([], QUICK_PROBE)
    # Out of time before a candidate's turn: that is a timeout too.
    with pytest.raises(PlantTimeoutError):
        await probe_candidates([timeout, unsupported], ProbeLimits(timeout=0.3, budget=0.2))


async def test_still_answers(serve: Serve) -> None:
    server = await serve([Sdm630Sim()])
    endpoint = Endpoint("127.0.0.1", server.port)
    settings = replace(DEFAULT_SETTINGS, announced=QUICK_PROBE)
    assert await still_answers(endpoint, [1], "12345678", settings)
    assert not await still_answers(endpoint, [1], "another serial", settings)
    assert not await still_answers(Endpoint("127.0.0.1", _closed_port()), None, "12345678", settings)


def test_most_telling_failure() -> None:
    """An answer from an unknown device says more than a timeout, which says more than a refusal."""
    refused, silent = PlantConnectionError("refused"), PlantTimeoutError("silent")
    garbage, unknown = PlantProtocolError("garbage"), UnsupportedDeviceError("unknown")
    assert _most_telling([refused, silent, garbage, unknown]) is unknown
    assert _most_telling([refused, garbage, silent]) is garbage
    assert _most_telling([refused, silent]) is silent
    assert _most_telling([refused]) is refused
    other = PlantError("something else")
    assert _most_telling([other]) is other
