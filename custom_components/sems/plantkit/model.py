"""Vendor-neutral plant model: canonical quantities with fixed units and sign conventions.

Profiles translate vendor registers into these quantities, so every brand looks the same upstream.
Sign conventions (fixed, never per vendor):
- ``ac_power``: + = the inverter produces AC.
- ``grid_power``: + = import from the grid, - = export.
- ``battery_power``: + = the battery discharges, - = it charges.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


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


@dataclass(frozen=True, slots=True)
class QuantityInfo:
    """Metadata of a canonical quantity."""

    unit: Unit
    kind: Kind
    primary: bool = True  # False: per-phase or rarely used values (diagnostic upstream)


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
}


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


def device_key(serial: str, role: Role | str) -> str:
    """A device's key within a plant: the serial for an inverter, ``<serial>_<role>`` otherwise.

    A battery or meter found through an inverter often reports the inverter's serial, so the role tells
    them apart.
    """
    return serial if role == Role.INVERTER else f"{serial}_{role}"


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
    details: tuple[tuple[str, str | int], ...] = ()  # profile-private facts (e.g. model addresses)

    @property
    def key(self) -> str:
        """Stable key of this device within a plant."""
        return device_key(self.serial, self.role)

    def detail(self, name: str) -> str | int | None:
        """Look up a profile-private fact."""
        return dict(self.details).get(name)

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
            "details": [[name, value] for name, value in self.details],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeviceIdentity:
        """The inverse of ``to_dict``; raises KeyError/ValueError/TypeError on a malformed dict."""
        return cls(
            role=Role(data["role"]),
            profile=str(data["profile"]),
            unit_id=int(data["unit_id"]),
            manufacturer=str(data["manufacturer"]),
            model=str(data["model"]),
            serial=str(data["serial"]),
            firmware=data.get("firmware"),
            via_serial=data.get("via_serial"),
            details=tuple((str(name), value) for name, value in data.get("details", ())),
        )


@dataclass(frozen=True, slots=True)
class DeviceReading:
    """One read of one device: canonical values (None = not available), status and raw faults."""

    identity: DeviceIdentity
    values: dict[Quantity, float | None]
    status: DeviceStatus = DeviceStatus.UNKNOWN
    faults: frozenset[str] = field(default_factory=frozenset)  # raw fault codes, e.g. "goodwe_error:13"

    def to_json(self) -> dict[str, object]:
        """The `read --json` shape of one device."""
        identity = self.identity.to_dict()
        del identity["details"]  # profile-private
        return {
            **identity,
            "status": str(self.status),
            "faults": sorted(self.faults),
            "values": {str(q): v for q, v in self.values.items()},
        }
