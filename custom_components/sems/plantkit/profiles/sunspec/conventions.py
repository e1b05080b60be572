"""Manufacturer conventions on top of SunSpec: one declarative table, applied by the SunSpec decoder only.

The SunSpec models leave some things open (a meter's power sign, where a meter sits) and some
manufacturers fill them in their own way. Every such fact is one entry here, keyed by the Common model's
manufacturer name (``Mn``), each with its source and a test; nothing about a brand is decided elsewhere.

Meter power: the decoder reads a meter's ``W`` so that + is the meter's forward direction at its location
(grid: import; production: produced; consumption: consumed; see ``plantkit.location``), multiplying by
``meter_power_sign[location]`` (default +1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ...model import MeterLocation

_NO_SIGNS: Mapping[MeterLocation, int] = MappingProxyType({})
_NO_LOCATIONS: Mapping[str, MeterLocation] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Conventions:
    """How one manufacturer departs from (or fills in) the SunSpec models."""

    # Meter ``W`` times this is + in the meter's forward direction, per location (absent: +1).
    meter_power_sign: Mapping[MeterLocation, int] = field(default=_NO_SIGNS)
    # The Common model's option text (``Opt``, lower case) of a meter -> where it measures.
    meter_locations: Mapping[str, MeterLocation] = field(default=_NO_LOCATIONS)
    # Fronius reports its battery as two extra MPPT modules in model 160, by module label prefix:
    # (charging, discharging). None: every 160 module is a PV input.
    battery_modules: tuple[str, str] | None = None

    def power_sign(self, location: MeterLocation) -> int:
        """What a meter's ``W`` is multiplied by at this location."""
        return self.meter_power_sign.get(location, 1)

    def location(self, option: str) -> MeterLocation | None:
        """Where a meter measures, from its Common option text; None when the text does not say."""
        return self.meter_locations.get(option.strip().casefold())


DEFAULT = Conventions()

CONVENTIONS: Mapping[str, Conventions] = {
    # SolarEdge (WillCodeForCats/solaredge-modbus-multi#69, #652; evcc's solaredge template):
    # - the Export+Import meter's W is + while exporting (canonical grid + is import);
    # - its inverters present one hardware meter as virtual meters, one per function, and name the
    #   function in each virtual meter's Common ``Opt``: production and consumption meters count + for
    #   what they measure (produced, consumed), each in its forward (import) counter.
    "solaredge": Conventions(
        meter_power_sign={MeterLocation.GRID: -1},
        meter_locations={
            "export+import": MeterLocation.GRID,
            "export": MeterLocation.GRID,
            "import": MeterLocation.GRID,
            "production": MeterLocation.PRODUCTION,
            "external production": MeterLocation.PRODUCTION,
            "consumption": MeterLocation.CONSUMPTION,
        },
    ),
    # Fronius GEN24 (Fronius' SunSpec documentation): the battery appears as 160 modules "StCha n" and
    # "StDisCha n" next to the PV strings.
    "fronius": Conventions(battery_modules=("stcha", "stdischa")),
}


def conventions_for(manufacturer: str) -> Conventions:
    """The conventions of a manufacturer (by Common ``Mn``), or SunSpec's plain reading."""
    return CONVENTIONS.get(manufacturer.strip().casefold(), DEFAULT)
