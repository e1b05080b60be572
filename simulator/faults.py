"""Transport-level faults a simulated endpoint can inject (device-level faults live in PlantState.faults)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class TransportFaults:
    """What the server does wrong. All off by default; tests and scripts/simulate switch them."""

    offline: bool = False  # refuse TCP connections / ignore UDP datagrams (device switched off)
    drop_connection: bool = False  # accept, read the request, then close without an answer
    delay: float = 0.0  # seconds before each answer (past the client timeout = timeout)
    exception_code: int | None = None  # answer every read with this Modbus exception
    garbage: bool = False  # answer with bytes that are no valid frame
    truncate: bool = False  # answer with the first half of a valid frame

    def clear(self) -> None:
        """Back to a healthy device."""
        self.offline = self.drop_connection = self.garbage = self.truncate = False
        self.delay = 0.0
        self.exception_code = None
