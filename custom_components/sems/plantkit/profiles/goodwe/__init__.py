"""GoodWe ET/EH/BT/BH hybrids and DT/MS/NS PV inverters: register facts in ``registers``, fault tables in
``faults``, identification and decoding in ``profile``."""

from __future__ import annotations

from ..base import DhcpHint, Vendor
from . import faults
from .profile import DT_UNIT_ID, ET_UNIT_ID, GOODWE_PROFILES
from .registers import DT_INFO_START, ET_INFO_START

# The Hi-Flying Wi-Fi/LAN modules inside GoodWe's dongles have no GoodWe-specific OUI or DHCP host name,
# and the same modules sit in other products (Magic Home LED controllers, Solarman loggers): a match only
# means "probe it". 34EAE7 is the MAC of a GoodWe LAN kit's own discovery reply; ACCF23 and F0FE6B are
# Hi-Flying's other registered OUIs. Dongles speak GoodWe's UDP framing first, Modbus TCP on newer kits.
VENDOR = Vendor(
    name="goodwe",
    profiles=GOODWE_PROFILES,
    tcp_ports=(502,),
    udp_ports=(8899,),
    dhcp=(
        DhcpHint("GoodWe", macaddress="34EAE7*"),
        DhcpHint("GoodWe", macaddress="ACCF23*"),
        DhcpHint("GoodWe", macaddress="F0FE6B*"),
    ),
    fault_sources=faults.SOURCES,
)

# A cheap "is a GoodWe here?" read per family: one register of its device block at its usual unit id.
UDP_PINGS: tuple[tuple[int, int], ...] = ((ET_UNIT_ID, ET_INFO_START), (DT_UNIT_ID, DT_INFO_START))

__all__ = ["DT_UNIT_ID", "ET_UNIT_ID", "GOODWE_PROFILES", "UDP_PINGS", "VENDOR"]
