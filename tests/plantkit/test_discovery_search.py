""" "Search my network" in the library: the plan from the host's interfaces, the search over loopback (the
dongle query and the scan at once), and the list a person picks from.

``contacts`` (``lan.ContactLog``) lets sockets reach the 127.0.0.0/28 test hosts only and records every
contact: the searches here prove that nothing leaves the plan's networks.
"""

from __future__ import annotations

import logging
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

import pytest

from custom_components.sems.plantkit.discovery import (
    DiscoverySettings,
    Found,
    ProbeLimits,
    ScanPlan,
    choice_label,
    distinct_choices,
    scan_plan,
    search,
)
from custom_components.sems.plantkit.model import DeviceIdentity, Role
from custom_components.sems.plantkit.transport import Endpoint, TransportType

from .lan import OUTSIDE_HOST, TEST_NET, ContactLog, Sims, requests, serve_lan

# Test-sized waits: loopback answers at once.
QUICK = ProbeLimits(timeout=0.3, budget=20.0)


# -- the plan --------------------------------------------------------------------------------------------


def test_scan_plan_from_interfaces(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    interfaces = [
        IPv4Interface("127.0.0.1/8"),  # loopback, link-local, public: never searched
        IPv4Interface("169.254.7.7/16"),
        IPv4Interface("81.2.69.165/27"),
        IPv4Interface("192.168.1.10/24"),
        IPv4Interface("192.168.1.10/24"),  # listed twice
        IPv4Interface("10.20.30.40/16"),  # narrowed to the /24 around the address
        IPv4Interface("10.99.0.1/31"),  # no broadcast address
    ]
    plan = scan_plan(interfaces)
    assert plan == ScanPlan(
        networks=(IPv4Network("192.168.1.0/24"), IPv4Network("10.20.30.0/24"), IPv4Network("10.99.0.0/31")),
        allowed=(IPv4Network("192.168.1.0/24"), IPv4Network("10.20.0.0/16"), IPv4Network("10.99.0.0/31")),
        broadcasts=(IPv4Address("192.168.1.255"), IPv4Address("10.20.255.255")),
    )
    narrow = scan_plan(interfaces, DiscoverySettings(search_prefix=28, max_addresses=20))
    assert narrow.networks == (IPv4Network("192.168.1.0/28"), IPv4Network("10.99.0.0/31"))
    assert narrow.allowed == plan.allowed
    assert "Not searching 10.20.30.32/28: the search is limited to 20 addresses" in caplog.text
    assert scan_plan([]) == ScanPlan((), (), ())


async def test_search_lists_the_lan_and_sends_nothing_outside(contacts: ContactLog, sims: Sims) -> None:
    """The dongle query and the scan of the /29 at once; the dongle at .10 (outside the /29, inside the
    adapter's /28) is identified afterwards. Nothing outside the /28 is touched, nor .12 inside it."""
    responders = await serve_lan(sims)
    plan = ScanPlan(
        networks=(IPv4Network("127.0.0.0/29"),),
        allowed=(TEST_NET,),
        broadcasts=(IPv4Address("127.0.0.3"), IPv4Address("127.0.0.10")),  # loopback has no broadcast
    )
    settings = sims.settings(
        search=QUICK,
        responder_budget=5.0,
        connect_timeout=0.3,
        dongle_window=0.5,
        dongle_port=responders[0].port,
    )
    progress: list[float] = []
    try:
        result = await search(plan, settings, progress.append)
    finally:
        for responder in responders:
            await responder.stop()

    tcp, udp = sims.tcp_port, sims.udp_port
    assert {(f.host, f.port, f.transport) for f in result.found} == {
        ("127.0.0.2", tcp, TransportType.TCP),
        ("127.0.0.3", udp, TransportType.UDP),
        ("127.0.0.4", tcp, TransportType.TCP),
        ("127.0.0.5", tcp, TransportType.TCP),
        ("127.0.0.6", tcp, TransportType.TCP),
        ("127.0.0.6", udp, TransportType.UDP),
        ("127.0.0.10", udp, TransportType.UDP),  # answered the query from outside the scanned hosts
    }
    assert [f.host for f in result.found] == sorted((f.host for f in result.found), key=IPv4Address)
    assert (result.complete, result.checked, result.dongles) == (True, 12, 2)
    assert result.seconds < settings.search.budget
    assert progress[-1] == 1.0
    assert progress == sorted(progress)
    assert contacts.destinations <= {str(host) for host in TEST_NET}
    assert requests(sims, "127.0.0.12") == requests(sims, OUTSIDE_HOST) == 0


async def test_search_without_networks_sends_nothing(contacts: ContactLog) -> None:
    fractions: list[float] = []
    result = await search(ScanPlan((), (), ()), DiscoverySettings(), fractions.append)
    assert fractions == [1.0]
    assert (result.found, result.complete, result.checked, result.dongles) == ((), True, 0, 0)
    assert contacts.destinations == set()


# -- the list --------------------------------------------------------------------------------------------


def _found(host: str, transport: TransportType, serial: str, *roles: Role) -> Found:
    devices = tuple(
        DeviceIdentity(
            role=role,
            profile="goodwe_et",
            unit_id=247,
            manufacturer="GoodWe",
            model="GW10K-ET",
            serial=serial,
        )
        for role in roles or (Role.INVERTER,)
    )
    return Found(Endpoint(host, 8899 if transport is TransportType.UDP else 502, transport), devices)


def test_distinct_choices() -> None:
    found = [
        _found("192.0.2.2", TransportType.UDP, "A"),
        _found("192.0.2.2", TransportType.TCP, "A"),
        _found("192.0.2.3", TransportType.UDP, "B"),
        _found("192.0.2.4", TransportType.TCP, "C"),
    ]
    chosen = distinct_choices(found, configured={"C"})
    assert [(f.host, f.transport) for f in chosen] == [("192.0.2.2", "tcp"), ("192.0.2.3", "udp")]
    assert choice_label(chosen[1]) == "GoodWe GW10K-ET (B) at 192.0.2.3:8899 udp, unit 247"
    both = _found("192.0.2.5", TransportType.TCP, "D", Role.INVERTER, Role.BATTERY, Role.METER)
    assert choice_label(both) == "GoodWe GW10K-ET (D) + 2 more at 192.0.2.5:502 tcp, unit 247"
