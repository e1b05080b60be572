"""Names and relations of a plant's devices (plantkit.naming)."""

from __future__ import annotations

from custom_components.sems.plantkit.model import DeviceIdentity, Role
from custom_components.sems.plantkit.naming import device_name, inverter_of, main_device

INVERTER = DeviceIdentity(Role.INVERTER, "goodwe_et", 247, "GoodWe", "GW10K-ET", "S1", "1.0")
BATTERY = DeviceIdentity(Role.BATTERY, "sunspec_battery", 1, "SunSpecSim", "INV", "S2", via_serial="S3")
SUNSPEC_INVERTER = DeviceIdentity(Role.INVERTER, "sunspec_inverter", 1, "SunSpecSim", "INV", "S3")
METER = DeviceIdentity(Role.METER, "eastron_sdm630", 1, "Eastron", "Eastron SDM630", "S4")


def test_main_device_and_names() -> None:
    assert main_device([BATTERY, METER, INVERTER]) is INVERTER
    assert main_device([BATTERY, METER]) is METER
    assert main_device([BATTERY]) is BATTERY
    assert device_name(INVERTER) == "GoodWe GW10K-ET"
    assert device_name(METER) == "Eastron SDM630"  # the model already names the maker
    # A SunSpec battery reports its inverter's model: the role keeps the two apart.
    assert device_name(BATTERY, [SUNSPEC_INVERTER, BATTERY]) == "SunSpecSim INV battery"
    assert device_name(SUNSPEC_INVERTER, [SUNSPEC_INVERTER, BATTERY]) == "SunSpecSim INV"


def test_inverter_of() -> None:
    """The inverter named by via_serial, else the endpoint's only inverter, else none."""
    assert inverter_of(BATTERY, [INVERTER, SUNSPEC_INVERTER, BATTERY]) is SUNSPEC_INVERTER
    assert inverter_of(METER, [INVERTER, METER]) is INVERTER
    assert inverter_of(METER, [INVERTER, SUNSPEC_INVERTER, METER]) is None
