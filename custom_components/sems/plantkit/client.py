"""The plant client: probe an endpoint for devices and read them in the planned minimum of requests."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from .closing import AsyncClosing
from .exceptions import (
    ConnectionClosedError,
    ModbusExceptionError,
    NoDeviceAtUnitError,
    PlantConnectionError,
    PlantError,
    PlantProtocolError,
    PlantTimeoutError,
    UnsupportedDeviceError,
)
from .location import relocated
from .model import DeviceIdentity, DeviceReading, MeterLocation
from .planner import PlanLimits, ReadRequest, Span, plan_reads
from .profiles import PROFILES
from .profiles.base import Profile, UnitSession
from .registers import BlockDecoder, Point, RawValue, RegisterKind, decode
from .transport import create_transport
from .transport.base import Endpoint, Transport
from .transport.pdu import Request, read_request

_LOGGER = logging.getLogger(__name__)

# Unit ids worth trying when the user gives none: SunSpec/most gateways 1, GoodWe ET 247, GoodWe DT 127.
COMMON_UNIT_IDS: tuple[int, ...] = (1, 247, 127, 2, 3, 4)
# Refused registers are learned and planned around; every so many reads they are tried again.
RELEARN_REFUSALS_EVERY = 360
# While identifying, a garbled or busy answer is asked again this many times in all, then taken as silence.
IDENTIFY_ATTEMPTS = 3
# A unit whose request made the peer close the connection is asked this many times (reconnecting) in all.
CLOSED_ATTEMPTS = 2


_GATEWAY_REASONS = {
    ModbusExceptionError.GATEWAY_PATH_UNAVAILABLE: "the gateway has no path to it (Modbus exception 10)",
    ModbusExceptionError.GATEWAY_TARGET_NO_RESPONSE: "the gateway got no answer (Modbus exception 11)",
}


class _ProbeSession(UnitSession):
    """What profiles read through while identifying: a gateway's "no device at this unit" (exceptions 10
    and 11) is no answer from a device, so it must not look like one to a profile."""

    async def read(self, kind: RegisterKind, address: int, count: int) -> list[int]:
        try:
            return await super().read(kind, address, count)
        except ModbusExceptionError as err:
            if err.no_device:
                reason = _GATEWAY_REASONS.get(err.code, str(err))
                raise NoDeviceAtUnitError((self.unit_id,), reason) from err
            raise


class PlantClient(AsyncClosing):
    """Talks to every device behind one endpoint over a single connection."""

    def __init__(
        self,
        endpoint: Endpoint,
        transport: Transport | None = None,
        profiles: Sequence[Profile] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.transport = transport or create_transport(endpoint)
        self.profiles: tuple[Profile, ...] = tuple(profiles) if profiles is not None else PROFILES
        self._by_name = {profile.name: profile for profile in self.profiles}
        self._devices: list[DeviceIdentity] = []
        self._placements: dict[str, MeterLocation] = {}
        self._refused: dict[int, set[tuple[RegisterKind, int]]] = defaultdict(set)
        self._reads: dict[int, int] = defaultdict(int)
        self._plans: dict[int, _UnitPlan] = {}
        self._prepared: list[DeviceIdentity] | None = None
        self.silent_units: dict[int, PlantError] = {}  # units the last read got nothing from
        # Held by every read pass and by each control write with its read-back (``PlantController``), so
        # a write never lands between the requests of a poll.
        self.lock = asyncio.Lock()

    @property
    def devices(self) -> list[DeviceIdentity]:
        """The devices ``read`` reads: found by ``probe``, or set from storage."""
        return self._devices

    @devices.setter
    def devices(self, devices: list[DeviceIdentity]) -> None:
        self._devices = [self._placed(device) for device in devices]
        self._plans.clear()
        self._prepared = None
        # Young connections wait as long as the slowest of these devices needs after a connect.
        profiles = [self._by_name[d.profile] for d in self._devices if d.profile in self._by_name]
        self.transport.connect_delay = max(
            (self.endpoint.connect_delay, *(profile.connect_delay for profile in profiles))
        )

    @property
    def placements(self) -> dict[str, MeterLocation]:
        """Where the user placed meters, by device key (``place_meters``)."""
        return dict(self._placements)

    def place_meters(self, placements: Mapping[str, MeterLocation]) -> None:
        """Where the user placed meters that do not say where they measure, by device key; applies to the
        devices now and to any set later. A meter the device locates itself keeps its own location."""
        self._placements = dict(placements)
        self.devices = self._devices

    def _placed(self, device: DeviceIdentity) -> DeviceIdentity:
        placed = self._placements.get(device.key) if device.placeable else None
        return device if device.placed is placed else replace(device, placed=placed)

    async def close(self) -> None:
        """Close the connection."""
        await self.transport.close()

    async def probe(self, unit_ids: Sequence[int] | None = None) -> list[DeviceIdentity]:
        """Identify what answers at the endpoint and remember the devices for ``read`` (see ``identify``)."""
        found = await self.identify(unit_ids)
        self.devices = found
        return found

    async def identify(self, unit_ids: Sequence[int] | None = None) -> list[DeviceIdentity]:
        """Identify what answers at the endpoint, without changing the devices ``read`` reads.

        Without ``unit_ids`` the usual ids are asked in turn and the first that answers wins. A silent
        unit, a gateway's "no device here" (exceptions 10/11) and a gateway that closes the connection
        when asked for a unit it does not have all move on to the next id (reconnecting as needed).
        Raises ``UnsupportedDeviceError`` when something answered but no profile knows it,
        ``NoDeviceAtUnitError`` when a gateway said no unit asked has a device, ``PlantTimeoutError``
        when nothing answered in time, ``PlantConnectionError`` when the endpoint cannot be reached.
        """
        candidates = [p for p in self.profiles if p.default_units and self.endpoint.transport in p.transports]
        units = list(unit_ids) if unit_ids is not None else _units_for(candidates)
        found: list[DeviceIdentity] = []
        last_error: PlantError | None = None
        no_device: NoDeviceAtUnitError | None = None
        silent: list[int] = []
        answered = False
        for unit_id in units:
            session = _ProbeSession(self.transport, unit_id)
            for profile in candidates:
                if unit_ids is None and unit_id not in profile.default_units:
                    continue
                # A family that drops requests right after a connect gets its settle time from here on.
                self.transport.connect_delay = max(self.transport.connect_delay, profile.connect_delay)
                try:
                    identities = await self._identify(profile, session)
                except (UnsupportedDeviceError, ModbusExceptionError) as err:
                    answered = True  # something answered, but not as this profile's device
                    last_error = err
                    continue
                except PlantTimeoutError as err:  # incl. NoDeviceAtUnitError
                    silent.append(unit_id)  # others behind the endpoint may answer
                    if isinstance(err, NoDeviceAtUnitError):
                        no_device = err
                    else:
                        last_error = err
                    break
                # A refused or broken connection propagates: no other unit id can answer either.
                found.extend(identities)
                break
            if found and unit_ids is None:
                break  # a device answered at the usual id; gateways with several ids are probed explicitly
        if found:
            return found
        if answered:
            raise UnsupportedDeviceError(f"no supported device at {self.endpoint}") from last_error
        if no_device is not None:
            raise NoDeviceAtUnitError(tuple(silent), no_device.reason, self.endpoint) from no_device
        raise last_error or PlantConnectionError(f"nothing answered at {self.endpoint}")

    async def _identify(self, profile: Profile, session: UnitSession) -> list[DeviceIdentity]:
        """One profile at one unit. A garbled or busy answer is transient: asked again, then silence.

        A connection the peer closed is reopened once; closed again, the unit has no device (some
        gateways close the connection when asked for a unit id they do not have).
        """
        closed = garbled = 0
        while True:
            try:
                return await profile.identify(session)
            except ConnectionClosedError as err:
                closed += 1
                if closed >= CLOSED_ATTEMPTS:
                    reason = "the gateway closes the connection when asked for it"
                    raise NoDeviceAtUnitError((session.unit_id,), reason) from err
            except PlantProtocolError as err:
                if isinstance(err, ModbusExceptionError) and not err.transient:
                    raise
                garbled += 1
                if garbled >= IDENTIFY_ATTEMPTS:
                    raise PlantTimeoutError(
                        f"no valid answer from unit {session.unit_id} at {self.endpoint}: {err}"
                    ) from err
            _LOGGER.debug("identifying unit %s at %s again", session.unit_id, self.endpoint)

    def profile(self, name: str) -> Profile:
        """The profile a device identity names."""
        try:
            return self._by_name[name]
        except KeyError:
            raise PlantError(f"unknown profile {name!r}") from None

    def planned_requests(self) -> int:
        """Requests one full read of all known devices needs (devices on one unit share reads)."""
        return sum(len(self._unit_plan(unit_id).requests) for unit_id in self._units())

    async def prepare(self) -> None:
        """Load what the devices' profiles need to decode (once; devices may come from storage)."""
        if self._prepared is not None:
            return
        for name in sorted({d.profile for d in self.devices}):
            await self.profile(name).prepare()
        self._prepared = list(self.devices)

    async def read(self) -> list[DeviceReading]:
        """Read every known device. Raises on connection loss; a refused block degrades to None values.

        With devices on several unit ids, a unit that is silent or that a gateway reports empty (Modbus
        exceptions 10/11, or a closed connection) is left out of the readings and listed in
        ``silent_units`` (unit id -> why); the read fails only when no unit answered.
        """
        if not self.devices:
            raise PlantError("no devices: probe first")
        if self._prepared is None:
            await self.prepare()
        async with self.lock:
            return await self._read_all()

    async def _read_all(self) -> list[DeviceReading]:
        readings: list[DeviceReading] = []
        units = self._units()
        self.silent_units = {}
        for unit_id in units:
            try:
                plan, blocks, single = await self._read_unit(unit_id)
            except (PlantTimeoutError, ConnectionClosedError, ModbusExceptionError) as err:
                # Behind a gateway one device may be gone while the others answer: only its readings are
                # missing. An error that is not about this unit alone fails the whole read.
                if len(units) == 1 or (isinstance(err, ModbusExceptionError) and not err.no_device):
                    raise
                self.silent_units[unit_id] = err
                continue
            shared: dict[str, RawValue] | None = None
            came = [values for values in blocks if values is not None]
            if plan.keys is not None and len(came) == len(blocks):
                # The usual case: every block came. One mapping serves every device of the unit (their
                # points' keys do not clash); a point that is not planned reads None.
                shared = dict.fromkeys(plan.unplanned)
                for keys, values in zip(plan.keys, came, strict=True):
                    shared.update(zip(keys, values, strict=True))
            for device, profile, slots in plan.devices:
                raw = shared if shared is not None else _device_raw(slots, blocks, single)
                # Every consumer gets values at their quantity's resolution and a meter's values at its
                # location's quantities, decided here once.
                readings.append(relocated(profile.decode(device, raw).tidied()))
        if not readings and self.silent_units:
            raise next(iter(self.silent_units.values()))  # nothing answered: the endpoint failed
        return readings

    async def blank_reading(self, device: DeviceIdentity) -> DeviceReading:
        """A reading of ``device`` without values: every quantity it provides, each None."""
        profile = self.profile(device.profile)
        await profile.prepare()
        return relocated(profile.decode(device, {}))

    def _units(self) -> list[int]:
        return sorted({d.unit_id for d in self.devices})

    def _unit_plan(self, unit_id: int) -> _UnitPlan:
        """The unit's compiled read plan, made once and reused until what the unit refuses changes."""
        plan = self._plans.get(unit_id)
        if plan is None:
            devices = [(d, self.profile(d.profile)) for d in self.devices if d.unit_id == unit_id]
            plan = self._plans[unit_id] = _UnitPlan.build(unit_id, devices, self._refused[unit_id])
        return plan

    async def _read_unit(
        self, unit_id: int
    ) -> tuple[_UnitPlan, list[list[RawValue] | None], dict[Point, list[int]]]:
        """The plan used, the decoded values of each of its requests (None where refused; in the order
        of the request's decoder), and the words of the points read one by one after a refusal."""
        self._reads[unit_id] += 1
        if self._reads[unit_id] % RELEARN_REFUSALS_EVERY == 0 and self._refused[unit_id]:
            self._forget_refusals(unit_id)  # a firmware update may serve registers it refused before
        plan = self._unit_plan(unit_id)
        known_refusals = set(self._refused[unit_id])
        blocks: list[list[RawValue] | None] = []
        single: dict[Point, list[int]] = {}
        refusal: ModbusExceptionError | None = None
        transport = self.transport
        for request, pdu, decoder in plan.reads:
            try:
                data = await transport.read_bytes(pdu)
            except ModbusExceptionError as err:
                if not err.refuses_registers:
                    raise
                refusal = err
                blocks.append(None)
                await self._learn_refusals(unit_id, request, plan.points, single)
                continue
            if len(data) != 2 * request.count:
                raise PlantProtocolError(f"asked for {request.count} registers, got {len(data) // 2}")
            blocks.append(decoder.decode_bytes(data))
        if refusal is not None and not single and all(values is None for values in blocks):
            # Refusing everything is a state (a gateway whose device is still booting), not the device's
            # register layout: forget what this pass learned and fail the read instead.
            self._refused[unit_id] = known_refusals
            self._plans.pop(unit_id, None)
            raise refusal
        return plan, blocks, single

    async def read_points(self, unit_id: int, points: Sequence[Point]) -> dict[int, int]:
        """The words (address -> word) of every register ``points`` cover that unit ``unit_id`` serves, read
        in requests its profiles allow; registers it refuses are left out (a refused block is read point by
        point, and what it refuses is remembered as for ``read``). The caller holds ``lock``.

        Raises what ``read`` raises for a lost connection, a timeout or a short reply; like ``read``, the
        refusal when the unit refused every register asked for (learning nothing from it).
        """
        known_refusals = set(self._refused[unit_id])
        refusal: ModbusExceptionError | None = None
        words: dict[int, int] = {}
        spans = (Span(p.kind, p.address, p.count) for p in points)
        for request in plan_reads(spans, self._limits(unit_id), self._refused[unit_id]):
            try:
                block = await self.transport.read_registers(
                    unit_id, request.kind, request.address, request.count
                )
            except ModbusExceptionError as err:
                if not err.refuses_registers:
                    raise
                refusal = err
                single: dict[Point, list[int]] = {}
                await self._learn_refusals(unit_id, request, points, single)
                for point, got in single.items():
                    words.update(zip(range(point.address, point.end), got, strict=True))
                continue
            if len(block) != request.count:
                raise PlantProtocolError(f"asked for {request.count} registers, got {len(block)}")
            words.update(zip(range(request.address, request.end), block, strict=True))
        if refusal is not None and not words:
            # As in ``_read_unit``: refusing everything is a state (a booting gateway), not the layout;
            # learned, it would hide these registers (and fail every write's read-back) for hours.
            self._refused[unit_id] = known_refusals
            self._plans.pop(unit_id, None)
            raise refusal
        return words

    def _limits(self, unit_id: int) -> PlanLimits:
        """The tightest read limits of the profiles of the devices at ``unit_id``."""
        limits: PlanLimits | None = None
        for device in self.devices:
            if device.unit_id == unit_id:
                limits = _tighter(limits, self.profile(device.profile).limits)
        return limits or PlanLimits()

    def _forget_refusals(self, unit_id: int) -> None:
        self._refused[unit_id].clear()
        self._plans.pop(unit_id, None)

    async def _learn_refusals(
        self,
        unit_id: int,
        request: ReadRequest,
        points: Sequence[Point],
        single: dict[Point, list[int]],
    ) -> None:
        """A block was refused: read its points one by one and remember what the device refuses.

        The registers between points are marked refused too, so later plans never bridge them.
        """
        refused = self._refused[unit_id]
        readable: set[int] = set()
        spans: dict[Span, list[Point]] = {}
        for point in points:
            span = Span(point.kind, point.address, point.count)
            if request.covers(span):
                spans.setdefault(span, []).append(point)
        for span in sorted(spans):
            if any((span.kind, a) in refused for a in range(span.address, span.end)):
                continue
            try:
                words = await self.transport.read_registers(unit_id, span.kind, span.address, span.count)
            except ModbusExceptionError as err:
                if not err.refuses_registers:
                    raise
                refused.update((span.kind, a) for a in range(span.address, span.end))
                continue
            if len(words) != span.count:
                raise PlantProtocolError(f"asked for {span.count} registers, got {len(words)}")
            for point in spans[span]:
                single[point] = words
            readable.update(range(span.address, span.end))
        refused.update((request.kind, a) for a in range(request.address, request.end) if a not in readable)
        self._plans.pop(unit_id, None)
        _LOGGER.debug("unit %s refuses %d registers at %s", unit_id, len(refused), self.endpoint)


