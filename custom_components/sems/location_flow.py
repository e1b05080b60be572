"""The meter-location question of the setup and options flows.

A meter that does not say where it measures (an Eastron SDM, a SunSpec meter without SolarEdge's option
text) could sit at the grid connection point, at the PV output, at a load or at a battery; its readings
mean different things in each place (``plantkit.location``). The user answers once per meter, in setup
and later in the options; the answer is kept in the entry's options (``CONF_METER_LOCATIONS``).
"""

from __future__ import annotations

from collections.abc import Sequence

import voluptuous as vol
from homeassistant.helpers.selector import (
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)

from .plantkit.model import DeviceIdentity, MeterLocation

CONF_LOCATION = "location"


def location_schema() -> vol.Schema:
    """One choice of ``MeterLocation``, the grid preselected (a suggested value preselects another)."""
    return vol.Schema(
        {
            vol.Required(CONF_LOCATION, default=str(MeterLocation.GRID)): SelectSelector(
                SelectSelectorConfig(
                    options=[str(location) for location in MeterLocation],
                    translation_key="meter_location",
                    mode=SelectSelectorMode.LIST,
                )
            )
        }
    )


def placeable_meters(devices: Sequence[DeviceIdentity]) -> list[DeviceIdentity]:
    """The meters the user places: those that do not say where they measure."""
    return [device for device in devices if device.placeable]


def meter_placeholders(meter: DeviceIdentity) -> dict[str, str]:
    """What the question names: the meter by maker, model and unit id (its name would already say a
    location)."""
    return {"meter": f"{meter.manufacturer} {meter.model}", "unit": str(meter.unit_id)}
