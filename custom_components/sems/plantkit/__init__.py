"""plantkit: read home solar plants (inverters, batteries, meters) locally over Modbus.

Home Assistant-free, asyncio-native and typed. Entry point: ``PlantClient``.
"""

from __future__ import annotations

from .client import COMMON_UNIT_IDS, PlantClient
from .exceptions import (
    ConnectionClosedError,
    ModbusExceptionError,
    NoDeviceAtUnitError,
    PlantConnectionError,
    PlantError,
    PlantProtocolError,
    PlantTimeoutError,
    UnsupportedDeviceError,
)
from .model import QUANTITY_INFO, DeviceIdentity, DeviceReading, DeviceStatus, Quantity, Role
from .transport import Endpoint, TransportType

__all__ = [
    "COMMON_UNIT_IDS",
    "QUANTITY_INFO",
    "ConnectionClosedError",
    "DeviceIdentity",
    "DeviceReading",
    "DeviceStatus",
    "Endpoint",
    "ModbusExceptionError",
    "NoDeviceAtUnitError",
    "PlantClient",
    "PlantConnectionError",
    "PlantError",
    "PlantProtocolError",
    "PlantTimeoutError",
    "Quantity",
    "Role",
    "TransportType",
    "UnsupportedDeviceError",
]
