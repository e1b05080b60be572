"""Eastron SDM energy meters: register facts in ``registers``, identification and decoding in ``profile``."""

from __future__ import annotations

from ..base import Vendor
from .profile import EASTRON_PROFILES, SDM72, SDM120, SDM630, EastronMeterProfile, MeterLayout

# Eastron meters sit behind RS485 gateways (Modbus TCP or RTU over TCP) or on a USB adapter; they
# announce nothing on the network.
VENDOR = Vendor(name="eastron", profiles=EASTRON_PROFILES, tcp_ports=(502,))

__all__ = ["EASTRON_PROFILES", "SDM72", "SDM120", "SDM630", "VENDOR", "EastronMeterProfile", "MeterLayout"]
