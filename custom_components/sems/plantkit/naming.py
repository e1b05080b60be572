"""How a plant's devices are named and related, the same for every consumer (HA, CLI, uplink).

Names never repeat themselves and each device shows only what is its own:

- an inverter is named by its maker and model ("GoodWe GW10K-ET");
- a battery or meter without an identity of its own (it has no serial number but its inverter's, as a
  GoodWe battery and smart meter, or a SunSpec battery sharing the inverter's Common model) is named
  after its inverter, so two plants are told apart: "GoodWe GW10K-ET battery", "GoodWe GW10K-ET grid
  meter". One with its own identity is named by its own maker and model ("Eastron SDM630 grid meter");
- a meter's name says where it measures (``DeviceIdentity.measures``): grid, production, consumption or
  battery;
- those names come from translation keys (``DeviceName.key``, English forms in ``NAME_TEMPLATES``);
- an entity on a battery or a grid meter drops the word its device's name already says:
  "GoodWe GW10K-ET battery Discharge energy", not "... battery Battery discharge energy"
  (``entity_key``);
- the serial number and model shown for a device are its own, or none (``own_serial``, ``own_model``).

Keys (``DeviceIdentity.key``) and so unique ids never change with the names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from .model import DeviceIdentity, MeterLocation, Role, is_placeholder_serial

# The English form of each device name's translation key; {name} is the maker and model of the device,
# or of its inverter. translations/en.json says exactly the same (a test compares them).
NAME_TEMPLATES: Final[Mapping[str, str]] = {
    "battery": "{name} battery",
    "grid_meter": "{name} grid meter",
    "production_meter": "{name} production meter",
    "consumption_meter": "{name} consumption meter",
    "battery_meter": "{name} battery meter",
    "plant": "{name} plant",  # the plant as a whole; {name} is the entry's title
}

# Entity keys that would repeat what their device's name says, and the key naming them on such a
# device: on a battery, and on a meter at a battery, "Battery power" is "Power"; on a grid meter "Grid
# import energy" is "Import energy". translations/en.json names both keys.
CONTEXT_KEYS: Final[Mapping[str, Mapping[str, str]]] = {
    "battery": {
        "battery_power": "power",
        "battery_voltage": "voltage",
        "battery_current": "current",
        "battery_temperature": "temperature",
        "battery_charge_energy_total": "charge_energy_total",
        "battery_discharge_energy_total": "discharge_energy_total",
        "battery_charge_energy_calculated": "charge_energy_calculated",
        "battery_discharge_energy_calculated": "discharge_energy_calculated",
        "battery_problem": "bms_problem",  # the BMS' own faults ("Problem" is every fault)
    },
    "grid": {
        "grid_power": "net_power",
        "grid_frequency": "frequency",
        "grid_voltage_l1": "voltage_l1",
        "grid_voltage_l2": "voltage_l2",
        "grid_voltage_l3": "voltage_l3",
        "grid_current_l1": "current_l1",
        "grid_current_l2": "current_l2",
        "grid_current_l3": "current_l3",
        "grid_power_l1": "power_l1",
        "grid_power_l2": "power_l2",
        "grid_power_l3": "power_l3",
        "grid_import_energy_total": "import_energy_total",
        "grid_export_energy_total": "export_energy_total",
        "grid_import_energy_calculated": "import_energy_calculated",
        "grid_export_energy_calculated": "export_energy_calculated",
        "grid_problem": "supply_problem",  # faults of the supply the meter sees
    },
}


@dataclass(frozen=True, slots=True)
class DeviceName:
    """A device's name: English text, and the translation key and placeholders it was made from (key
    None: the text is a proper name, the maker and model, the same in every language)."""

    text: str
    key: str | None = None
    placeholders: Mapping[str, str] = field(default_factory=dict)


def main_device(devices: Sequence[DeviceIdentity]) -> DeviceIdentity:
    """The device that names an endpoint: the inverter, else a meter, else whatever was found first."""
    for role in (Role.INVERTER, Role.METER):
        for device in devices:
            if device.role is role:
                return device
    return devices[0]


def inverter_of(device: DeviceIdentity, plant: Sequence[DeviceIdentity]) -> DeviceIdentity | None:
    """The inverter a battery or meter belongs to: the one named by ``via_serial``, else the only one.

    A SunSpec meter on its own unit id has no ``via_serial``, but an endpoint with exactly one inverter
    is one plant, so the meter belongs to it. None for an inverter.
    """
    if device.role is Role.INVERTER:
        return None
    inverters = [d for d in plant if d.role is Role.INVERTER]
    for inverter in inverters:
        if inverter.serial == device.via_serial:
            return inverter
    return inverters[0] if len(inverters) == 1 else None


def own_serial(device: DeviceIdentity, plant: Sequence[DeviceIdentity] = ()) -> str | None:
    """The device's own serial number; None when it reports none (its key then carries its inverter's
    serial or a stand-in made from its unit id, which must not be shown as its serial)."""
    if is_placeholder_serial(device):
        return None
    if device.role is not Role.INVERTER:
        inverter = inverter_of(device, plant)
        if device.serial == device.via_serial or (inverter is not None and device.serial == inverter.serial):
            return None
    return device.serial


def own_model(device: DeviceIdentity, plant: Sequence[DeviceIdentity] = ()) -> str | None:
    """The device's own model; None for a battery or meter that reports its inverter's (a SunSpec battery
    in the inverter's Common model), or the inverter's with its role appended (GoodWe's BMS block)."""
    inverter = inverter_of(device, plant)
    if inverter is not None and device.model in (inverter.model, f"{inverter.model} {device.role}"):
        return None
    return device.model


def maker_and_model(device: DeviceIdentity) -> str:
    """The model, prefixed by the manufacturer unless the model already names it."""
    if device.model.casefold().startswith(device.manufacturer.casefold()):
        return device.model
    return f"{device.manufacturer} {device.model}"


def name_of(device: DeviceIdentity, plant: Sequence[DeviceIdentity] = ()) -> DeviceName:
    """The device's name (see the module docstring); ``plant`` is every device of its endpoint."""
    inverter = inverter_of(device, plant)
    if inverter is not None and own_serial(device, plant) is None:
        base = maker_and_model(inverter)  # known only through its inverter: named after it
    else:
        base = maker_and_model(device)
    if device.role is Role.INVERTER:
        return DeviceName(base)
    if device.role is Role.BATTERY:
        if "battery" in base.casefold():  # "BYD Battery-Box": saying it again would repeat it
            return DeviceName(base)
        key = "battery"
    else:
        key = f"{device.measures or MeterLocation.GRID}_meter"
    return DeviceName(NAME_TEMPLATES[key].format(name=base), key, {"name": base})


def device_name(device: DeviceIdentity, plant: Sequence[DeviceIdentity] = ()) -> str:
    """The device's name in English (CLI, logs, entry titles)."""
    return name_of(device, plant).text


def plant_title(devices: Sequence[DeviceIdentity]) -> str:
    """An endpoint's title: every device that does not belong to an inverter, by maker and model, a
    maker said once ("GoodWe GW10K-ET" for an inverter with its battery and meter, "Eastron SDM630 +
    SDM120" for two meters behind a gateway)."""
    top = [d for d in devices if d.role is Role.INVERTER or inverter_of(d, devices) is None] or [devices[0]]
    names = [maker_and_model(top[0])]
    maker = f"{top[0].manufacturer} "
    names += [maker_and_model(device).removeprefix(maker) for device in top[1:]]
    return " + ".join(names)


def entity_context(device: DeviceIdentity) -> str | None:
    """What the device's name already says that an entity's name must not repeat: "battery" for a
    battery or a meter at a battery, "grid" for a grid meter, else None."""
    if device.role is Role.BATTERY or device.measures is MeterLocation.BATTERY:
        return "battery"
    if device.measures is MeterLocation.GRID:
        return "grid"
    return None


def entity_key(key: str, device: DeviceIdentity) -> str:
    """The translation key naming entity ``key`` on ``device`` (``CONTEXT_KEYS``); the key itself
    where its name repeats nothing."""
    context = entity_context(device)
    return key if context is None else CONTEXT_KEYS[context].get(key, key)
