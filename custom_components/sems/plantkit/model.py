"""Vendor-neutral plant model: canonical quantities with fixed units and sign conventions.

Profiles translate vendor registers into these quantities, so every brand looks the same upstream.
Sign conventions (fixed, never per vendor):
- ``ac_power``: + = the inverter produces AC.
- ``grid_power``: + = import from the grid, - = export.
- ``battery_power``: + = the battery discharges, - = it charges.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .faults import Fault


class Role(StrEnum):
    """What a device is in the plant."""

    INVERTER = "inverter"
    BATTERY = "battery"
    METER = "meter"


class Unit(StrEnum):
    """Fixed units of canonical quantities."""

    WATT = "W"
    KILOWATT_HOUR = "kWh"
    PERCENT = "%"
    VOLT = "V"
    AMPERE = "A"
    HERTZ = "Hz"
    CELSIUS = "°C"


class Kind(StrEnum):
    """How a quantity behaves over time (drives state class upstream)."""

    MEASUREMENT = "measurement"
    LIFETIME_TOTAL = "lifetime_total"  # never decreases except on device replacement
    DAILY_TOTAL = "daily_total"  # resets once a day
    CONSTANT = "constant"  # a fact about the plant (its nameplate power): no statistics


# Decimals every published value of a unit is rounded to: the finest resolution devices report (0.1 W,
# Wh, mA, 0.01 Hz), so scaling noise (87 * 0.1 = 8.700000000000001, float32 tails) never shows.
UNIT_DECIMALS: dict[Unit, int] = {
    Unit.WATT: 1,
    Unit.KILOWATT_HOUR: 3,
    Unit.PERCENT: 1,
    Unit.VOLT: 1,
    Unit.AMPERE: 3,
    Unit.HERTZ: 2,
    Unit.CELSIUS: 1,
}


@dataclass(frozen=True, slots=True)
class QuantityInfo:
    """Metadata of a canonical quantity."""

    unit: Unit
    kind: Kind
    primary: bool = True  # False: per-phase or rarely used values (diagnostic upstream)

    def tidy(self, value: float | None) -> float | None:
        """The value rounded to the unit's resolution (``UNIT_DECIMALS``); None stays None."""
        return None if value is None else round(value, UNIT_DECIMALS[self.unit]) + 0.0  # + 0.0: no -0.0


class Quantity(StrEnum):
    """Canonical quantities. Their units and kinds are in ``QUANTITY_INFO``."""

    PV_POWER = "pv_power"
    AC_POWER = "ac_power"
    GRID_POWER = "grid_power"
    LOAD_POWER = "load_power"
    BATTERY_POWER = "battery_power"
    BATTERY_SOC = "battery_soc"
    BATTERY_SOH = "battery_soh"
    BATTERY_VOLTAGE = "battery_voltage"
    BATTERY_CURRENT = "battery_current"
    BATTERY_TEMPERATURE = "battery_temperature"
    GRID_FREQUENCY = "grid_frequency"
    GRID_VOLTAGE_L1 = "grid_voltage_l1"
    GRID_VOLTAGE_L2 = "grid_voltage_l2"
    GRID_VOLTAGE_L3 = "grid_voltage_l3"
    GRID_CURRENT_L1 = "grid_current_l1"
    GRID_CURRENT_L2 = "grid_current_l2"
    GRID_CURRENT_L3 = "grid_current_l3"
    GRID_POWER_L1 = "grid_power_l1"
    GRID_POWER_L2 = "grid_power_l2"
    GRID_POWER_L3 = "grid_power_l3"
    PV1_VOLTAGE = "pv1_voltage"
    PV1_CURRENT = "pv1_current"
    PV1_POWER = "pv1_power"
    PV2_VOLTAGE = "pv2_voltage"
    PV2_CURRENT = "pv2_current"
    PV2_POWER = "pv2_power"
    INVERTER_TEMPERATURE = "inverter_temperature"
    PV_ENERGY_TOTAL = "pv_energy_total"
    AC_ENERGY_TOTAL = "ac_energy_total"
    PV_ENERGY_TODAY = "pv_energy_today"
    GRID_IMPORT_ENERGY_TOTAL = "grid_import_energy_total"
    GRID_EXPORT_ENERGY_TOTAL = "grid_export_energy_total"
    BATTERY_CHARGE_ENERGY_TOTAL = "battery_charge_energy_total"
    BATTERY_DISCHARGE_ENERGY_TOTAL = "battery_discharge_energy_total"
    LOAD_ENERGY_TOTAL = "load_energy_total"
    # Integrated from power where a device has no counter of its own (plantkit.energy.ledger).
    GRID_IMPORT_ENERGY_CALCULATED = "grid_import_energy_calculated"
    GRID_EXPORT_ENERGY_CALCULATED = "grid_export_energy_calculated"
    BATTERY_CHARGE_ENERGY_CALCULATED = "battery_charge_energy_calculated"
    BATTERY_DISCHARGE_ENERGY_CALCULATED = "battery_discharge_energy_calculated"
    LOAD_ENERGY_CALCULATED = "load_energy_calculated"
    # The plant as a whole (plantkit.plant).
    SELF_CONSUMED_ENERGY_TODAY = "self_consumed_energy_today"
    INSTALLED_POWER = "installed_power"


