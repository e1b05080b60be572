"""Transports: Modbus TCP, RTU over TCP, GoodWe's UDP framing, serial RTU; framing is our own, so every
reply is matched to the request it answers."""

from __future__ import annotations

from .base import Endpoint, Transport, TransportType
from .goodwe_udp import GoodWeUdpTransport
from .serial_rtu import SerialRtuTransport
from .stream import ModbusTcpTransport, RtuOverTcpTransport


def create_transport(endpoint: Endpoint) -> Transport:
    """The transport for an endpoint (not connected yet: it connects on the first request)."""
    if endpoint.transport is TransportType.UDP:
        return GoodWeUdpTransport(endpoint)
    if endpoint.transport is TransportType.RTU_OVER_TCP:
        return RtuOverTcpTransport(endpoint)
    if endpoint.transport is TransportType.SERIAL:
        return SerialRtuTransport(endpoint)
    return ModbusTcpTransport(endpoint)


__all__ = ["Endpoint", "Transport", "TransportType", "create_transport"]
