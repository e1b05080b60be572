"""Huawei SUN2000 inverters with their power meter and LUNA2000 battery: register facts in ``registers``,
alarm tables in ``faults``, identification and decoding in ``profile``."""

from __future__ import annotations

from ..base import Vendor
from . import faults
from .profile import ACCESS_POINT_UNIT_ID, CONNECT_DELAY, HUAWEI_PROFILES, SDONGLE_UNIT_ID

# Modbus TCP through the SDongle (502) or the inverter's own access point (6607 on older firmware). The
# access point is a network of its own, with the inverter at a fixed address: a network search does not
# knock on 6607 at every host. No DHCP hint: no Huawei OUI or host name is known to belong to the dongles
# alone.
VENDOR = Vendor(
    name="huawei",
    profiles=HUAWEI_PROFILES,
    tcp_ports=(502, 6607),
    unsearched_tcp_ports=(6607,),
    fault_sources=faults.SOURCES,
)

__all__ = ["ACCESS_POINT_UNIT_ID", "CONNECT_DELAY", "HUAWEI_PROFILES", "SDONGLE_UNIT_ID", "VENDOR"]