_W = QuantityInfo(Unit.WATT, Kind.MEASUREMENT)
_KWH = QuantityInfo(Unit.KILOWATT_HOUR, Kind.LIFETIME_TOTAL)
_PHASE_V = QuantityInfo(Unit.VOLT, Kind.MEASUREMENT, primary=False)
_PHASE_A = QuantityInfo(Unit.AMPERE, Kind.MEASUREMENT, primary=False)
_PHASE_W = QuantityInfo(Unit.WATT, Kind.MEASUREMENT, primary=False)

QUANTITY_INFO: dict[Quantity, QuantityInfo] = {
    Quantity.PV_POWER: _W,
    Quantity.AC_POWER: _W,
    Quantity.GRID_POWER: _W,
    Quantity.LOAD_POWER: _W,
    Quantity.BATTERY_POWER: _W,
    Quantity.BATTERY_SOC: QuantityInfo(Unit.PERCENT, Kind.MEASUREMENT),
    Quantity.BATTERY_SOH: QuantityInfo(Unit.PERCENT, Kind.MEASUREMENT, primary=False),
    Quantity.BATTERY_VOLTAGE: QuantityInfo(Unit.VOLT, Kind.MEASUREMENT, primary=False),
    Quantity.BATTERY_CURRENT: QuantityInfo(Unit.AMPERE, Kind.MEASUREMENT, primary=False),
    Quantity.BATTERY_TEMPERATURE: QuantityInfo(Unit.CELSIUS, Kind.MEASUREMENT, primary=False),
    Quantity.GRID_FREQUENCY: QuantityInfo(Unit.HERTZ, Kind.MEASUREMENT, primary=False),
    Quantity.GRID_VOLTAGE_L1: _PHASE_V,
    Quantity.GRID_VOLTAGE_L2: _PHASE_V,
    Quantity.GRID_VOLTAGE_L3: _PHASE_V,
    Quantity.GRID_CURRENT_L1: _PHASE_A,
    Quantity.GRID_CURRENT_L2: _PHASE_A,
    Quantity.GRID_CURRENT_L3: _PHASE_A,
    Quantity.GRID_POWER_L1: _PHASE_W,
    Quantity.GRID_POWER_L2: _PHASE_W,
    Quantity.GRID_POWER_L3: _PHASE_W,
    Quantity.PV1_VOLTAGE: _PHASE_V,
    Quantity.PV1_CURRENT: _PHASE_A,
    Quantity.PV1_POWER: _PHASE_W,
    Quantity.PV2_VOLTAGE: _PHASE_V,
    Quantity.PV2_CURRENT: _PHASE_A,
    Quantity.PV2_POWER: _PHASE_W,
    Quantity.INVERTER_TEMPERATURE: QuantityInfo(Unit.CELSIUS, Kind.MEASUREMENT, primary=False),
    Quantity.PV_ENERGY_TOTAL: _KWH,
    Quantity.AC_ENERGY_TOTAL: _KWH,
    Quantity.PV_ENERGY_TODAY: QuantityInfo(Unit.KILOWATT_HOUR, Kind.DAILY_TOTAL),
    Quantity.GRID_IMPORT_ENERGY_TOTAL: _KWH,
    Quantity.GRID_EXPORT_ENERGY_TOTAL: _KWH,
    Quantity.BATTERY_CHARGE_ENERGY_TOTAL: _KWH,
    Quantity.BATTERY_DISCHARGE_ENERGY_TOTAL: _KWH,
    Quantity.LOAD_ENERGY_TOTAL: _KWH,
    Quantity.GRID_IMPORT_ENERGY_CALCULATED: _KWH,
    Quantity.GRID_EXPORT_ENERGY_CALCULATED: _KWH,
    Quantity.BATTERY_CHARGE_ENERGY_CALCULATED: _KWH,
    Quantity.BATTERY_DISCHARGE_ENERGY_CALCULATED: _KWH,
    Quantity.LOAD_ENERGY_CALCULATED: _KWH,
    Quantity.SELF_CONSUMED_ENERGY_TODAY: QuantityInfo(Unit.KILOWATT_HOUR, Kind.DAILY_TOTAL),
    Quantity.INSTALLED_POWER: QuantityInfo(Unit.WATT, Kind.CONSTANT),
}


