"""Small helpers shared by the library tests (not a test module)."""

from __future__ import annotations

from custom_components.sems.plantkit.model import DeviceReading


def raw_codes(reading: DeviceReading) -> set[str]:
    """A reading's faults as the raw ``"<register>:<bit>"`` codes the device reported."""
    return {str(fault.raw) for fault in reading.faults}
