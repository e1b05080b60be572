"""Meter location: what a meter's readings mean depends on where it measures, decided here for every brand.

Meter profiles decode as if every meter sat at the grid connection point: ``grid_power`` is the power
in the meter's forward direction (+ = import at the grid), ``grid_import_energy_total`` counts forward
and ``grid_export_energy_total`` backward. A meter elsewhere measures something else, and its values
are moved to the quantities of its location here, so only a grid meter ever feeds grid power and grid
import/export:

- production (PV output): forward is production: ``ac_power`` and ``ac_energy_total``;
- consumption (a load): forward is consumption: ``load_power`` and ``load_energy_total``;
- battery (its AC side): forward is charging: ``battery_power`` (+ = discharging) and the battery's
  charge (forward) and discharge (backward) totals.

Line values (voltages, currents, frequency) stay: they are the same wherever the meter sits. Per-phase
grid powers are left out for meters away from the grid connection point.
"""

from __future__ import annotations

from collections.abc import Mapping

from .model import DeviceReading, MeterLocation, Quantity

# location -> grid-frame quantity -> (quantity at that location, sign)
MOVES: Mapping[MeterLocation, Mapping[Quantity, tuple[Quantity, int]]] = {
    MeterLocation.PRODUCTION: {
        Quantity.GRID_POWER: (Quantity.AC_POWER, 1),
        Quantity.GRID_IMPORT_ENERGY_TOTAL: (Quantity.AC_ENERGY_TOTAL, 1),
    },
    MeterLocation.CONSUMPTION: {
        Quantity.GRID_POWER: (Quantity.LOAD_POWER, 1),
        Quantity.GRID_IMPORT_ENERGY_TOTAL: (Quantity.LOAD_ENERGY_TOTAL, 1),
    },
    MeterLocation.BATTERY: {
        Quantity.GRID_POWER: (Quantity.BATTERY_POWER, -1),
        Quantity.GRID_IMPORT_ENERGY_TOTAL: (Quantity.BATTERY_CHARGE_ENERGY_TOTAL, 1),
        Quantity.GRID_EXPORT_ENERGY_TOTAL: (Quantity.BATTERY_DISCHARGE_ENERGY_TOTAL, 1),
    },
}

# What only a meter at the grid connection point reports.
GRID_ONLY: frozenset[Quantity] = frozenset(
    {
        Quantity.GRID_POWER,
        Quantity.GRID_POWER_L1,
        Quantity.GRID_POWER_L2,
        Quantity.GRID_POWER_L3,
        Quantity.GRID_IMPORT_ENERGY_TOTAL,
        Quantity.GRID_EXPORT_ENERGY_TOTAL,
    }
)


def relocated(reading: DeviceReading) -> DeviceReading:
    """A meter's reading with its values moved to its location's quantities (unchanged for others)."""
    location = reading.identity.measures
    if location is None or location is MeterLocation.GRID:
        return reading
    moves = MOVES[location]
    values = {q: v for q, v in reading.values.items() if q not in GRID_ONLY}
    for grid_quantity, (quantity, sign) in moves.items():
        if grid_quantity in reading.values:
            value = reading.values[grid_quantity]
            values[quantity] = None if value is None else sign * value + 0.0
    return DeviceReading(reading.identity, values, reading.status, reading.faults)
