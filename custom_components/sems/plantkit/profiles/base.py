"""What a device profile is: identification plus a declarative point table and a decoder."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..control import ControlBinding
from ..energy.spec import CounterWidth
from ..exceptions import ModbusExceptionError
from ..faults import FaultSource
from ..model import NO_DETAILS, Details, DeviceIdentity, DeviceReading, Quantity, Role
from ..planner import PlanLimits, Span
from ..registers import Point, RawValue, RegisterKind
from ..transport.base import Transport, TransportType


class UnitSession:
    """Reads of one unit id on one transport (what a profile sees while identifying)."""

    def __init__(self, transport: Transport, unit_id: int) -> None:
        self.transport = transport
        self.unit_id = unit_id

    async def read(self, kind: RegisterKind, address: int, count: int) -> list[int]:
        """Read ``count`` registers; raises the library's exceptions."""
        return await self.transport.read_registers(self.unit_id, kind, address, count)

    async def read_or_none(self, kind: RegisterKind, address: int, count: int) -> list[int] | None:
        """Like ``read``, but None when the device refuses these registers (it does not have them)."""
        try:
            return await self.read(kind, address, count)
        except ModbusExceptionError as err:
            if err.refuses_registers:
                return None
            raise


class Profile(ABC):
    """A device family. Subclasses are stateless; per-device facts live in ``DeviceIdentity``."""

    name: str
    role: Role
    limits: PlanLimits = PlanLimits()
    # Unit ids where the family is usually found; empty for decode-only profiles (batteries and meters
    # found through their inverter), which the probe then never asks.
    default_units: tuple[int, ...] = (1,)
    default_poll_seconds: int = 10
    # Framings the family speaks; the probe skips profiles that cannot answer on the endpoint's transport.
    transports: frozenset[TransportType] = frozenset(
        {TransportType.TCP, TransportType.RTU_OVER_TCP, TransportType.SERIAL}
    )
    # Seconds the family's devices need after a connect before they answer (requests sent sooner are
    # dropped); the client lets young connections wait that long before asking them.
    connect_delay: float = 0.0

    def details_from(self, data: Any) -> Details:
        """Parse stored details (``Details.to_dict`` output, or the 0.1 pairs); ValueError when unusable."""
        return NO_DETAILS

    async def prepare(self) -> None:  # noqa: B027 - optional hook, most profiles need nothing
        """Load what ``points``/``decode`` need (e.g. model definitions from disk), off the event loop."""

    @abstractmethod
    async def identify(self, session: UnitSession) -> list[DeviceIdentity]:
        """Return the devices of this family behind the unit (an inverter may bring a battery and a meter).

        Raise ``UnsupportedDeviceError`` when the unit is no device of this family. Timeouts and
        connection errors propagate unchanged.
        """

    @abstractmethod
    def points(self, identity: DeviceIdentity) -> Sequence[Point]:
        """Every point the decoder needs for this device (the planner coalesces them)."""

    def counter_widths(self, identity: DeviceIdentity) -> Mapping[Quantity, CounterWidth]:
        """How the device stores its energy counters (type and kWh per step), where the profile knows."""
        return {}

    def coherent_spans(self, identity: DeviceIdentity) -> Sequence[Span]:
        """Register ranges that must be read in one request (values with their scale factors)."""
        return ()

    @abstractmethod
    def decode(self, identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> DeviceReading:
        """Turn raw point values (None = unavailable or refused) into a canonical reading."""

    def controls(
        self, identity: DeviceIdentity, plant: Sequence[DeviceIdentity]
    ) -> tuple[ControlBinding, ...]:
        """The controls the device offers (``plantkit.control``), bound to its registers; ``plant`` is every
        device of the endpoint (a battery's limits may be its inverter's). None by default."""
        return ()


@dataclass(frozen=True, slots=True)
class DhcpHint:
    """A manifest DHCP matcher of a vendor's devices (Home Assistant's keys and matching rules)."""

    brand: str  # whose devices carry this address or name (documentation, logs)
    macaddress: str | None = None  # upper-case OUI + "*"
    hostname: str | None = None  # lower-case pattern
    first_units: tuple[int, ...] = ()  # unit ids to try before the usual ones

    def manifest_entry(self) -> dict[str, str]:
        """The matcher as manifest.json lists it."""
        entry = {"hostname": self.hostname, "macaddress": self.macaddress}
        return {key: value for key, value in entry.items() if value is not None}


@dataclass(frozen=True, slots=True)
class Vendor:
    """A vendor's device families and how to find them, as data (one entry in ``profiles.VENDORS``).

    ``profiles`` are in probing order; decode-only profiles (batteries and meters found through their
    inverter) come along so stored devices can be decoded. The discovery hints say where such devices
    listen (``tcp_ports``, ``udp_ports``), which of those ports a network search leaves out, which unit
    ids they use beyond the profiles' usual ones (``scan_units``, asked by the unit scan) and how
    announcements of them look (``dhcp``). ``plantkit.discovery.DiscoverySettings`` derives its
    defaults from these.
    """

    name: str
    profiles: tuple[Profile, ...]
    tcp_ports: tuple[int, ...] = ()
    udp_ports: tuple[int, ...] = ()
    # Ports worth a try where the user points, but not a connect to every host of a network.
    unsearched_tcp_ports: tuple[int, ...] = ()
    scan_units: tuple[int, ...] = ()
    dhcp: tuple[DhcpHint, ...] = ()
    fault_sources: tuple[FaultSource, ...] = ()  # the vendor's fault registers and their bit tables

    @property
    def searched_tcp_ports(self) -> tuple[int, ...]:
        """The TCP ports a network search connects to for this vendor's devices."""
        return tuple(port for port in self.tcp_ports if port not in self.unsearched_tcp_ports)
