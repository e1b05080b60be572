"""Modbus requests and the replies that answer them, independent of framing (MBAP, RTU, AA55).

A ``Request`` carries its PDU and what a reply to it must look like: its length and the bytes it starts
with (function code and byte count for reads, the echo for writes). The framings search received bytes
for exactly that, so a frame that answers anything else is never mistaken for the answer.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..registers import RegisterKind

READ_HOLDING = 3
READ_INPUT = 4
WRITE_SINGLE = 6
WRITE_MULTIPLE = 16
FUNCTION_CODES = {RegisterKind.HOLDING: READ_HOLDING, RegisterKind.INPUT: READ_INPUT}
MAX_READ = 125  # registers per read (the PDU limit of 253 bytes)
MAX_WRITE = 123  # registers per FC16 write
EXCEPTION_BIT = 0x80
EXCEPTION_PDU_LENGTH = 2  # function | 0x80, exception code


@dataclass(frozen=True, slots=True)
class Request:
    """One request PDU for one unit, and the shape of its normal reply PDU."""

    unit_id: int
    pdu: bytes
    reply_length: int  # bytes of the normal reply PDU
    reply_prefix: bytes  # the normal reply PDU starts with these bytes

    @property
    def function(self) -> int:
        """The function code."""
        return self.pdu[0]

    @property
    def exception_prefix(self) -> bytes:
        """What an exception reply PDU to this request starts with."""
        return bytes((self.pdu[0] | EXCEPTION_BIT,))

    def answered_by(self, pdu: bytes) -> bool:
        """True when ``pdu`` (a complete reply PDU of this unit) answers this request."""
        if len(pdu) == EXCEPTION_PDU_LENGTH and pdu[0] == self.pdu[0] | EXCEPTION_BIT:
            return True
        return len(pdu) == self.reply_length and pdu.startswith(self.reply_prefix)


def _check_unit(unit_id: int) -> None:
    if not 0 <= unit_id <= 255:
        raise ValueError(f"unit id must be 0..255, not {unit_id}")


def _check_address(address: int, count: int) -> None:
    if address < 0 or address + count > 0x10000:
        raise ValueError(f"registers {address}..{address + count - 1} are outside 0..65535")


def read_request(unit_id: int, kind: RegisterKind, address: int, count: int) -> Request:
    """FC03/FC04: read ``count`` (1..125) registers. Raises ValueError for impossible arguments."""
    _check_unit(unit_id)
    if not 1 <= count <= MAX_READ:
        raise ValueError(f"count must be 1..{MAX_READ}")
    _check_address(address, count)
    function = FUNCTION_CODES[kind]
    return Request(
        unit_id,
        struct.pack(">BHH", function, address, count),
        2 + 2 * count,
        bytes((function, 2 * count)),
    )


def write_single_request(unit_id: int, address: int, value: int) -> Request:
    """FC06: write one holding register; the reply echoes the request."""
    _check_unit(unit_id)
    _check_address(address, 1)
    if not 0 <= value <= 0xFFFF:
        raise ValueError(f"a register holds 0..65535, not {value}")
    pdu = struct.pack(">BHH", WRITE_SINGLE, address, value)
    return Request(unit_id, pdu, len(pdu), pdu)


def write_multiple_request(unit_id: int, address: int, values: list[int]) -> Request:
    """FC16: write 1..123 holding registers; the reply echoes address and quantity."""
    _check_unit(unit_id)
    count = len(values)
    if not 1 <= count <= MAX_WRITE:
        raise ValueError(f"1..{MAX_WRITE} registers per write, not {count}")
    _check_address(address, count)
    if not all(0 <= value <= 0xFFFF for value in values):
        raise ValueError("a register holds 0..65535")
    head = struct.pack(">BHH", WRITE_MULTIPLE, address, count)
    return Request(unit_id, head + struct.pack(f">B{count}H", 2 * count, *values), len(head), head)


def registers(pdu: bytes) -> list[int]:
    """The registers of a read reply PDU (function, byte count, data)."""
    return list(struct.unpack_from(f">{pdu[1] // 2}H", pdu, 2))
