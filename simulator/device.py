"""What a simulated device is: a unit id with a register image, re-rendered from the plant state."""

from __future__ import annotations

from abc import ABC, abstractmethod

from .image import RegisterImage
from .physics import PlantState


class SimDevice(ABC):
    """A simulated device. ``render`` writes the current plant state into its register image."""

    name: str  # short name used by scripts/simulate and the tests, e.g. "goodwe_et"
    unit_id: int
    serial: str
    # Seconds after a client connects (Modbus TCP, RTU over TCP) during which the device drops every
    # request unanswered, as Huawei's dongles do; a server takes the longest of its devices'.
    deaf_after_connect: float = 0.0

    def __init__(self) -> None:
        self.image = RegisterImage()

    @abstractmethod
    def render(self, state: PlantState) -> None:
        """Refresh every register from the plant state (including injected faults in ``state.faults``)."""

    def command(self, state: PlantState) -> None:  # noqa: B027 - devices without controls do nothing
        """Set ``state.command`` from the device's control registers (after a client wrote them)."""
