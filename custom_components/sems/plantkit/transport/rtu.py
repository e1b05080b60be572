"""Modbus RTU frames for register reads (used by the GoodWe UDP framing)."""

from __future__ import annotations

from ..exceptions import ModbusExceptionError, PlantProtocolError
from ..registers import RegisterKind

FUNCTION_CODES = {RegisterKind.HOLDING: 3, RegisterKind.INPUT: 4}


def crc16(data: bytes) -> int:
    """Modbus CRC-16 (polynomial 0xA001, initial 0xFFFF)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def with_crc(body: bytes) -> bytes:
    """Append the CRC, low byte first as RTU sends it."""
    return body + crc16(body).to_bytes(2, "little")


def build_read_request(unit_id: int, kind: RegisterKind, address: int, count: int) -> bytes:
    """An RTU read request frame."""
    return with_crc(
        bytes([unit_id, FUNCTION_CODES[kind]]) + address.to_bytes(2, "big") + count.to_bytes(2, "big")
    )


def expected_length(frame: bytes) -> int | None:
    """Total length of the RTU response starting at ``frame``, or None while too short to tell."""
    if len(frame) < 3:
        return None
    if frame[1] & 0x80:
        return 5  # unit, fc|0x80, code, crc
    return 3 + frame[2] + 2


def parse_read_response(frame: bytes, unit_id: int, kind: RegisterKind, count: int) -> list[int]:
    """Validate an RTU read response and return its registers."""
    if len(frame) < 5 or crc16(frame[:-2]) != int.from_bytes(frame[-2:], "little"):
        raise PlantProtocolError("bad CRC or truncated RTU frame")
    function = FUNCTION_CODES[kind]
    if frame[0] != unit_id or frame[1] & 0x7F != function:
        raise PlantProtocolError(f"reply for unit {frame[0]} function {frame[1]} does not match the request")
    if frame[1] & 0x80:
        raise ModbusExceptionError(frame[2])
    if frame[2] != 2 * count or len(frame) != 5 + 2 * count:
        raise PlantProtocolError(f"expected {count} registers, got {frame[2] // 2}")
    data = frame[3:-2]
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
