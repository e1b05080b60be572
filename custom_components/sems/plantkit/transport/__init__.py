"""Transports: Modbus TCP, RTU over TCP, GoodWe's UDP framing, serial RTU."""

from __future__ import annotations

from .base import Endpoint, Transport, TransportType
from .goodwe_udp import GoodWeUdpTransport
from .modbus import ModbusTransport


def create_transport(endpoint: Endpoint) -> Transport:
    """The transport for an endpoint (not connected yet: it connects on the first read)."""
    if endpoint.transport is TransportType.UDP:
        return GoodWeUdpTransport(endpoint)
    return ModbusTransport(endpoint)


__all__ = ["Endpoint", "Transport", "TransportType", "create_transport"]
