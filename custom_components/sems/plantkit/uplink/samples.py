"""The uplink's input from the plant monitor: each fresh device snapshot as one ``UplinkSample``.

Only devices read in this refresh count (power means are built from samples); a held reading after a
failed poll or a night stand-in is no sample. Energy totals are the guarded totals every other consumer
sees.
"""

from __future__ import annotations

from datetime import datetime

from ..snapshot import PlantSnapshot
from .messages import UplinkSample


def samples(snapshot: PlantSnapshot, at: datetime | None = None) -> list[UplinkSample]:
    """The snapshot's fresh devices as samples taken ``at`` (default: the snapshot's time)."""
    when = at or snapshot.taken_at
    return [
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
