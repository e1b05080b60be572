"""The uplink's input from the plant monitor: each fresh device snapshot as one ``UplinkSample``, and
the plant's own values (``PlantSnapshot.totals``: house load, net grid and battery, today's production
and self-consumption, installed power) as one more, of role ``PLANT_ROLE``.

Only values read in this refresh count (power means are built from samples); a held reading after a
failed poll or a night stand-in is no sample. Energy totals are the guarded totals every other consumer
sees.
"""

from __future__ import annotations

from datetime import datetime

from ..snapshot import PlantSnapshot, Source
from .messages import PLANT_ROLE, UplinkSample


def samples(snapshot: PlantSnapshot, at: datetime | None = None) -> list[UplinkSample]:
    """The snapshot's fresh devices as samples taken ``at`` (default: the snapshot's time)."""
    when = at or snapshot.taken_at
    found = [
        UplinkSample(
            device_serial=device.identity.serial,
            role=str(device.identity.role),
            manufacturer=device.identity.manufacturer,
            model=device.identity.model,
            at=when,
            values={str(quantity): sample.value for quantity, sample in device.values.items()},
            status=str(device.status),
            faults=sorted({fault.code for fault in device.faults or ()}),
            instance=device.identity.instance,
        )
        for device in snapshot.devices.values()
        if device.fresh
    ]
    plant = {
        str(quantity): sample.value
        for quantity, sample in snapshot.totals.items()
        if sample.source is Source.FRESH
    }
    if found and any(value is not None for value in plant.values()):
        found.append(
            UplinkSample(
                device_serial=PLANT_ROLE,
                role=PLANT_ROLE,
                manufacturer="",
                model="",
                at=when,
                values=plant,
                status=str(snapshot.status),
            )
        )
    return found
