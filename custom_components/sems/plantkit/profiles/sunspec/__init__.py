"""SunSpec devices of any vendor: model layouts from pysunspec2's definitions in ``models``, the chain and
identification in ``chain``, what the models mean in ``decoding``, manufacturer conventions in
``conventions``, fault tables in ``faults``."""

from __future__ import annotations

from ..base import DhcpHint, Vendor
from . import faults
from .profile import SUNSPEC_PROFILES

# SunSpec devices of any vendor listen on Modbus TCP 502, SolarEdge on 1502 by default. A Fronius
# Datamanager serves its smart meter at unit 240 (the unit scan asks it). DHCP matchers of the vendors
# whose devices are SunSpec inverters: Fronius and SMA by OUI (SMA's host names too, with SMA's SunSpec
# unit id 126 first), SolarEdge by OUI plus the host name its inverters use.
VENDOR = Vendor(
    name="sunspec",
    profiles=SUNSPEC_PROFILES,
    tcp_ports=(502, 1502),
    scan_units=(240,),
    dhcp=(
        DhcpHint("Fronius", macaddress="0003AC*"),
        DhcpHint("SMA", macaddress="0015BB*", first_units=(126,)),
        DhcpHint("SMA", hostname="sma*", first_units=(126,)),
        DhcpHint("SolarEdge", macaddress="002702*", hostname="target"),
    ),
    fault_sources=faults.SOURCES,
)

__all__ = ["SUNSPEC_PROFILES", "VENDOR"]
