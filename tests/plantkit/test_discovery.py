"""Discovery's scanning engine against simulated devices on several loopback addresses (127.0.0.2 and up):
the dongle query, the scope of a scan, network scans, unit scans, the simulator's announcers.

``contacts`` (``lan.ContactLog``) lets sockets reach the 127.0.0.0/28 test hosts only and records every
contact, so tests prove what was contacted independently of the scanner's own bookkeeping.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any
from unittest.mock import patch

import pytest
from zeroconf import Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo

from custom_components.sems.plantkit.discovery import (
    DEFAULT_SETTINGS,
    DongleReply,
    ProbeLimits,
    ScanScope,
    ScanScopeError,
    discover_goodwe_dongles,
    identify_responders,
    parse_dongle_reply,
    scan_network,
    scan_units,
    suggested_networks,
    tcp_port_open,
)
from custom_components.sems.plantkit.discovery.broadcast import QUERY_SENDS
from custom_components.sems.plantkit.model import Role
from custom_components.sems.plantkit.transport import Endpoint, TransportType
from simulator.devices.eastron import Sdm120Sim, Sdm630Sim
from simulator.devices.goodwe import GoodWeDtSim, GoodWeEtSim
from simulator.devices.sunspec import SunSpecInverterSim, SunSpecMeterSim
from simulator.discovery import (
    MODBUS_SERVICE_TYPE,
    AnnouncedDevice,
    DongleResponder,
    LoopbackZeroconf,
    ZeroconfAnnouncer,
    assert_loopback_senders,
    fake_mac,
    loopback_zeroconf,
)

from .lan import OUTSIDE_HOST, TEST_HOSTS, TEST_NET, ContactLog, Sims

QUICK_SEARCH = ProbeLimits(timeout=0.3, budget=60.0)  # identifying what answered: loopback answers at once
QUICK_UNITS = ProbeLimits(timeout=0.3, budget=60.0, retries=1)
QUICK_UNIT_SCAN = replace(DEFAULT_SETTINGS, unit_scan=QUICK_UNITS)


async def _devices_on_test_net(sims: Sims) -> None:
    """The scan fixture: five supported endpoints, two that are not, and two the scan must not see."""
    await sims.serve("127.0.0.2", "tcp", GoodWeEtSim())
    await sims.serve("127.0.0.3", "udp", GoodWeDtSim())
    await sims.serve("127.0.0.4", "tcp", SunSpecInverterSim(), SunSpecMeterSim())
    await sims.serve("127.0.0.5", "tcp", Sdm630Sim())
    await sims.serve("127.0.0.6", "udp", GoodWeEtSim(serial="9010KETU000SIM06"))
    await sims.serve("127.0.0.7", "rtu-over-tcp", Sdm120Sim(unit_id=2))  # open port, other framing
    garbage = await sims.serve("127.0.0.8", "tcp", Sdm630Sim())
    garbage.faults.garbage = True  # open port, but no Modbus answer
    await sims.serve("127.0.0.9", "tcp", Sdm630Sim(), port=0)  # a port the scan does not try
    await sims.serve(OUTSIDE_HOST, "tcp", Sdm630Sim(serial=99999999))  # outside the scanned network


# -- GoodWe dongle discovery ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"192.168.42.150,34:ea:e7:98:25:96,HF_E20", ("192.168.42.150", "34:ea:e7:98:25:96", "HF_E20")),
        (b"10.0.0.7,ACCF23A1B2C3,HF-A11\r\n", ("10.0.0.7", "ac:cf:23:a1:b2:c3", "HF-A11")),
        (b"10.0.0.8,ac-cf-23-a1-b2-c4,Solar,WiFi\x00", ("10.0.0.8", "ac:cf:23:a1:b2:c4", "Solar,WiFi")),
    ],
)
def test_parses_module_replies(data: bytes, expected: tuple[str, str, str]) -> None:
    assert parse_dongle_reply(data, "192.0.2.9") == DongleReply(*expected, source="192.0.2.9")


@pytest.mark.parametrize(
    "data",
    [
        b"WIFIKIT-214028-READ",  # our own query, echoed
        b"+ok",
        b"999.1.1.1,34:ea:e7:98:25:96,HF",  # no IPv4 address
        b"10.0.0.7,34:ea:e7:98:25,HF",  # MAC too short
        b"10.0.0.7,34:ea:e7:98:25:zz,HF",  # MAC not hex
        b"10.0.0.7,34:ea:e7:98:25:96,",  # no name
        b"10.0.0.7,34:ea:e7:98:25:96,HF\x07bell",  # control character in the name
        b"\xff\xfe10.0.0.7,34:ea:e7:98:25:96,HF",  # not ASCII
        b"",
    ],
)
def test_ignores_anything_but_module_replies(data: bytes) -> None:
    assert parse_dongle_reply(data, "192.0.2.9") is None


async def test_dongle_discovery_collects_every_responder(contacts: ContactLog) -> None:
    first = DongleResponder("127.0.0.2", 0, name="HF_E20")
    await first.start()
    responders = [
        first,
        DongleResponder("127.0.0.3", first.port, name="HF-LPB100"),
        DongleResponder("127.0.0.4", first.port, name="HF_E20", delay=0.4),  # answers late in the window
        DongleResponder("127.0.0.5", first.port, reply=b"\x00\xffgarbage"),
        DongleResponder("127.0.0.6", first.port, reply=b"+ok=127.0.0.6"),
    ]
    try:
        for responder in responders[1:]:
            await responder.start()
        targets = [r.host for r in responders]
        replies = await discover_goodwe_dongles(targets, port=first.port, window=1.0)
    finally:
        for responder in responders:
            await responder.stop()

    assert replies == [
        DongleReply("127.0.0.2", fake_mac("127.0.0.2"), "HF_E20", "127.0.0.2"),
        DongleReply("127.0.0.3", fake_mac("127.0.0.3"), "HF-LPB100", "127.0.0.3"),
        DongleReply("127.0.0.4", fake_mac("127.0.0.4"), "HF_E20", "127.0.0.4"),
    ]
    assert fake_mac("127.0.0.4") == "ac:cf:23:00:00:04"
    # Every responder heard each query (so each answered twice), yet every module is listed once.
    assert [r.queries for r in responders] == [QUERY_SENDS] * len(responders)
    # The query (sent from the wildcard-bound discovery socket) went to the targets and nowhere else;
    # the responders (bound to their 127.0.0.x) answered the discovery socket on 127.0.0.1.
    assert {dest for bound, dest in contacts.sends if bound == "0.0.0.0"} == set(targets)
    assert {dest for bound, dest in contacts.sends if bound != "0.0.0.0"} == {"127.0.0.1"}


async def test_dongle_discovery_refuses_host_names(contacts: ContactLog) -> None:
    with pytest.raises(ValueError, match="localhost"):
        await discover_goodwe_dongles(["localhost"], window=0.1)
    assert contacts.destinations == set()


async def test_discovered_dongles_are_identified(contacts: ContactLog, sims: Sims) -> None:
    """Discovery then identification: GoodWe UDP where the dongle speaks it, else Modbus TCP."""
    await sims.serve("127.0.0.2", "udp", GoodWeEtSim())
    await sims.serve("127.0.0.3", "tcp", GoodWeDtSim())  # a dongle with only Modbus TCP answering
    first = DongleResponder("127.0.0.2", 0)
    await first.start()
    responders = [first, DongleResponder("127.0.0.3", first.port), DongleResponder("127.0.0.4", first.port)]
    for responder in responders[1:]:
        await responder.start()
    try:
        replies = await discover_goodwe_dongles(
            [r.host for r in responders], port=responders[0].port, window=0.3
        )
        started = time.monotonic()
        identified = await identify_responders(
            [reply.source for reply in replies], settings=sims.settings(search=QUICK_SEARCH), budget=30.0
        )
        elapsed = time.monotonic() - started
    finally:
        for responder in responders:
            await responder.stop()

    assert set(identified) == {"127.0.0.2", "127.0.0.3", "127.0.0.4"}
    et, dt, nothing = identified["127.0.0.2"], identified["127.0.0.3"], identified["127.0.0.4"]
    assert et is not None
    assert (et.transport, et.port, et.unit_ids) == (TransportType.UDP, sims.udp_port, (247,))
    assert {d.role for d in et.devices} == {Role.INVERTER, Role.BATTERY, Role.METER}
    assert dt is not None
    assert (dt.transport, dt.port, [d.profile for d in dt.devices]) == (
        TransportType.TCP,
        sims.tcp_port,
        ["goodwe_dt"],
    )
    assert nothing is None
    assert et.endpoint.timeout == Endpoint("x", 1).timeout  # runtime settings, not the probe's
    assert elapsed < 10


# -- scope ---------------------------------------------------------------------------------------------


def test_scope_lists_hosts_without_network_and_broadcast_addresses() -> None:
    scope = ScanScope(
        [IPv4Network("192.168.1.0/30"), IPv4Network("192.168.1.0/31"), IPv4Network("10.1.2.3/32")]
    )
    assert scope.hosts() == ["10.1.2.3", "192.168.1.0", "192.168.1.1", "192.168.1.2"]
    assert "192.168.1.2" in scope
    assert "192.168.1.4" not in scope
    assert "localhost" not in scope
    with pytest.raises(ScanScopeError):
        scope.require("192.168.1.4")


@pytest.mark.parametrize(
    ("networks", "allowed", "message"),
    [
        (["10.0.0.0/21"], None, "more than 1024"),
        (["10.0.0.0/23", "10.0.2.0/23", "10.0.4.0/24"], None, "addresses in all"),
        (["8.8.8.0/24"], None, "not a private network"),
        (["224.0.0.0/24"], None, "no unicast network"),
        (["255.255.255.255/32"], None, "no unicast network"),
        (["0.0.0.0/30"], None, "no unicast network"),
        (["192.168.2.0/24"], ["192.168.1.0/24"], "outside the allowed"),
        (["192.168.0.0/23"], ["192.168.1.0/24"], "outside the allowed"),
    ],
)
def test_scope_refuses_unsafe_scans(networks: list[str], allowed: list[str] | None, message: str) -> None:
    with pytest.raises(ScanScopeError, match=message):
        ScanScope(
            [IPv4Network(n) for n in networks],
            allowed=None if allowed is None else [IPv4Network(a) for a in allowed],
        )


def test_scope_accepts_what_the_caller_allows() -> None:
    assert len(ScanScope([IPv4Network("10.0.0.0/22")]).hosts()) == 1022
    assert len(ScanScope([IPv4Network("10.0.0.0/20")], max_addresses=4096).hosts()) == 4094
    public = ScanScope([IPv4Network("203.0.113.0/29")], allowed=[IPv4Network("203.0.113.0/24")])
    assert len(public.hosts()) == 6
    half = ScanScope([IPv4Network("192.168.1.0/25")], allowed=[IPv4Network("192.168.1.0/24")])
    half.require("192.168.1.100")
    with pytest.raises(ScanScopeError):  # allowed, but not asked for
        half.require("192.168.1.200")


def test_suggested_networks_narrow_large_adapters() -> None:
    interfaces = [
        IPv4Interface("127.0.0.1/8"),
        IPv4Interface("169.254.3.4/16"),
        IPv4Interface("10.20.30.40/16"),
        IPv4Interface("192.168.1.10/24"),
        IPv4Interface("192.168.1.11/24"),
        IPv4Interface("172.16.5.9/27"),
    ]
    assert suggested_networks(interfaces) == [
        IPv4Network("10.20.30.0/24"),
        IPv4Network("192.168.1.0/24"),
        IPv4Network("172.16.5.0/27"),
    ]


# -- network scan --------------------------------------------------------------------------------------


async def test_network_scan_finds_exactly_the_simulated_devices(contacts: ContactLog, sims: Sims) -> None:
    await _devices_on_test_net(sims)
    progress: list[tuple[int, int]] = []
    started = time.monotonic()
    report = await scan_network(
        [TEST_NET],
        settings=sims.settings(search=QUICK_SEARCH),
        progress=lambda done, total: progress.append((done, total)),
    )
    elapsed = time.monotonic() - started
    print(f"scan of {TEST_NET} ({report.planned} endpoints, 5 devices): {elapsed:.2f} s")

    found = {(f.host, f.port, f.transport): sorted(d.profile for d in f.devices) for f in report.found}
    tcp, udp = sims.tcp_port, sims.udp_port
    assert found == {
        ("127.0.0.2", tcp, TransportType.TCP): ["goodwe_et", "goodwe_et_battery", "goodwe_et_meter"],
        ("127.0.0.3", udp, TransportType.UDP): ["goodwe_dt"],
        ("127.0.0.4", tcp, TransportType.TCP): ["sunspec_battery", "sunspec_inverter"],
        ("127.0.0.5", tcp, TransportType.TCP): ["eastron_sdm630"],
        ("127.0.0.6", udp, TransportType.UDP): ["goodwe_et", "goodwe_et_battery", "goodwe_et_meter"],
    }
    assert [(u.host, u.port) for u in (x.endpoint for x in report.unidentified)] == [
        ("127.0.0.7", tcp),
        ("127.0.0.8", tcp),
    ]
    assert report.complete
    assert report.planned == report.checked == 2 * len(TEST_HOSTS)
    assert progress[-1] == (report.planned, report.planned)
    assert [done for done, _ in progress] == list(range(1, report.planned + 1))
    assert report.contacted == set(TEST_HOSTS)
    assert contacts.destinations <= set(TEST_HOSTS)
    assert elapsed < 15


async def test_network_scan_never_contacts_outside_the_range(contacts: ContactLog, sims: Sims) -> None:
    await _devices_on_test_net(sims)
    narrow = IPv4Network("127.0.0.0/29")  # hosts .1 to .6: the devices on .7 and up must stay untouched
    narrow_hosts = [str(h) for h in narrow.hosts()]
    contacts.allow(narrow_hosts)  # pytest-socket now refuses every other address outright
    attempts: list[tuple[str, int]] = []

    async def recording_connector(host: str, port: int, within: float) -> bool:
        attempts.append((host, port))
        return await tcp_port_open(host, port, within)

    report = await scan_network(
        [narrow],
        settings=sims.settings(tcp_ports=(sims.tcp_port, sims.tcp_port + 1), search=QUICK_SEARCH),
        allowed=[TEST_NET],
        connector=recording_connector,
    )

    assert sorted(attempts) == sorted(
        (h, p) for h in narrow_hosts for p in (sims.tcp_port, sims.tcp_port + 1)
    )
    assert contacts.connects, "the recorder must have seen the scan"
    assert set(contacts.destinations) <= set(narrow_hosts)
    assert report.contacted == set(narrow_hosts)
    assert {f.host for f in report.found} == {"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"}
    assert not report.unidentified


async def test_refused_scans_contact_nothing(contacts: ContactLog) -> None:
    with pytest.raises(ScanScopeError):
        await scan_network([IPv4Network("127.0.0.0/16")])
    with pytest.raises(ScanScopeError):
        await scan_network([TEST_NET], allowed=[IPv4Network("127.0.0.0/30")])
    with pytest.raises(ValueError, match="invalid port"):
        await scan_network([TEST_NET], settings=replace(DEFAULT_SETTINGS, tcp_ports=(0,)))
    assert contacts.destinations == set()


async def test_budget_exhaustion_returns_partial_results(contacts: ContactLog, sims: Sims) -> None:
    await sims.serve("127.0.0.2", "tcp", Sdm630Sim())
    slow = await sims.serve("127.0.0.3", "tcp", Sdm630Sim(serial=33333333))
    slow.faults.delay = 30  # accepts, then answers far beyond the probe timeout
    started = time.monotonic()
    settings = sims.settings(udp_port=None, search=ProbeLimits(timeout=10.0, budget=1.0))
    report = await scan_network([IPv4Network("127.0.0.0/29")], settings=settings)
    elapsed = time.monotonic() - started

    assert not report.complete
    assert [f.host for f in report.found] == ["127.0.0.2"]
    assert (report.checked, report.planned) == (5, 6)  # everything but the slow device was checked
    assert 1.0 <= elapsed < 2.0
    # Nothing of the scan is left running (the autouse cleanup check would fail the test as well).
    assert [t for t in asyncio.all_tasks() if _library_task(t)] == []


def _library_task(task: asyncio.Task[Any]) -> bool:
    code = getattr(task.get_coro(), "cr_code", None)
    where = "" if code is None else code.co_filename
    return "custom_components/sems/plantkit" in where


# -- units behind one gateway --------------------------------------------------------------------------


async def test_unit_scan_finds_every_unit_behind_a_gateway(contacts: ContactLog, sims: Sims) -> None:
    gateway = await sims.serve("127.0.0.2", "rtu-over-tcp", Sdm630Sim(unit_id=1), Sdm120Sim(unit_id=2))
    endpoint = Endpoint("127.0.0.2", gateway.port, TransportType.RTU_OVER_TCP)
    progress: list[tuple[int, int]] = []

    report = await scan_units(
        endpoint,
        settings=replace(DEFAULT_SETTINGS, unit_scan_ids=tuple(range(1, 6)), unit_scan=QUICK_UNITS),
        progress=lambda d, t: progress.append((d, t)),
    )

    assert report.unit_ids == (1, 2)
    assert [(d.unit_id, d.profile) for d in report.devices] == [(1, "eastron_sdm630"), (2, "eastron_sdm120")]
    assert report.complete
    assert report.checked == (1, 2, 3, 4, 5)
    assert progress == [(n, 5) for n in range(1, 6)]


async def test_unit_scan_finds_parallel_inverters_on_one_dongle(contacts: ContactLog, sims: Sims) -> None:
    dongle = await sims.serve(
        "127.0.0.2", "udp", GoodWeDtSim(unit_id=127), GoodWeDtSim(unit_id=126, serial="5015KDTU000SIM02")
    )
    endpoint = Endpoint("127.0.0.2", dongle.port, TransportType.UDP)

    report = await scan_units(endpoint, unit_ids=[127, 126], settings=QUICK_UNIT_SCAN)

    assert [(d.unit_id, d.serial) for d in report.devices] == [
        (127, "5015KDTU000SIM01"),
        (126, "5015KDTU000SIM02"),
    ]


async def test_unit_scan_stops_at_its_budget(contacts: ContactLog, sims: Sims) -> None:
    dongle = await sims.serve("127.0.0.2", "udp", GoodWeEtSim())
    endpoint = Endpoint("127.0.0.2", dongle.port, TransportType.UDP)
    started = time.monotonic()

    # Unit 1 is silent on UDP: each of its requests waits out four timeouts, far beyond the budget.
    limits = ProbeLimits(timeout=0.5, budget=1.0, retries=3)
    report = await scan_units(
        endpoint, unit_ids=[247, 1, 2], settings=replace(DEFAULT_SETTINGS, unit_scan=limits)
    )

    assert time.monotonic() - started < 1.5
    assert not report.complete
    assert report.checked == (247,)
    assert report.unit_ids == (247,)


async def test_unit_ids_are_validated(contacts: ContactLog) -> None:
    with pytest.raises(ValueError, match="unit id 0"):
        await scan_units(Endpoint("127.0.0.1", 1), unit_ids=[0])
    assert contacts.destinations == set()


# -- zeroconf announcer ---------------------------------------------------------------------------------


async def test_zeroconf_announcer_stays_on_loopback(contacts: ContactLog) -> None:
    devices = [
        AnnouncedDevice("127.0.0.2", 15020, "GoodWe", "GW10K-ET", "9010KETU000SIM01", 247),
        AnnouncedDevice("127.0.0.5", 15022, "Eastron", "SDM630", "12345678", 1),
    ]
    announcer = ZeroconfAnnouncer(devices)
    browser_zc = loopback_zeroconf()
    browser: AsyncServiceBrowser | None = None
    try:
        await announcer.start()
        assert announcer.zeroconf is not None
        assert_loopback_senders(announcer.zeroconf.zeroconf)
        names: set[str] = set()
        both_seen = asyncio.Event()

        def seen(zeroconf: Zeroconf, service_type: str, name: str, state_change: object) -> None:
            names.add(name)
            if len(names) == len(devices):
                both_seen.set()

        browser = AsyncServiceBrowser(browser_zc.zeroconf, MODBUS_SERVICE_TYPE, handlers=[seen])
        async with asyncio.timeout(5):
            await both_seen.wait()
        resolved = {}
        for name in names:
            info = AsyncServiceInfo(MODBUS_SERVICE_TYPE, name)
            assert await info.async_request(browser_zc.zeroconf, 3000)
            resolved[name] = (info.parsed_addresses(), info.port, info.decoded_properties)
    finally:
        if browser is not None:
            await browser.async_cancel()
        await browser_zc.async_close()
        await announcer.stop()

    assert resolved["SDM630 12345678._modbus._tcp.local."] == (
        ["127.0.0.5"],
        15022,
        {"manufacturer": "Eastron", "model": "SDM630", "serial": "12345678", "port": "15022", "unit": "1"},
    )
    assert resolved["GW10K-ET 9010KETU000SIM01._modbus._tcp.local."][:2] == (["127.0.0.2"], 15020)
    # Every packet went to a loopback address (unicast answers, also from the wildcard-bound listening
    # socket), or to the mDNS group from a loopback-bound socket that multicasts through lo.
    print(sorted(set(contacts.sends)))
    assert contacts.sends
    for bound, destination in contacts.sends:
        if destination == "224.0.0.251":
            assert IPv4Address(bound).is_loopback
        else:
            assert IPv4Address(destination).is_loopback


def test_loopback_zeroconf_drops_unicast_to_other_networks() -> None:
    """Checked on the send method alone (a spy replaces zeroconf's own), so no packet is ever sent."""
    sent: list[str | None] = []

    def spy(self: Zeroconf, out: object, addr: str | None = None, *args: object) -> None:
        sent.append(addr)

    with patch.object(Zeroconf, "async_send", spy):
        zc = object.__new__(LoopbackZeroconf)  # no sockets: only the send filter is under test
        zc.async_send(object(), "192.0.2.7")  # type: ignore[arg-type]
        zc.async_send(object(), "127.0.0.3")  # type: ignore[arg-type]
        zc.async_send(object())  # type: ignore[arg-type]
    assert sent == ["127.0.0.3", None]


def test_simulator_responders_refuse_other_addresses() -> None:
    with pytest.raises(ValueError, match="loopback"):
        DongleResponder("192.0.2.7")
    with pytest.raises(ValueError, match="loopback"):
        AnnouncedDevice("192.0.2.7", 502, "x", "y", "z", 1).service_info()
