"""Device identities survive storage: typed details, location, rated power, and the 0.1 stored form."""

from __future__ import annotations

import pytest

from custom_components.sems.plantkit.model import DeviceIdentity, MeterLocation, Role
from custom_components.sems.plantkit.profiles import identity_from_dict
from custom_components.sems.plantkit.profiles.eastron.profile import EastronDetails
from custom_components.sems.plantkit.profiles.goodwe.profile import (
    GoodWeBatteryDetails,
    GoodWeInverterDetails,
    GoodWeMeterDetails,
    MeterTotals,
)
from custom_components.sems.plantkit.profiles.sunspec.chain import ModelInstance, SunSpecDetails

IDENTITIES = [
    DeviceIdentity(
        Role.INVERTER,
        "goodwe_et",
        247,
        "GoodWe",
        "GW10K-ET",
        "9010KETU000SIM01",
        "04029-06-S11",
        details=GoodWeInverterDetails("ETU", 3, has_meter=True),
        rated_power=10000,
    ),
    DeviceIdentity(
        Role.BATTERY, "goodwe_et_battery", 247, "GoodWe", "Lynx", "S1", "21", "S1", GoodWeBatteryDetails(287)
    ),
    DeviceIdentity(
        Role.METER,
        "goodwe_et_meter",
        247,
        "GoodWe",
        "Smart meter",
        "S1",
        details=GoodWeMeterDetails(2, MeterTotals.U64),
        location=MeterLocation.GRID,
    ),
    DeviceIdentity(
        Role.METER, "eastron_sdm630", 1, "Eastron", "SDM630", "1234", details=EastronDetails(112, 3)
    ),
    DeviceIdentity(
        Role.METER,
        "sunspec_meter",
        1,
        "SolarEdge",
        "SE-MTR-3Y-400V-A",
        "60FAKE15",
        details=SunSpecDetails(40000, (ModelInstance(203, 40362, 105),)),
        location=MeterLocation.PRODUCTION,
        instance="production",
    ),
]


@pytest.mark.parametrize("identity", IDENTITIES, ids=lambda identity: identity.profile)
def test_identity_round_trip(identity: DeviceIdentity) -> None:
    assert identity_from_dict(identity.to_dict()) == identity


def test_identities_stored_by_0_1_still_load() -> None:
    """0.1 stored details as [name, value] pairs (rated power among them, the SunSpec chain as text)."""
    et = identity_from_dict(
        {
            "role": "inverter",
            "profile": "goodwe_et",
            "unit_id": 247,
            "manufacturer": "GoodWe",
            "model": "GW10K-ET",
            "serial": "S1",
            "details": [["family_tag", "ETU"], ["has_meter", 1], ["rated_power", 10000], ["ac_type", 0]],
        }
    )
    assert et.details == GoodWeInverterDetails("ETU", 1, has_meter=True)
    assert et.rated_power == 10000
    meter = {"role": "meter", "profile": "sunspec_meter", "unit_id": 1, "manufacturer": "M", "model": "X"}
    sunspec = identity_from_dict({**meter, "serial": "S", "details": [["base", 0], ["chain", "203@2+105"]]})
    assert sunspec.details == SunSpecDetails(0, (ModelInstance(203, 2, 105),))


@pytest.mark.parametrize(
    "details",
    [
        [["meter_type", 2]],  # 0.1 did not store where the totals are: probe again
        [["base", 0], ["chain", "203@65500+105"]],  # a model past the register space
        [["base", 0], ["chain", "160@40000+65000"]],  # a repeating group no device has
    ],
)
def test_unusable_stored_details_are_refused(details: list[list[object]]) -> None:
    """Details that cannot be read make the entry probe again (stored_devices drops them)."""
    profile = "goodwe_et_meter" if details[0][0] == "meter_type" else "sunspec_meter"
    data = {
        "role": "meter",
        "profile": profile,
        "unit_id": 1,
        "manufacturer": "M",
        "model": "X",
        "serial": "S",
    }
    with pytest.raises((KeyError, ValueError)):
        identity_from_dict({**data, "details": details})