_DECIMALS: dict[Quantity, int] = {q: UNIT_DECIMALS[info.unit] for q, info in QUANTITY_INFO.items()}


class DeviceStatus(StrEnum):
    """Canonical operating status of a device."""

    OFF = "off"
    SLEEPING = "sleeping"
    STARTING = "starting"
    RUNNING = "running"
    THROTTLED = "throttled"
    STANDBY = "standby"
    FAULT = "fault"
    UNKNOWN = "unknown"


class Details:
    """Profile-private facts about one device: what identified it, where its registers are.

    Each profile defines a frozen dataclass subclass and parses it back (``Profile.details_from``);
    ``to_dict`` is its JSON-safe form, stored with the identity and shown by the CLI. The base class
    itself means "no details".
    """

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON-safe form (field name -> value)."""
        fields: tuple[dataclasses.Field[Any], ...] = (
            dataclasses.fields(self) if dataclasses.is_dataclass(self) else ()
        )
        return {f.name: _plain(getattr(self, f.name)) for f in fields}

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.to_dict() == other.to_dict()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(type(self))


def _plain(value: Any) -> Any:
    if isinstance(value, StrEnum):
        return str(value)
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [_plain(getattr(value, f.name)) for f in dataclasses.fields(value)]
    return value


NO_DETAILS = Details()


def legacy_details(data: Any) -> dict[str, Any]:
    """Stored details as a dict: the current form, or the ``[[name, value], ...]`` pairs of 0.1."""
    if isinstance(data, Mapping):
        return dict(data)
    if isinstance(data, list | tuple):
        return {str(pair[0]): pair[1] for pair in data if isinstance(pair, list | tuple) and len(pair) == 2}
    return {}


class MeterLocation(StrEnum):
    """What a meter measures. Only a grid meter feeds grid power and grid import/export."""

    GRID = "grid"  # the grid connection point: + = import
    PRODUCTION = "production"  # PV (or other generation) output: + = produced
    CONSUMPTION = "consumption"  # a load (house, heat pump, EV charger): + = consumed
    BATTERY = "battery"  # a battery's AC side: + = discharging


def device_key(serial: str, role: Role | str, instance: str | None = None) -> str:
    """A device's key within a plant: the serial for an inverter, ``<serial>_<role>`` otherwise, and the
    instance after it where two devices of one role share a serial.

    A battery or meter found through an inverter often reports the inverter's serial, so the role tells
    them apart.
    """
    key = serial if role == Role.INVERTER else f"{serial}_{role}"
    return f"{key}_{instance}" if instance else key


def placeholder_serial(prefix: str, unit_id: int) -> str:
    """The stand-in serial of a device that reports none ("sdm-unit1"): its key needs one, and a stand-in
    made from the unit id is stable. ``is_placeholder_serial`` tells it apart from a real serial."""
    return f"{prefix}-unit{unit_id}"


def is_placeholder_serial(identity: DeviceIdentity) -> bool:
    """True when the identity's serial is a ``placeholder_serial``, not one the device reported."""
    return identity.serial.endswith(f"-unit{identity.unit_id}")


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """What a probe found: enough to read the device again and to register it upstream."""

    role: Role
    profile: str  # profile name, e.g. "sunspec", "goodwe_et", "eastron_sdm630"
    unit_id: int
    manufacturer: str
    model: str
    serial: str
    firmware: str | None = None
    via_serial: str | None = None  # the inverter a battery or meter hangs off
    details: Details = NO_DETAILS  # profile-private facts (e.g. where the SunSpec models are)
    rated_power: int | None = None  # W, the nameplate power where the device reports it
    # Meters: where the meter measures, when the device itself says so (None: it does not; the user
    # chooses, and an unchosen meter counts as a grid meter).
    location: MeterLocation | None = None
    # Tells apart devices of one role that share a serial (a SolarEdge meter presented twice).
    instance: str | None = None
    # Where the user placed a meter that does not say where it measures (``PlantClient.place_meters``).
    # The user's choice is kept by the caller (Home Assistant: the entry's options), so it is not stored
    # with the identity (``to_dict``).
    placed: MeterLocation | None = None

    @property
    def key(self) -> str:
        """Stable key of this device within a plant."""
        return device_key(self.serial, self.role, self.instance)

    @property
    def measures(self) -> MeterLocation | None:
        """Where a meter measures (grid unless the device or the user said otherwise); None for others."""
        if self.role is not Role.METER:
            return None
        return self.location or self.placed or MeterLocation.GRID

    @property
    def placeable(self) -> bool:
        """A meter that does not say where it measures: the user places it (``placed``)."""
        return self.role is Role.METER and self.location is None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (stored by Home Assistant, printed by the CLI)."""
        return {
            "role": str(self.role),
            "profile": self.profile,
            "unit_id": self.unit_id,
            "manufacturer": self.manufacturer,
            "model": self.model,
            "serial": self.serial,
            "firmware": self.firmware,
            "via_serial": self.via_serial,
            "details": self.details.to_dict(),
            "rated_power": self.rated_power,
            "location": None if self.location is None else str(self.location),
            "instance": self.instance,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], details: Details = NO_DETAILS) -> DeviceIdentity:
        """The inverse of ``to_dict`` with the details its profile parsed (``profiles.identity_from_dict``
        does both); raises KeyError/ValueError/TypeError on a malformed dict."""
        return cls(
            role=Role(data["role"]),
            profile=str(data["profile"]),
            unit_id=int(data["unit_id"]),
            manufacturer=str(data["manufacturer"]),
            model=str(data["model"]),
            serial=str(data["serial"]),
            firmware=data.get("firmware"),
            via_serial=data.get("via_serial"),
            details=details,
            rated_power=None if data.get("rated_power") is None else int(data["rated_power"]),
            location=None if data.get("location") is None else MeterLocation(data["location"]),
            instance=None if data.get("instance") is None else str(data["instance"]),
        )


@dataclass(frozen=True, slots=True)
class DeviceReading:
    """One read of one device: canonical values (None = not available), status and raw faults."""

    identity: DeviceIdentity
    values: dict[Quantity, float | None]
    status: DeviceStatus = DeviceStatus.UNKNOWN
    faults: frozenset[Fault] = field(default_factory=frozenset)  # active faults, typed, as reported

    def tidied(self) -> DeviceReading:
        """The reading with every value rounded to its quantity's resolution (see ``UNIT_DECIMALS``)."""
        # As QuantityInfo.tidy, without a call per value; a whole number rounds to itself (most powers do).
        decimals = _DECIMALS
        values = {
            q: None if v is None else v + 0.0 if v.is_integer() else round(v, decimals[q]) + 0.0
            for q, v in self.values.items()
        }
        return DeviceReading(self.identity, values, self.status, self.faults)

    def to_json(self) -> dict[str, object]:
        """The `read --json` shape of one device."""
        identity = self.identity.to_dict()
        del identity["details"]  # profile-private
        return {
            **identity,
            "status": str(self.status),
            "faults": sorted(str(fault.raw) for fault in self.faults),
            "values": {str(q): v for q, v in self.values.items()},
        }
