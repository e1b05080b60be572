"""How a plant's devices are named and related, the same for every consumer (HA, CLI, uplink)."""

from __future__ import annotations

from collections.abc import Sequence

from .model import DeviceIdentity, Role


def main_device(devices: Sequence[DeviceIdentity]) -> DeviceIdentity:
    """The device that names an endpoint: the inverter, else a meter, else whatever was found first."""
    for role in (Role.INVERTER, Role.METER):
        for device in devices:
            if device.role is role:
                return device
    return devices[0]


def device_name(device: DeviceIdentity, plant: Sequence[DeviceIdentity] = ()) -> str:
    """The model, prefixed by the manufacturer unless the model already names it.

    A battery or meter that would share its name with another device of the plant (SunSpec batteries
    report the inverter's model) gets its role appended.
    """
    name = _base_name(device)
    if device.role is not Role.INVERTER and any(
        other.key != device.key and _base_name(other) == name for other in plant
    ):
        name = f"{name} {device.role}"
    return name


def _base_name(device: DeviceIdentity) -> str:
    if device.model.casefold().startswith(device.manufacturer.casefold()):
        return device.model
    return f"{device.manufacturer} {device.model}"


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
