"""Transport-level faults a simulated endpoint can inject (device-level faults live in PlantState.faults)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class TransportFaults:
    """What the server does wrong. All off by default; tests and scripts/simulate switch them."""

    offline: bool = False  # refuse TCP connections / ignore UDP datagrams (device switched off)
    asleep: bool = False  # like offline, but set by the plant: a PV-only inverter sleeps at night
    drop_connection: bool = False  # accept, read the request, then close without an answer
    delay: float = 0.0  # seconds before each answer (past the client timeout = timeout)
    exception_code: int | None = None  # answer every read with this Modbus exception
    garbage: bool = False  # answer with bytes that are no valid frame
    truncate: bool = False  # answer with the first half of a valid frame

    @property
    def silent(self) -> bool:
        """True when the device does not answer at all."""
        return self.offline or self.asleep

    def clear(self) -> None:
        """Back to a healthy device."""
        self.offline = self.asleep = self.drop_connection = self.garbage = self.truncate = False
        self.delay = 0.0
        self.exception_code = None


# Device-level faults: names in PlantState.faults that each simulated device renders in its own
# registers (fault bits, alarm words, status, sentinel values) the way the real device would.
DEVICE_FAULTS: dict[str, str] = {
    "over_temperature": "inverter over-temperature fault bit",
    "ground_fault": "insulation / ground fault bit",
    "grid_over_voltage": "AC over-voltage fault bit",
    "grid_loss": "the grid is gone (GoodWe utility loss)",
    "bms_alarm": "battery BMS alarm (over-temperature)",
    "meter_comm_lost": "inverter lost its grid meter",
    "sentinel_values": "every measurement register shows its 'not implemented' value",
}
