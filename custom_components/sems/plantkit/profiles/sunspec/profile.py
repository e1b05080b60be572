"""SunSpec profiles: inverters, batteries and meters that expose the SunSpec Modbus model chain.

One profile identifies (``sunspec_inverter``): it walks the unit's model chain once and returns every
device it finds there (``chain.identify_unit``). ``sunspec_battery`` and ``sunspec_meter`` only decode.
Point tables come from the pysunspec2 model definitions; ``identify`` and ``prepare`` load them off the
event loop (``PlantClient`` prepares profiles once for devices restored from storage).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...control import ControlBinding
from ...exceptions import UnsupportedDeviceError
from ...model import Details, DeviceIdentity, DeviceReading, Role
from ...planner import MAX_REGISTERS_PER_READ, PlanLimits, Span
from ...registers import Point, RawValue
from ..base import Profile, UnitSession
from . import controls
from .chain import BATTERY_PROFILE, INVERTER_PROFILE, METER_PROFILE, SunSpecDetails, identify_unit
from .decoding import compiled_for, decode_battery, decode_inverter, decode_meter
from .models import ensure_models_loaded

# Every register of a model chain exists, so bridging unused registers costs nothing but bytes, while
# each extra request costs a round trip: let requests span whole 125-register windows.
SUNSPEC_LIMITS = PlanLimits(max_registers=MAX_REGISTERS_PER_READ, max_gap=MAX_REGISTERS_PER_READ)


class _SunSpecProfile(Profile):
    limits = SUNSPEC_LIMITS
    default_poll_seconds = 10

    async def prepare(self) -> None:
        await ensure_models_loaded()

    def details_from(self, data: Any) -> Details:
        return SunSpecDetails.parse(data)

    def points(self, identity: DeviceIdentity) -> Sequence[Point]:
        return compiled_for(identity).points

    def coherent_spans(self, identity: DeviceIdentity) -> Sequence[Span]:
        return compiled_for(identity).spans


class SunSpecInverterProfile(_SunSpecProfile):
    """Identifies every SunSpec device on a unit; decodes the inverter."""

    name = INVERTER_PROFILE
    role = Role.INVERTER
    default_units = (1, 126)  # 1: Fronius, SolarEdge, most gateways; 126: SMA's SunSpec unit id

    async def identify(self, session: UnitSession) -> list[DeviceIdentity]:
        return await identify_unit(session)

    def decode(self, identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> DeviceReading:
        return decode_inverter(identity, raw)

    def controls(
        self, identity: DeviceIdentity, plant: Sequence[DeviceIdentity]
    ) -> tuple[ControlBinding, ...]:
        return controls.inverter_controls(identity)


class SunSpecBatteryProfile(_SunSpecProfile):
    """A battery found through its inverter's model chain (802, 713 or 124)."""

    name = BATTERY_PROFILE
    role = Role.BATTERY
    default_units = ()

    async def identify(self, session: UnitSession) -> list[DeviceIdentity]:
        raise UnsupportedDeviceError("SunSpec batteries are found through sunspec_inverter")

    def decode(self, identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> DeviceReading:
        return decode_battery(identity, raw)

    def controls(
        self, identity: DeviceIdentity, plant: Sequence[DeviceIdentity]
    ) -> tuple[ControlBinding, ...]:
        return controls.battery_controls(identity)


class SunSpecMeterProfile(_SunSpecProfile):
    """A meter model (20x int+SF, 21x float), in an inverter's chain or alone on its unit."""

    name = METER_PROFILE
    role = Role.METER
    default_units = ()

    async def identify(self, session: UnitSession) -> list[DeviceIdentity]:
        raise UnsupportedDeviceError("SunSpec meters are found through sunspec_inverter")

    def decode(self, identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> DeviceReading:
        return decode_meter(identity, raw)


SUNSPEC_PROFILES: tuple[Profile, ...] = (
    SunSpecInverterProfile(),
    SunSpecBatteryProfile(),
    SunSpecMeterProfile(),
)
