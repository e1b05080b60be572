"""Names and relations of a plant's devices (plantkit.naming)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custom_components.sems.plantkit.model import DeviceIdentity, MeterLocation, Role
from custom_components.sems.plantkit.naming import (
    CONTEXT_KEYS,
    NAME_TEMPLATES,
    DeviceName,
    device_name,
    entity_key,
    inverter_of,
    main_device,
    name_of,
    own_model,
    own_serial,
    plant_title,
)

INVERTER = DeviceIdentity(Role.INVERTER, "goodwe_et", 247, "GoodWe", "GW10K-ET", "S1", "1.0")
# GoodWe's battery and meter have no serial of their own: the profile gives them the inverter's.
GOODWE_BATTERY = DeviceIdentity(
    Role.BATTERY, "goodwe_et_battery", 247, "GoodWe", "GW10K-ET battery", "S1", via_serial="S1"
)
GOODWE_METER = DeviceIdentity(
    Role.METER,
    "goodwe_et_meter",
    247,
    "GoodWe",
    "Smart meter (three phase, 4 wire)",
    "S1",
    via_serial="S1",
    location=MeterLocation.GRID,
)
GOODWE_PLANT = [INVERTER, GOODWE_BATTERY, GOODWE_METER]
SUNSPEC_INVERTER = DeviceIdentity(Role.INVERTER, "sunspec_inverter", 1, "SunSpecSim", "INV", "S3")
# A SunSpec battery in the inverter's Common model reports the inverter's model and serial.
SUNSPEC_BATTERY = DeviceIdentity(
    Role.BATTERY, "sunspec_battery", 1, "SunSpecSim", "INV", "S3", via_serial="S3"
)
SUNSPEC_METER = DeviceIdentity(Role.METER, "sunspec_meter", 2, "SunSpecSim", "SIM-METER-3P", "S5")
METER = DeviceIdentity(Role.METER, "eastron_sdm630", 1, "Eastron", "Eastron SDM630", "S4")
SDM120 = DeviceIdentity(Role.METER, "eastron_sdm120", 2, "Eastron", "SDM120", "sdm-unit2")  # no serial


def test_main_device() -> None:
    assert main_device([GOODWE_BATTERY, METER, INVERTER]) is INVERTER
    assert main_device([GOODWE_BATTERY, METER]) is METER
    assert main_device([GOODWE_BATTERY]) is GOODWE_BATTERY


def test_names_do_not_repeat_and_tell_plants_apart() -> None:
    """A battery or meter without an identity of its own is named after its inverter (so two plants'
    meters differ), its role or location said once; proper names are not translated."""
    assert name_of(INVERTER, GOODWE_PLANT) == DeviceName("GoodWe GW10K-ET")
    assert name_of(GOODWE_BATTERY, GOODWE_PLANT) == DeviceName(
        "GoodWe GW10K-ET battery", "battery", {"name": "GoodWe GW10K-ET"}
    )
    assert name_of(GOODWE_METER, GOODWE_PLANT) == DeviceName(
        "GoodWe GW10K-ET grid meter", "grid_meter", {"name": "GoodWe GW10K-ET"}
    )
    other_plant = [
        DeviceIdentity(Role.INVERTER, "goodwe_et", 247, "GoodWe", "GW5K-ET", "S9"),
        GOODWE_METER.__class__(**{**_fields(GOODWE_METER), "serial": "S9", "via_serial": "S9"}),
    ]
    assert device_name(other_plant[1], other_plant) == "GoodWe GW5K-ET grid meter"
    assert device_name(SUNSPEC_BATTERY, [SUNSPEC_INVERTER, SUNSPEC_BATTERY]) == "SunSpecSim INV battery"
    assert device_name(SUNSPEC_INVERTER, [SUNSPEC_INVERTER, SUNSPEC_BATTERY]) == "SunSpecSim INV"
    # A meter with its own serial is named by its own maker and model; its location is always said.
    assert (
        device_name(SUNSPEC_METER, [SUNSPEC_INVERTER, SUNSPEC_METER]) == "SunSpecSim SIM-METER-3P grid meter"
    )
    assert device_name(METER) == "Eastron SDM630 grid meter"  # the model already names the maker
    for location in MeterLocation:
        meter = DeviceIdentity(Role.METER, "sunspec_meter", 1, "SolarEdge", "WND-3Y", "M1", location=location)
        assert device_name(meter) == f"SolarEdge WND-3Y {location} meter"
    byd = DeviceIdentity(Role.BATTERY, "sunspec_battery", 1, "BYD", "Battery-Box HVS", "B1")
    assert name_of(byd) == DeviceName("BYD Battery-Box HVS")


def _fields(identity: DeviceIdentity) -> dict[str, object]:
    return {name: getattr(identity, name) for name in identity.__dataclass_fields__}


def test_each_device_shows_only_its_own_serial_and_model() -> None:
    assert own_serial(INVERTER, GOODWE_PLANT) == "S1"
    assert own_serial(GOODWE_BATTERY, GOODWE_PLANT) is None
    assert own_serial(GOODWE_METER, GOODWE_PLANT) is None
    assert own_serial(SUNSPEC_BATTERY, [SUNSPEC_INVERTER, SUNSPEC_BATTERY]) is None
    assert own_serial(SUNSPEC_METER, [SUNSPEC_INVERTER, SUNSPEC_METER]) == "S5"
    assert own_serial(SDM120) is None  # a stand-in made from the unit id
    assert own_serial(METER) == "S4"
    assert own_model(GOODWE_BATTERY, GOODWE_PLANT) is None
    assert own_model(GOODWE_METER, GOODWE_PLANT) == "Smart meter (three phase, 4 wire)"
    assert own_model(SUNSPEC_BATTERY, [SUNSPEC_INVERTER, SUNSPEC_BATTERY]) is None
    assert own_model(INVERTER, GOODWE_PLANT) == "GW10K-ET"


def test_plant_title_covers_every_device_of_its_own() -> None:
    assert plant_title(GOODWE_PLANT) == "GoodWe GW10K-ET"
    assert plant_title([METER, SDM120]) == "Eastron SDM630 + SDM120"
    assert plant_title([SUNSPEC_INVERTER, SUNSPEC_BATTERY, SUNSPEC_METER]) == "SunSpecSim INV"
    assert plant_title([INVERTER, SUNSPEC_INVERTER]) == "GoodWe GW10K-ET + SunSpecSim INV"


@pytest.mark.parametrize(
    ("key", "device", "expected"),
    [
        ("battery_discharge_energy_total", GOODWE_BATTERY, "discharge_energy_total"),
        ("battery_power", GOODWE_BATTERY, "power"),
        ("battery_soc", GOODWE_BATTERY, "battery_soc"),  # "State of charge" repeats nothing
        ("battery_problem", GOODWE_BATTERY, "bms_problem"),
        ("grid_import_energy_total", GOODWE_METER, "import_energy_total"),
        ("grid_problem", GOODWE_METER, "supply_problem"),
        ("grid_power", INVERTER, "grid_power"),  # an inverter's name says nothing about the grid
        ("battery_power", INVERTER, "battery_power"),
        ("ac_power", METER.__class__(**{**_fields(METER), "location": MeterLocation.PRODUCTION}), "ac_power"),
    ],
)
def test_entity_keys_drop_what_the_device_name_says(key: str, device: DeviceIdentity, expected: str) -> None:
    assert entity_key(key, device) == expected


def test_english_names_are_the_translations() -> None:
    """translations/en.json names the devices exactly as the library does in English."""
    en = json.loads(
        (Path(__file__).parents[2] / "custom_components/sems/translations/en.json").read_text(
            encoding="utf-8"
        )
    )
    assert {key: value["name"] for key, value in en["device"].items()} == dict(NAME_TEMPLATES)
    for keys in CONTEXT_KEYS.values():
        for renamed in keys.values():
            platform = "binary_sensor" if renamed.endswith("_problem") else "sensor"
            assert renamed in en["entity"][platform], renamed


def test_inverter_of() -> None:
    """The inverter named by via_serial, else the endpoint's only inverter, else none."""
    assert inverter_of(SUNSPEC_BATTERY, [INVERTER, SUNSPEC_INVERTER, SUNSPEC_BATTERY]) is SUNSPEC_INVERTER
    assert inverter_of(METER, [INVERTER, METER]) is INVERTER
    assert inverter_of(METER, [INVERTER, SUNSPEC_INVERTER, METER]) is None
    assert inverter_of(INVERTER, [INVERTER]) is None
