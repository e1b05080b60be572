"""Modbus RTU framing pieces: the CRC, request frames (also sent by GoodWe UDP and discovery pings)."""

from __future__ import annotations

from ..registers import RegisterKind
from .pdu import read_request


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16(data: bytes | bytearray | memoryview) -> int:
    """Modbus CRC-16 (polynomial 0xA001, initial 0xFFFF), table-driven: one step per byte."""
    crc = 0xFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def crc_ok(frame: bytes | bytearray | memoryview) -> bool:
    """True when the frame's last two bytes are the CRC of the rest (low byte first)."""
    return len(frame) >= 3 and crc16(frame[:-2]) == frame[-2] | frame[-1] << 8


def with_crc(body: bytes) -> bytes:
    """Append the CRC, low byte first as RTU sends it."""
    return body + crc16(body).to_bytes(2, "little")


def rtu_frame(unit_id: int, pdu: bytes) -> bytes:
    """An RTU frame: unit, PDU, CRC."""
    return with_crc(bytes((unit_id,)) + pdu)


def build_read_request(unit_id: int, kind: RegisterKind, address: int, count: int) -> bytes:
    """An RTU read request frame."""
    return rtu_frame(unit_id, read_request(unit_id, kind, address, count).pdu)
