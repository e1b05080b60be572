"""Transport-level faults a simulated endpoint can inject (device-level faults live in PlantState.faults)."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

FOREIGN_DELAY = 0.02  # a shared dongle's own reply follows the other client's this much later (seconds)


@dataclass(slots=True)
class TransportFaults:
    """What the server does wrong. All off by default; tests and scripts/simulate switch them.

    The rates are probabilities per reply (0..1), drawn from the server's seeded random generator.
    """

    offline: bool = False  # refuse TCP connections / ignore UDP datagrams (device switched off)
    asleep: bool = False  # like offline, but set by the plant: a PV-only inverter sleeps at night
    drop_connection: bool = False  # accept, read the request, then close without an answer
    delay: float = 0.0  # seconds before each answer (past the client timeout = timeout)
    exception_code: int | None = None  # answer every read and write with this Modbus exception
    refuse_writes: int | None = None  # answer every write with this Modbus exception (reads work)
    ignore_writes: bool = False  # echo writes as if taken, but keep the registers as they were
    garbage: bool = False  # answer with bytes that are no valid frame
    truncate: bool = False  # answer with the first half of a valid frame
    # A lossy or shared dongle (every framing; meant for GoodWe UDP):
    drop: float = 0.0  # the reply is lost
    duplicate: float = 0.0  # the reply comes again, late (``duplicate_delay``)
    duplicate_delay: float = 0.3  # seconds after the reply
    foreign: float = 0.0  # another client's reply (same unit and function, another length) comes first
    bad_crc: float = 0.0  # the reply's CRC is damaged (RTU and UDP framings)
    line_noise: int = 0  # this many random bytes before every reply (an RTU gateway on a noisy bus)
    close_unknown_units: bool = False  # TCP gateways: close the connection when asked for an absent unit

    @property
    def silent(self) -> bool:
        """True when the device does not answer at all."""
        return self.offline or self.asleep

    def clear(self) -> None:
        """Back to a healthy device."""
        healthy = TransportFaults()
        for field in fields(self):
            setattr(self, field.name, getattr(healthy, field.name))

    def make_lossy(self) -> None:
        """A Wi-Fi dongle on a bad day, shared with another client: the ``lossy`` preset."""
        self.drop, self.duplicate, self.foreign, self.bad_crc = LOSSY_RATES

    def switch(self, fault: str, value: object = True) -> None:
        """Set one fault by name from text or JSON ("on"/"off", seconds, a code, a rate, bytes), as the
        control API and ``scripts/simulate fault`` do; "clear" heals, "lossy" on/off is the preset.
        Raises ValueError for an unknown fault or a bad value."""
        on = value.lower() in ("1", "true", "on", "yes") if isinstance(value, str) else bool(value)
        if fault == "clear":
            self.clear()
        elif fault == "lossy":
            if on:
                self.make_lossy()
            else:
                for rate in RATES:
                    setattr(self, rate, 0.0)
        elif fault not in _FIELD_TYPES or fault in ("asleep",):
            raise ValueError(f"unknown fault {fault}")
        else:
            try:
                setattr(self, fault, _parse(fault, _FIELD_TYPES[fault], value, on))
            except (TypeError, ValueError) as err:
                raise ValueError(f"bad value for {fault}: {err}") from err


RATES = ("drop", "duplicate", "foreign", "bad_crc")  # probabilities per reply
LOSSY_RATES = (0.1, 0.1, 0.1, 0.05)  # drop, duplicate, foreign, bad_crc
_FIELD_TYPES = {field.name: str(field.type) for field in fields(TransportFaults)}


def _parse(fault: str, kind: str, value: object, on: bool) -> object:
    if kind == "bool":
        return on
    if fault in ("exception_code", "refuse_writes") and value in (None, "", "none", "off"):
        return None
    number = float(value) if isinstance(value, str | int | float) else float("nan")
    if fault in RATES and not 0.0 <= number <= 1.0:
        raise ValueError("a probability is 0..1")
    if kind == "float":
        if not number >= 0:
            raise ValueError("must be >= 0")
        return number
    if not number.is_integer() or number < 0:
        raise ValueError("must be a whole number >= 0")
    return int(number)


@dataclass(slots=True)
class ForeignFrameFirst:
    """A shared dongle (field cases' ``foreign_frame_first`` quirk): the first ``times`` reads starting
    within the 125 registers from ``address`` get, first, a well-formed reply to another client's read of
    ``foreign`` = (start, count), same unit and function; the real reply follows ``FOREIGN_DELAY`` later."""

    address: int
    foreign: tuple[int, int]
    times: int

    def applies(self, address: int) -> bool:
        """True (and counted) when a read at ``address`` gets the foreign frame first."""
        if self.times <= 0 or not self.address <= address < self.address + 125:
            return False
        self.times -= 1
        return True


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


# The plant's energy counters (PlantState fields, kWh) a device can show wrongly: ``CounterFault``.
ENERGY_COUNTERS: tuple[str, ...] = (
    "pv_energy_total",
    "pv_energy_today",
    "ac_energy_total",
    "grid_import_energy_total",
    "grid_export_energy_total",
    "battery_charge_energy_total",
    "battery_discharge_energy_total",
    "load_energy_total",
)
DAILY_COUNTERS: tuple[str, ...] = ("pv_energy_today",)


@dataclass(slots=True)
class CounterFault:
    """What one device shows for one of the plant's energy counters (kWh) instead of the plant's value.

    ``shown(true) = fixed`` when ``fixed`` is set, else ``(true + offset + spike) % modulus`` in whole
    ``step`` s:
    - ``offset``: the device's own counter differs from the plant's energy by this much: set once, it
      follows the energy (a reset counts from 0 again: ``offset = -true``; a replacement device starts at its
      factory value; a counter started just below its width wraps);
    - ``modulus``: the counter's width in kWh (2**32 steps), None if it never wraps;
    - ``step``: the counter's resolution (kWh): it counts whole steps (needed with a modulus, where a
      rounded value could be the modulus itself);
    - ``fixed``: the device shows this instead, while set (0: a boot; an earlier value: a stale cache);
    - ``spike``: added while set (a torn read: 65,536 counter steps, when the high word is newer).
    A daily counter's offset is cleared when the plant's day changes: the device restarts it from 0.
    """

    offset: float = 0.0
    modulus: float | None = None
    fixed: float | None = None
    spike: float = 0.0
    step: float | None = None

    def shown(self, true: float) -> float:
        """The value the device shows when the plant's counter is ``true`` (kWh)."""
        if self.fixed is not None:
            return self.fixed
        value = true + self.offset + self.spike
        if self.step is not None:
            value = math.floor(value / self.step + 1e-9) * self.step
        return value % self.modulus if self.modulus is not None else value

    def reset(self, true: float, start: float = 0.0) -> None:
        """The device's counter restarts from ``start`` (0: reset; a factory value: a replacement)."""
        self.offset = start - true
        self.fixed, self.spike = None, 0.0