type _Slot = tuple[str, int, int, Point]
"""Where one point's value is in a unit's read: key, request index (-1: not planned), index in the
request's decoded values, the point."""


def _device_raw(
    slots: Sequence[_Slot], blocks: Sequence[Sequence[RawValue] | None], single: Mapping[Point, list[int]]
) -> dict[str, RawValue]:
    """One device's raw values after a refusal: from the blocks that came, else from the points read one
    by one, else None."""
    raw: dict[str, RawValue] = {}
    for key, request, index, point in slots:
        block = blocks[request] if request >= 0 else None
        if block is not None:
            raw[key] = block[index]
        else:
            alone = single.get(point)
            raw[key] = None if alone is None else decode(point, alone)
    return raw


@dataclass(frozen=True, slots=True)
class _UnitPlan:
    """One unit's reads, compiled: the requests with their decoders, and for each device where its
    points' values lie in them. ``keys`` names each decoder's values, when no two points of the unit
    share a key (None otherwise: each device then gets its own mapping); ``unplanned`` are the keys of
    the points no request covers (refused registers)."""

    reads: tuple[tuple[ReadRequest, Request, BlockDecoder], ...]
    devices: tuple[tuple[DeviceIdentity, Profile, tuple[_Slot, ...]], ...]
    points: tuple[Point, ...]  # every point of the unit (for learning refusals)
    keys: tuple[tuple[str, ...], ...] | None
    unplanned: tuple[str, ...]

    @property
    def requests(self) -> tuple[ReadRequest, ...]:
        """The planned requests, in the order they are sent."""
        return tuple(request for request, _, _ in self.reads)

    @classmethod
    def build(
        cls,
        unit_id: int,
        devices: Sequence[tuple[DeviceIdentity, Profile]],
        refused: Collection[tuple[RegisterKind, int]],
    ) -> _UnitPlan:
        limits: PlanLimits | None = None
        spans: list[Span] = []
        points: list[Point] = []
        device_points: list[Sequence[Point]] = []
        for device, profile in devices:
            limits = _tighter(limits, profile.limits)
            own = profile.points(device)
            device_points.append(own)
            points.extend(own)
            spans.extend(Span(p.kind, p.address, p.count) for p in own)
            spans.extend(profile.coherent_spans(device))
        requests = tuple(plan_reads(spans, limits or PlanLimits(), refused))
        covered: list[list[Point]] = [[] for _ in requests]
        where: dict[Point, int] = {}
        for point in points:
            span = Span(point.kind, point.address, point.count)
            index = next((i for i, r in enumerate(requests) if r.covers(span)), -1)
            where[point] = index
            if index >= 0:
                covered[index].append(point)
        decoders = [BlockDecoder(r.address, block) for r, block in zip(requests, covered, strict=True)]
        positions = [{p: i for i, p in enumerate(d.points)} for d in decoders]
        compiled = []
        for (device, profile), own in zip(devices, device_points, strict=True):
            slots = tuple(
                (point.key, where[point], positions[where[point]][point] if where[point] >= 0 else -1, point)
                for point in own
            )
            compiled.append((device, profile, slots))
        reads = tuple(
            (r, read_request(unit_id, r.kind, r.address, r.count), d)
            for r, d in zip(requests, decoders, strict=True)
        )
        unique = len({p.key for p in points}) == len(set(points))
        keys = tuple(tuple(p.key for p in d.points) for d in decoders) if unique else None
        unplanned = tuple(dict.fromkeys(p.key for p in points if where[p] < 0))
        return cls(reads, tuple(compiled), tuple(points), keys, unplanned)


def _tighter(a: PlanLimits | None, b: PlanLimits) -> PlanLimits:
    if a is None:
        return b
    return PlanLimits(min(a.max_registers, b.max_registers), min(a.max_gap, b.max_gap))


def _units_for(profiles: Sequence[Profile]) -> list[int]:
    units: list[int] = []
    for unit_id in COMMON_UNIT_IDS + tuple(u for p in profiles for u in p.default_units):
        if unit_id not in units and any(unit_id in p.default_units for p in profiles):
            units.append(unit_id)
    return units
