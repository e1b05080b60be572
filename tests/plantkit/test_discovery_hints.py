"""What discovery knows before it sends anything: its defaults, derived from the vendor registry, and what
zeroconf records and DHCP leases mean (matched against the registry's hints). Nothing here is sent."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.sems.plantkit.discovery import (
    DEFAULT_SETTINGS,
    DHCP_MATCHERS,
    DiscoverySettings,
    ProbeLimits,
    dhcp_candidates,
    txt_number,
    zeroconf_announcement,
)
from custom_components.sems.plantkit.discovery.settings import (
    registry_tcp_ports,
    registry_udp_ports,
    registry_unit_scan_ids,
)
from custom_components.sems.plantkit.profiles import VENDORS, goodwe, huawei, sunspec
from custom_components.sems.plantkit.profiles.base import Vendor
from custom_components.sems.plantkit.transport import Endpoint, TransportType

HF_MAC = "ac:cf:23:00:00:03"  # a Hi-Flying module, as in GoodWe dongles


# -- the defaults ----------------------------------------------------------------------------------------


def test_defaults_come_from_the_registry() -> None:
    """The README's defaults, derived from the vendors' hints: Huawei's access-point port 6607 is not
    searched, Huawei's unit 0 (the RTU broadcast address) is never scanned, Fronius' meter unit 240 is."""
    settings = DiscoverySettings()
    assert settings == DEFAULT_SETTINGS
    assert settings.tcp_ports == (502, 1502)
    assert settings.udp_port == 8899
    assert settings.dongle_port == 48899
    assert settings.unit_scan_ids == (*range(1, 33), 126, 127, 240, 247)
    assert settings.probe == ProbeLimits(timeout=2.0, budget=30.0, retries=1)
    assert settings.announced == ProbeLimits(timeout=1.5, budget=20.0, retries=1)
    assert settings.search == ProbeLimits(timeout=1.0, budget=60.0, retries=0)
    assert settings.unit_scan == ProbeLimits(timeout=0.5, budget=60.0, retries=0)
    assert (settings.concurrency, settings.connect_timeout, settings.responder_budget) == (32, 0.5, 10.0)
    assert (settings.dongle_window, settings.max_addresses, settings.search_prefix) == (2.0, 1024, 24)
    assert huawei.VENDOR.searched_tcp_ports == (502,)
    assert sunspec.VENDOR.scan_units == (240,)


def test_a_new_vendor_s_hints_reach_the_defaults() -> None:
    """A vendor's ports and unit ids join the defaults by its registry line alone, each once."""
    profile = goodwe.GOODWE_PROFILES[0]
    newcomer = Vendor(
        name="newcomer",
        profiles=(profile,),
        tcp_ports=(502, 4196, 8502),
        udp_ports=(48898,),
        unsearched_tcp_ports=(8502,),
        scan_units=(200, 0, 250),  # 0 and 250 are no RTU addresses: never scanned
    )
    vendors = (*VENDORS, newcomer)
    assert registry_tcp_ports(vendors) == (502, 1502, 4196)
    assert registry_udp_ports(vendors) == (8899, 48898)
    assert registry_unit_scan_ids(vendors) == (*range(1, 33), 126, 127, 200, 240, 247)
    assert registry_tcp_ports(()) == registry_udp_ports(()) == ()


# -- DHCP ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mac", "hostname", "vendor"),
    [
        ("00:03:AC:01:02:03", "", "Fronius"),
        ("0015bb010203", "", "SMA"),
        ("a1:b2:c3:01:02:03", "SMA3012345678", "SMA"),
        ("00:27:02:01:02:03", "target", "SolarEdge"),
        ("34:ea:e7:98:25:96", "", "GoodWe"),
        ("f0-fe-6b-01-02-03", "", "GoodWe"),
        ("00:27:02:01:02:03", "inverter", None),  # SolarEdge's OUI alone is not enough
        ("00:11:22:33:44:55", "target", None),
    ],
)
def test_dhcp_matchers(mac: str, hostname: str, vendor: str | None) -> None:
    matched = [m.brand for m in DHCP_MATCHERS if m.matches(mac, hostname)]
    assert matched == ([vendor] if vendor else [])


def test_dhcp_matchers_are_the_registry_s_hints() -> None:
    assert [(m.hint, m.vendor) for m in DHCP_MATCHERS] == [
        (hint, vendor) for vendor in VENDORS for hint in vendor.dhcp
    ]


def test_dhcp_probe_order() -> None:
    settings = DiscoverySettings(tcp_ports=(502, 1502), udp_port=8899)
    sma = dhcp_candidates("192.0.2.5", "00:15:bb:00:00:01", "", settings)
    assert [(c.endpoint.port, c.unit_ids) for c in sma] == [
        (502, (126,)),
        (502, None),
        (1502, (126,)),
        (1502, None),
    ]
    assert {c.profiles for c in sma} == {sunspec.VENDOR.profiles}
    goodwe_dongle = dhcp_candidates("192.0.2.6", HF_MAC, "", settings)
    assert [(c.endpoint.transport, c.endpoint.port) for c in goodwe_dongle] == [
        (TransportType.UDP, 8899),
        (TransportType.TCP, 502),
    ]
    assert dhcp_candidates("192.0.2.7", "00:11:22:33:44:55", "", settings) == []
    # Without GoodWe's UDP framing a dongle is asked over Modbus TCP only.
    no_udp = dhcp_candidates("192.0.2.6", HF_MAC, "", DiscoverySettings(udp_port=None))
    assert [(c.endpoint.transport, c.endpoint.port) for c in no_udp] == [(TransportType.TCP, 502)]


def test_dhcp_probes_on_the_settings_ports() -> None:
    """Tests and developers move the probe to other ports through the settings alone."""
    moved = dhcp_candidates("127.0.0.4", "00:03:ac:12:34:56", "", DiscoverySettings(tcp_ports=(15021,)))
    assert [c.endpoint for c in moved] == [Endpoint("127.0.0.4", 15021, TransportType.TCP)]


# -- zeroconf --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"), [("502", 502), (b"1502", 1502), (" 7 ", 7), ("0", None), ("x", None), (None, None)]
)
def test_txt_numbers(value: Any, expected: int | None) -> None:
    assert txt_number({"port": value}, "port", 1, 65535) == expected


@pytest.mark.parametrize(
    ("service_port", "properties", "expected"),
    [
        (15020, {"port": "1502", "unit": "247", "serial": " S1 "}, (1502, 247, "S1", (247,))),
        (15020, {"port": "not a port", "unit": "0"}, (15020, None, None, None)),
        (None, {"unit": "256", "serial": ""}, (502, None, None, None)),
    ],
)
def test_zeroconf_announcement(
    service_port: int | None, properties: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    """TXT port, else the service's, else 502; a unit only inside 1-255; a blank serial is none."""
    announced = zeroconf_announcement("192.0.2.8", service_port, properties)
    port, unit, serial, units = expected
    assert announced.endpoint == Endpoint("192.0.2.8", port, TransportType.TCP)
    assert (announced.unit_id, announced.serial) == (unit, serial)
    candidate = announced.candidate()
    assert (candidate.endpoint, candidate.unit_ids, candidate.profiles) == (announced.endpoint, units, None)
