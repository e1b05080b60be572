"""Byte-stream framings (Modbus TCP's MBAP, RTU): wrap a request, find its reply among whatever arrives.

A reply is searched for, not parsed from the front: the framing knows exactly which bytes an answer to the
outstanding request starts with (MBAP: transaction id, protocol id 0, length, unit, function, byte count;
RTU: unit, function, byte count, then the CRC), so stale frames, other transactions, other units,
other functions and line noise are skipped without any resynchronisation state. The work per call is
bounded (a C-level search per pattern and at most ``MAX_CRC_CHECKS`` CRC checks), so no frame content
can hold the event loop.
"""

from __future__ import annotations

import struct
from abc import ABC, abstractmethod
from typing import NamedTuple

from .pdu import EXCEPTION_PDU_LENGTH, Request
from .rtu import crc_ok, rtu_frame

MAX_CRC_CHECKS = 32  # candidate frames checked per call; more is line noise crafted to look like frames
_MBAP_HEADER = struct.Struct(">HHHB")  # transaction id, protocol id, length, unit id
MBAP_HEADER_LENGTH = _MBAP_HEADER.size


class _Pattern(NamedTuple):  # a named tuple: two are made per request, a frozen dataclass costs more
    """A frame that answers the request starts with ``head`` and is ``length`` bytes long."""

    head: bytes
    length: int


class Framing(ABC):
    """Wraps one request at a time and finds its reply in a receive buffer."""

    pdu_offset: int  # where the PDU starts in a frame
    trailer: int  # bytes after the PDU (the CRC)

    def __init__(self) -> None:
        self._patterns: list[_Pattern] = []
        self._longest_head = 1
        self._longest = 1

    def begin(self, request: Request) -> None:
        """A new exchange: forget the patterns of the previous one."""
        self._patterns.clear()
        self._longest_head = self._longest = 1

    @abstractmethod
    def adu(self, request: Request) -> bytes:
        """The frame to send for the next attempt of ``request`` (after ``begin``)."""

    def _expect(self, head: bytes, length: int) -> None:
        self._patterns.append(_Pattern(head, length))
        self._longest_head = max(self._longest_head, len(head))
        self._longest = max(self._longest, length)

    def _valid(self, frame: bytes) -> bool:
        """Integrity check of a candidate frame beyond its head (RTU: the CRC)."""
        return True

    def find(self, buffer: bytearray) -> bytes | None:
        """The reply PDU when a complete, valid reply is in ``buffer`` (which is consumed up to its end).

        Otherwise ``buffer`` is trimmed to what may still become a reply: an incomplete candidate, or a
        tail as long as the longest head.
        """
        size = len(buffer)
        keep_from = max(0, size - (self._longest_head - 1))
        checks = 0
        for pattern in self._patterns:
            start = 0
            while (index := buffer.find(pattern.head, start)) >= 0:
                end = index + pattern.length
                if end > size:
                    keep_from = min(keep_from, index)  # later matches of this head are incomplete too
                    break
                frame = bytes(buffer[index:end])
                if self._valid(frame):
                    del buffer[:end]
                    return frame[self.pdu_offset : pattern.length - self.trailer]
                checks += 1
                if checks >= MAX_CRC_CHECKS:
                    del buffer[: max(keep_from, size - (self._longest - 1))]
                    return None
                start = index + 1
        del buffer[:keep_from]
        return None


class MbapFraming(Framing):
    """Modbus TCP: MBAP header with a transaction id per attempt; replies to any attempt of the request
    are accepted (a late answer to the first try is as good as the answer to the second)."""

    pdu_offset = MBAP_HEADER_LENGTH
    trailer = 0

    def __init__(self) -> None:
        super().__init__()
        self._transaction = 0

    def adu(self, request: Request) -> bytes:
        self._transaction = transaction = (self._transaction + 1) & 0xFFFF
        unit = request.unit_id
        self._expect(
            _MBAP_HEADER.pack(transaction, 0, request.reply_length + 1, unit) + request.reply_prefix,
            MBAP_HEADER_LENGTH + request.reply_length,
        )
        self._expect(
            _MBAP_HEADER.pack(transaction, 0, EXCEPTION_PDU_LENGTH + 1, unit) + request.exception_prefix,
            MBAP_HEADER_LENGTH + EXCEPTION_PDU_LENGTH,
        )
        return _MBAP_HEADER.pack(transaction, 0, len(request.pdu) + 1, unit) + request.pdu


class RtuFraming(Framing):
    """RTU (serial lines and TCP serial gateways): no transaction id, so the same request is resent as is
    and the transports keep stale replies out by reconnecting or draining after a timeout."""

    pdu_offset = 1
    trailer = 2

    def begin(self, request: Request) -> None:
        super().begin(request)
        unit = bytes((request.unit_id,))
        self._expect(unit + request.reply_prefix, 1 + request.reply_length + 2)
        self._expect(unit + request.exception_prefix, 1 + EXCEPTION_PDU_LENGTH + 2)

    def adu(self, request: Request) -> bytes:
        return rtu_frame(request.unit_id, request.pdu)

    def _valid(self, frame: bytes) -> bool:
        return crc_ok(frame)
