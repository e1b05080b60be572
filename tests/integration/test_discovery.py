"""Discovery in the config flow: zeroconf, DHCP, the network search and the unit scan, on loopback only.

Simulated devices listen on 127.0.0.2 and up (``Sims`` from the library's discovery tests: one shared
TCP and one shared UDP port across the addresses). ``contacts`` lets sockets reach the 127.0.0.0/28 test
hosts only and records every ``connect()`` and ``sendto()``.

What cannot run here is replaced, nothing else: Home Assistant's network adapters (the plan of the search
is set to loopback networks) and broadcast delivery (loopback has none, so the dongle query goes to each
responder's address). The scans, probes and entries are real.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network, ip_address
from typing import Any
from unittest.mock import AsyncMock, patch

import pytest
from homeassistant.components.zeroconf import info_from_service
from homeassistant.config_entries import (
    SOURCE_DHCP,
    SOURCE_IGNORE,
    SOURCE_USER,
    SOURCE_ZEROCONF,
    ConfigEntry,
    ConfigEntryState,
)
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.dhcp import DhcpServiceInfo
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from homeassistant.loader import async_get_dhcp, async_get_zeroconf
from pytest_homeassistant_custom_component.common import MockConfigEntry
from zeroconf import Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo

from custom_components.sems import discovery
from custom_components.sems.config_flow import CONF_DEVICE, SemsConfigFlow
from custom_components.sems.const import CONF_DEVICES, CONF_TRANSPORT, CONF_UNIT_IDS, DOMAIN
from custom_components.sems.discovery import ScanPlan, SearchSettings
from custom_components.sems.plantkit.discovery import Found, discover_goodwe_dongles
from custom_components.sems.plantkit.model import DeviceIdentity, Role
from custom_components.sems.plantkit.transport import Endpoint, TransportType
from simulator.__main__ import DiscoveryServices
from simulator.devices.eastron import Sdm120Sim, Sdm630Sim
from simulator.devices.goodwe import GoodWeDtSim, GoodWeEtSim
from simulator.devices.sunspec import SunSpecInverterSim, SunSpecMeterSim
from simulator.discovery import MODBUS_SERVICE_TYPE, DongleResponder, loopback_zeroconf
from simulator.plant import SimulatedPlant

from ..plantkit.test_discovery import TEST_HOSTS, TEST_NET, ContactLog, Sims
from .conftest import SIM_START, answer_meter_locations

OUTSIDE_HOST = "127.0.0.20"  # outside every plan: nothing may ever be sent there
ET_SERIAL = "9010KETU000SIM01"
SDM630_SERIAL = "12345678"
HF_MAC = "ac:cf:23:00:00:03"  # a Hi-Flying module, as in GoodWe dongles


@pytest.fixture
def contacts(socket_enabled: None) -> Iterator[ContactLog]:
    """Sockets may reach the 127.0.0.0/28 test hosts only; every contact is recorded."""
    log = ContactLog()
    log.allow(TEST_HOSTS)
    try:
        yield log
    finally:
        log.uninstall()


@pytest.fixture
async def sims(hass: HomeAssistant, contacts: ContactLog) -> AsyncIterator[Sims]:
    """Simulated servers; at the end every entry is unloaded before they stop (no poll races the stop)."""
    servers = Sims()
    try:
        yield servers
    finally:
        await hass.async_block_till_done(wait_background_tasks=True)
        for entry in hass.config_entries.async_entries(DOMAIN):
            if entry.state is ConfigEntryState.LOADED:
                await hass.config_entries.async_unload(entry.entry_id)
        await servers.stop()


@pytest.fixture(autouse=True)
def quick_probes() -> Iterator[None]:
    """Shorter waits for silent devices, so the error paths take a second, not a minute."""
    with (
        patch.object(discovery, "DISCOVERY_PROBE_TIMEOUT", 0.3),
        patch.object(discovery, "UNIT_SCAN_TIMEOUT", 0.2),
    ):
        yield


def settings_for(sims: Sims, **changes: Any) -> SearchSettings:
    """The search defaults, on the simulators' ports and with test-sized timeouts."""
    base = SearchSettings(
        tcp_ports=(sims.tcp_port,),
        udp_port=sims.udp_port,
        budget=20.0,
        responder_budget=5.0,
        connect_timeout=0.3,
        probe_timeout=0.3,
        dongle_window=0.5,
    )
    return replace(base, **changes)


def use(settings: SearchSettings, plan: ScanPlan | None = None) -> ExitStack:
    """Patch the search settings (and the adapters' plan, which cannot be real here)."""
    stack = ExitStack()
    stack.enter_context(patch.object(discovery, "DEFAULT_SEARCH_SETTINGS", settings))
    if plan is not None:
        stack.enter_context(patch.object(discovery, "async_scan_plan", AsyncMock(return_value=plan)))
    return stack


def zeroconf_info(
    host: str,
    port: int,
    serial: str | None = ET_SERIAL,
    unit: int | None = 247,
    txt: dict[str, str] | None = None,
) -> ZeroconfServiceInfo:
    """An announcement as Home Assistant's zeroconf integration hands it over."""
    properties: dict[str, Any] = {"manufacturer": "GoodWe", "model": "GW10K-ET", "port": str(port)}
    if serial is not None:
        properties["serial"] = serial
    if unit is not None:
        properties["unit"] = str(unit)
    properties.update(txt or {})
    return ZeroconfServiceInfo(
        ip_address=ip_address(host),
        ip_addresses=[ip_address(host)],
        port=port,
        hostname=f"sim-{serial}.local.",
        type=MODBUS_SERVICE_TYPE,
        name=f"GW10K-ET {serial}.{MODBUS_SERVICE_TYPE}",
        properties=properties,
    )


async def start_zeroconf(hass: HomeAssistant, info: ZeroconfServiceInfo) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_ZEROCONF}, data=info)
    return dict(result)


async def start_dhcp(hass: HomeAssistant, ip: str, mac: str, hostname: str = "") -> dict[str, Any]:
    info = DhcpServiceInfo(ip=ip, hostname=hostname, macaddress=mac.replace(":", "").lower())
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_DHCP}, data=info)
    return dict(result)


async def confirm(hass: HomeAssistant, result: dict[str, Any]) -> ConfigEntry:
    """Confirm a discovered device; returns the loaded entry."""
    assert result["type"] is FlowResultType.FORM, result
    assert result["step_id"] == "discovery_confirm"
    done = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    done = await answer_meter_locations(hass, done)
    assert done["type"] is FlowResultType.CREATE_ENTRY, done
    await hass.async_block_till_done()
    entry: ConfigEntry = done["result"]
    assert entry.state is ConfigEntryState.LOADED
    return entry


async def after_progress(hass: HomeAssistant, result: Any) -> dict[str, Any]:
    """Wait for a progress step's task; returns the step that follows it. (A task that is over before
    the progress step is shown, like one failing at once, goes straight on to that step.)"""
    if result["type"] is FlowResultType.SHOW_PROGRESS:
        await hass.async_block_till_done()
        result = await hass.config_entries.flow.async_configure(result["flow_id"])
    return dict(result)


def manual_entry(
    unique_id: str, host: str, port: int, transport: str = "tcp", **kwargs: Any
) -> MockConfigEntry:
    """An entry as the user step makes it (devices left out: they are not needed here)."""
    data = {CONF_HOST: host, CONF_PORT: port, CONF_TRANSPORT: transport, CONF_UNIT_IDS: [], CONF_DEVICES: []}
    return MockConfigEntry(domain=DOMAIN, unique_id=unique_id, data=data, **kwargs)


def requests(sims: Sims, host: str) -> int:
    return sum(server.count() for server in sims.servers if server.host == host)


# -- the manifest ----------------------------------------------------------------------------------------


async def test_manifest_matchers_reach_home_assistant(hass: HomeAssistant) -> None:
    """The zeroconf type and every DHCP matcher are what Home Assistant's loader hands to its discovery."""
    zeroconf = await async_get_zeroconf(hass)
    assert {"domain": DOMAIN} in zeroconf[MODBUS_SERVICE_TYPE]
    ours = [
        {k: v for k, v in m.items() if k != "domain"}
        for m in await async_get_dhcp(hass)
        if m["domain"] == DOMAIN
    ]
    assert ours == [matcher.manifest_entry() for matcher in discovery.DHCP_MATCHERS]


# -- zeroconf --------------------------------------------------------------------------------------------


async def test_zeroconf_confirm_creates_entry(hass: HomeAssistant, sims: Sims) -> None:
    server = await sims.serve("127.0.0.2", "tcp", GoodWeEtSim())
    result = await start_zeroconf(hass, zeroconf_info("127.0.0.2", server.port))

    assert result["type"] is FlowResultType.FORM
    assert result["description_placeholders"] == {
        "model": "GoodWe GW10K-ET",
        "serial": ET_SERIAL,
        "address": f"127.0.0.2:{server.port} (tcp)",
        "count": "3",
    }
    flow = hass.config_entries.flow.async_get(result["flow_id"])
    assert flow["context"]["title_placeholders"] == {"name": "GoodWe GW10K-ET (127.0.0.2)"}
    assert flow["context"]["confirm_only"] is True
    entry = await confirm(hass, result)

    assert entry.unique_id == ET_SERIAL
    assert entry.title == "GoodWe GW10K-ET"
    assert entry.data[CONF_HOST] == "127.0.0.2"
    assert entry.data[CONF_PORT] == server.port
    assert entry.data[CONF_TRANSPORT] == "tcp"
    assert entry.data[CONF_UNIT_IDS] == [247]
    assert {device["role"] for device in entry.data[CONF_DEVICES]} == {"inverter", "battery", "meter"}


async def test_zeroconf_without_txt_serial_or_unit(hass: HomeAssistant, sims: Sims) -> None:
    """A bare announcement (no serial, a broken port) is probed at the service's own port."""
    server = await sims.serve("127.0.0.5", "tcp", Sdm630Sim())
    info = zeroconf_info("127.0.0.5", server.port, serial=None, unit=None, txt={"port": "not a port"})
    entry = await confirm(hass, await start_zeroconf(hass, info))
    assert entry.unique_id == SDM630_SERIAL
    assert entry.data[CONF_UNIT_IDS] == [1]


async def test_zeroconf_from_the_simulator(hass: HomeAssistant, contacts: ContactLog) -> None:
    """`python -m simulator serve --discovery`: the dongle query is answered, and the zeroconf records of
    the Modbus TCP endpoints, browsed on loopback and converted by Home Assistant, lead to entries."""
    plant = SimulatedPlant(
        host="127.0.0.3", start=SIM_START, endpoints=["goodwe_et_udp", "sdm630_tcp", "sunspec_tcp"]
    )
    await plant.start()
    services = DiscoveryServices(plant, dongle_port=0)
    browser_zc = loopback_zeroconf()
    browser: AsyncServiceBrowser | None = None
    try:
        await services.start()
        assert services.responder is not None
        assert any("dongle query" in line for line in services.describe())
        replies = await discover_goodwe_dongles(["127.0.0.3"], port=services.responder.port, window=0.3)
        assert [(reply.source, reply.name) for reply in replies] == [("127.0.0.3", "HF_E20")]

        names: set[str] = set()
        seen = asyncio.Event()

        def on_change(zeroconf: Zeroconf, service_type: str, name: str, state_change: object) -> None:
            names.add(name)
            if len(names) == 2:
                seen.set()

        browser = AsyncServiceBrowser(browser_zc.zeroconf, MODBUS_SERVICE_TYPE, handlers=[on_change])
        async with asyncio.timeout(10):
            await seen.wait()
        infos = {}
        for name in names:
            service = AsyncServiceInfo(MODBUS_SERVICE_TYPE, name)
            assert await service.async_request(browser_zc.zeroconf, 3000)
            info = info_from_service(service)
            assert info is not None
            infos[info.properties["serial"]] = info
        assert set(infos) == {SDM630_SERIAL, "SS-INV-0001"}
        assert infos["SS-INV-0001"].properties["unit"] == "1"

        for serial, info in infos.items():
            entry = await confirm(hass, await start_zeroconf(hass, info))
            assert entry.unique_id == serial
            assert entry.data[CONF_HOST] == "127.0.0.3"
    finally:
        if browser is not None:
            await browser.async_cancel()
        await browser_zc.async_close()
        await services.stop()
        await hass.async_block_till_done(wait_background_tasks=True)
        for entry in hass.config_entries.async_entries(DOMAIN):
            await hass.config_entries.async_unload(entry.entry_id)
        await plant.stop()


@pytest.mark.parametrize(
    ("fault", "reason"),
    [("closed", "cannot_connect"), ("silent", "cannot_connect"), ("refuses", "not_supported")],
)
async def test_zeroconf_aborts_without_a_supported_answer(
    hass: HomeAssistant, sims: Sims, fault: str, reason: str
) -> None:
    """No flow is offered for an announced device that does not answer, or answers as nothing we know."""
    server = await sims.serve("127.0.0.2", "tcp", GoodWeEtSim())
    if fault == "silent":
        server.faults.offline = True
    elif fault == "refuses":
        server.faults.exception_code = 2
    port = server.port + 1 if fault == "closed" else server.port
    result = await start_zeroconf(hass, zeroconf_info("127.0.0.2", port))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == reason
    assert hass.config_entries.async_entries(DOMAIN) == []


async def test_known_device_at_the_same_address_is_not_probed(hass: HomeAssistant, sims: Sims) -> None:
    server = await sims.serve("127.0.0.2", "tcp", GoodWeEtSim())
    manual_entry(ET_SERIAL, "127.0.0.2", server.port).add_to_hass(hass)

    result = await start_zeroconf(hass, zeroconf_info("127.0.0.2", server.port))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert server.count() == 0


async def test_ip_change_updates_and_reloads_the_entry(
    hass: HomeAssistant, sims: Sims, caplog: pytest.LogCaptureFixture
) -> None:
    """The inverter gets a new address: its entry follows it and reads it there. The log says which
    plant moved, not its serial or where (the entry shows that)."""
    caplog.set_level(logging.INFO, logger="custom_components.sems")
    old = await sims.serve("127.0.0.2", "tcp", GoodWeEtSim())
    entry = await confirm(hass, await start_zeroconf(hass, zeroconf_info("127.0.0.2", old.port)))
    await old.stop()
    new = await sims.serve("127.0.0.3", "tcp", GoodWeEtSim())
    assert new.port == old.port

    result = await start_zeroconf(hass, zeroconf_info("127.0.0.3", new.port))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_HOST] == "127.0.0.3"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.client.endpoint.host == "127.0.0.3"
    assert new.count() > 0
    moved = [r.getMessage() for r in caplog.records if "another address" in r.getMessage()]
    assert moved == ["GoodWe GW10K-ET answers at another address; its entry follows it"]


async def test_ip_change_found_by_dhcp(hass: HomeAssistant, sims: Sims) -> None:
    """DHCP has no serial: the device is probed at its new address, then its entry follows."""
    await sims.serve("127.0.0.4", "udp", GoodWeEtSim())
    entry = manual_entry(ET_SERIAL, "127.0.0.9", sims.udp_port, "udp")
    entry.add_to_hass(hass)
    with use(settings_for(sims)):
        result = await start_dhcp(hass, "127.0.0.4", HF_MAC)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_HOST] == "127.0.0.4"
    assert entry.data[CONF_PORT] == sims.udp_port
    assert entry.state is ConfigEntryState.NOT_LOADED  # a disabled or not-loaded entry is not reloaded


async def test_second_way_to_a_configured_device_does_not_replace_it(hass: HomeAssistant, sims: Sims) -> None:
    """The same inverter behind a LAN kit and a Wi-Fi dongle: the address the user chose stays."""
    first = await sims.serve("127.0.0.2", "tcp", GoodWeEtSim())
    await sims.serve("127.0.0.3", "tcp", GoodWeEtSim())
    entry = manual_entry(ET_SERIAL, "127.0.0.2", first.port)
    entry.add_to_hass(hass)

    result = await start_zeroconf(hass, zeroconf_info("127.0.0.3", first.port))
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_HOST] == "127.0.0.2"
    assert first.count() > 0  # asked whether the inverter still answers there


async def test_host_name_entries_keep_their_name(hass: HomeAssistant, sims: Sims) -> None:
    """A host name the user typed is never replaced by an address discovery saw."""
    server = await sims.serve("127.0.0.2", "tcp", GoodWeEtSim())
    entry = manual_entry(ET_SERIAL, "inverter.example", server.port)
    entry.add_to_hass(hass)

    result = await start_zeroconf(hass, zeroconf_info("127.0.0.2", server.port))
    assert result["reason"] == "already_configured"
    assert server.count() == 0  # decided from the announcement alone
    with use(settings_for(sims, udp_port=server.port + 1)):
        result = await start_dhcp(hass, "127.0.0.2", HF_MAC)
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_HOST] == "inverter.example"


async def test_different_device_at_a_hand_typed_host_is_a_new_device(hass: HomeAssistant, sims: Sims) -> None:
    """A different serial at a host an entry uses is offered as a new plant; the entry is left alone."""
    server = await sims.serve("127.0.0.2", "tcp", GoodWeEtSim())
    entry = manual_entry("OTHER-INVERTER", "127.0.0.2", server.port)
    entry.add_to_hass(hass)
    before = dict(entry.data)

    result = await start_zeroconf(hass, zeroconf_info("127.0.0.2", server.port))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "discovery_confirm"
    assert entry.data == before
    hass.config_entries.flow.async_abort(result["flow_id"])


async def test_ignored_discoveries_stay_ignored(hass: HomeAssistant, sims: Sims) -> None:
    server = await sims.serve("127.0.0.2", "tcp", GoodWeEtSim())
    ignored = MockConfigEntry(domain=DOMAIN, unique_id=ET_SERIAL, source=SOURCE_IGNORE, data={})
    ignored.add_to_hass(hass)

    result = await start_zeroconf(hass, zeroconf_info("127.0.0.2", server.port))
    assert result["reason"] == "already_configured"
    assert server.count() == 0
    with use(settings_for(sims, udp_port=server.port + 1)):
        result = await start_dhcp(hass, "127.0.0.2", HF_MAC)
    assert result["reason"] == "already_configured"
    assert ignored.source == SOURCE_IGNORE
    assert ignored.data == {}
    assert hass.config_entries.async_entries(DOMAIN) == [ignored]


async def test_the_same_device_is_never_offered_twice(hass: HomeAssistant, sims: Sims) -> None:
    server = await sims.serve("127.0.0.2", "tcp", GoodWeEtSim())
    first = await start_zeroconf(hass, zeroconf_info("127.0.0.2", server.port))
    assert first["step_id"] == "discovery_confirm"

    again = await start_zeroconf(hass, zeroconf_info("127.0.0.2", server.port))
    assert again["reason"] == "already_in_progress"
    with use(settings_for(sims, udp_port=server.port + 1)):
        by_dhcp = await start_dhcp(hass, "127.0.0.2", HF_MAC)
    assert by_dhcp["reason"] == "already_in_progress"
    assert len(hass.config_entries.flow.async_progress()) == 1

    await confirm(hass, first)
    after = await start_zeroconf(hass, zeroconf_info("127.0.0.2", server.port))
    assert after["reason"] == "already_configured"


# -- DHCP ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mac", "hostname"),
    [("00:03:ac:12:34:56", "datamanager"), ("00:27:02:12:34:56", "target")],
    ids=["fronius", "solaredge"],
)
async def test_dhcp_sunspec_vendor_probe_then_entry(
    hass: HomeAssistant, sims: Sims, mac: str, hostname: str
) -> None:
    """SunSpec over Modbus TCP: 502 first (closed here), then 1502 (the simulator's port)."""
    await sims.serve("127.0.0.4", "tcp", SunSpecInverterSim(), SunSpecMeterSim())
    closed = sims.tcp_port + 1
    with use(settings_for(sims, tcp_ports=(closed, sims.tcp_port))):
        result = await start_dhcp(hass, "127.0.0.4", mac, hostname)
    entry = await confirm(hass, result)
    assert entry.unique_id == "SS-INV-0001"
    assert (entry.data[CONF_PORT], entry.data[CONF_TRANSPORT]) == (sims.tcp_port, "tcp")


async def test_dhcp_sma_tries_its_sunspec_unit_first(hass: HomeAssistant, sims: Sims) -> None:
    server = await sims.serve("127.0.0.4", "tcp", SunSpecInverterSim(unit_id=126, serial="SMA-3000123"))
    # 502 refuses: its second try (the usual unit ids) is skipped; 1502 answers at unit 126.
    with use(settings_for(sims, tcp_ports=(sims.tcp_port + 1, sims.tcp_port))):
        result = await start_dhcp(hass, "127.0.0.4", "a4:b1:c2:00:00:01", "sma3000123")
    entry = await confirm(hass, result)
    assert entry.data[CONF_UNIT_IDS] == [126]
    assert {request.unit_id for request in server.requests} == {126}


@pytest.mark.parametrize("framing", ["udp", "tcp"])
async def test_dhcp_goodwe_dongle_udp_then_tcp(hass: HomeAssistant, sims: Sims, framing: str) -> None:
    """A Hi-Flying module: GoodWe UDP 8899 first, Modbus TCP 502 when UDP stays silent."""
    await sims.serve("127.0.0.3", framing, GoodWeEtSim())
    if framing == "tcp":  # the dongle does not answer GoodWe UDP
        silent = await sims.serve("127.0.0.3", "udp", GoodWeEtSim())
        silent.faults.offline = True
    else:
        await sims.serve("127.0.0.9", "tcp", GoodWeDtSim())
    with use(settings_for(sims)):
        result = await start_dhcp(hass, "127.0.0.3", HF_MAC, "hf-lpb100")
    entry = await confirm(hass, result)
    assert entry.unique_id == ET_SERIAL
    assert entry.data[CONF_TRANSPORT] == framing


async def test_dhcp_no_flow_when_nothing_answers(hass: HomeAssistant, sims: Sims) -> None:
    await sims.serve("127.0.0.9", "udp", GoodWeDtSim())
    await sims.serve("127.0.0.9", "tcp", Sdm630Sim())
    with use(settings_for(sims)):
        silent = await start_dhcp(hass, "127.0.0.6", HF_MAC)
        unknown_vendor = await start_dhcp(hass, "127.0.0.7", "00:11:22:33:44:55", "printer")
    assert (silent["type"], silent["reason"]) == (FlowResultType.ABORT, "not_supported")
    assert (unknown_vendor["type"], unknown_vendor["reason"]) == (FlowResultType.ABORT, "not_supported")


async def test_dhcp_probe_budget(hass: HomeAssistant, sims: Sims) -> None:
    """A dongle that swallows every request: the probe gives up at its budget, and no flow is offered."""
    silent = await sims.serve("127.0.0.3", "udp", GoodWeEtSim())
    silent.faults.offline = True
    await sims.serve("127.0.0.9", "tcp", Sdm630Sim())
    started = time.monotonic()
    with use(settings_for(sims)), patch.object(discovery, "DISCOVERY_PROBE_BUDGET", 0.5):
        result = await start_dhcp(hass, "127.0.0.3", HF_MAC)
    assert result["reason"] == "not_supported"
    assert time.monotonic() - started < 1.5


async def test_dhcp_known_host_is_not_probed(hass: HomeAssistant, sims: Sims) -> None:
    server = await sims.serve("127.0.0.2", "tcp", GoodWeEtSim())
    manual_entry("SOMETHING", "127.0.0.2", server.port).add_to_hass(hass)
    with use(settings_for(sims)):
        result = await start_dhcp(hass, "127.0.0.2", HF_MAC)
    assert result["reason"] == "already_configured"
    assert server.count() == 0


# -- search my network ----------------------------------------------------------------------------------


async def _lan_with_devices(sims: Sims) -> list[DongleResponder]:
    """Devices on .2-.6 (the scanned /29), a dongle on .10 (inside the adapter's /28 but not scanned; it
    answers the dongle query), and devices on .12 and the outside host that nothing may touch."""
    await sims.serve("127.0.0.2", "tcp", GoodWeEtSim())
    await sims.serve("127.0.0.3", "udp", GoodWeDtSim())
    await sims.serve("127.0.0.4", "tcp", SunSpecInverterSim(), SunSpecMeterSim())
    await sims.serve("127.0.0.5", "tcp", Sdm630Sim())
    await sims.serve("127.0.0.6", "tcp", GoodWeEtSim(serial="9010KETU000SIM06"))
    await sims.serve("127.0.0.6", "udp", GoodWeEtSim(serial="9010KETU000SIM06"))  # the same one, over UDP
    await sims.serve("127.0.0.10", "udp", GoodWeEtSim(serial="9010KETU000SIM10"))
    await sims.serve("127.0.0.12", "tcp", Sdm630Sim(serial=22222222))
    await sims.serve(OUTSIDE_HOST, "tcp", Sdm630Sim(serial=99999999))
    first = DongleResponder("127.0.0.3", 0)
    await first.start()
    responders = [first, DongleResponder("127.0.0.10", first.port)]
    await responders[1].start()
    return responders


async def test_search_lists_exactly_the_simulated_devices(
    hass: HomeAssistant, sims: Sims, contacts: ContactLog
) -> None:
    responders = await _lan_with_devices(sims)
    plan = ScanPlan(
        networks=(IPv4Network("127.0.0.0/29"),),
        allowed=(TEST_NET,),
        broadcasts=(IPv4Address("127.0.0.3"), IPv4Address("127.0.0.10")),  # loopback has no broadcast
    )
    settings = settings_for(sims, dongle_port=responders[0].port)
    progress: list[float] = []

    def record(flow: SemsConfigFlow, fraction: float) -> None:
        progress.append(fraction)

    try:
        with use(settings, plan), patch.object(SemsConfigFlow, "async_update_progress", record, create=True):
            result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
            started = time.monotonic()
            result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_HOST: ""})
            assert result["step_id"] == "search"
            assert result["description_placeholders"] == {"networks": "127.0.0.0/29", "seconds": "20"}
            result = await after_progress(hass, result)
            elapsed = time.monotonic() - started
    finally:
        for responder in responders:
            await responder.stop()
    print(f"search of 127.0.0.0/29 plus the dongle query: {elapsed:.2f} s")

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "pick"
    assert result["description_placeholders"] == {"count": "6", "networks": "127.0.0.0/29", "configured": "0"}
    options = result["data_schema"].schema[CONF_DEVICE].config["options"]
    tcp, udp = sims.tcp_port, sims.udp_port
    assert [option["value"] for option in options] == [
        f"127.0.0.2:{tcp}/tcp",
        f"127.0.0.3:{udp}/udp",
        f"127.0.0.4:{tcp}/tcp",
        f"127.0.0.5:{tcp}/tcp",
        f"127.0.0.6:{tcp}/tcp",  # found over TCP and UDP: offered once, over Modbus TCP
        f"127.0.0.10:{udp}/udp",  # answered the dongle query from outside the scanned hosts
    ]
    assert options[0]["label"] == f"GoodWe GW10K-ET ({ET_SERIAL}) + 2 more at 127.0.0.2:{tcp} tcp, unit 247"
    assert elapsed < settings.budget
    assert progress[-1] == 1.0
    assert progress == sorted(progress)
    # Nothing outside the plan was touched: not the /28's .12, not the outside host.
    assert requests(sims, "127.0.0.12") == requests(sims, OUTSIDE_HOST) == 0
    assert contacts.destinations <= {str(host) for host in TEST_NET}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_DEVICE: f"127.0.0.4:{tcp}/tcp"}
    )
    result = await answer_meter_locations(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == "SS-INV-0001"
    assert result["data"][CONF_UNIT_IDS] == [1]
    await hass.async_block_till_done()
    assert result["result"].state is ConfigEntryState.LOADED


async def test_search_never_contacts_outside_the_requested_range(
    hass: HomeAssistant, sims: Sims, contacts: ContactLog
) -> None:
    """Devices and a dongle just outside a /29 stay untouched; pytest-socket refuses any other address."""
    responders = await _lan_with_devices(sims)
    narrow = IPv4Network("127.0.0.0/29")
    contacts.allow([str(host) for host in narrow.hosts()])
    plan = ScanPlan(networks=(narrow,), allowed=(narrow,), broadcasts=(narrow.broadcast_address,))
    try:
        with use(settings_for(sims, dongle_port=responders[0].port), plan):
            result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
            result = await after_progress(
                hass, await hass.config_entries.flow.async_configure(result["flow_id"], {})
            )
    finally:
        for responder in responders:
            await responder.stop()

    assert result["step_id"] == "pick"
    assert contacts.connects
    assert contacts.destinations <= {str(address) for address in narrow}
    assert ("0.0.0.0", "127.0.0.7") in contacts.sends  # the dongle query, to the /29's broadcast address
    assert responders[1].queries == 0
    for host in ("127.0.0.10", "127.0.0.12", OUTSIDE_HOST):
        assert requests(sims, host) == 0


async def test_search_leaves_out_configured_devices_and_follows_moved_ones(
    hass: HomeAssistant, sims: Sims
) -> None:
    await sims.serve("127.0.0.2", "tcp", GoodWeEtSim())
    await sims.serve("127.0.0.4", "tcp", Sdm630Sim())
    await sims.serve("127.0.0.9", "udp", GoodWeDtSim())
    here = manual_entry(ET_SERIAL, "127.0.0.2", sims.tcp_port)
    moved = manual_entry(SDM630_SERIAL, "127.0.0.11", sims.tcp_port)  # nothing answers there any more
    cloud = MockConfigEntry(domain=DOMAIN, data={"username": "u", "password": "p", "powerstation_id": "x"})
    for entry in (here, moved, cloud):  # the cloud integration's entries share the domain, without ids
        entry.add_to_hass(hass)
    plan = ScanPlan(networks=(IPv4Network("127.0.0.0/29"),), allowed=(TEST_NET,), broadcasts=())

    with use(settings_for(sims), plan):
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await after_progress(
            hass, await hass.config_entries.flow.async_configure(result["flow_id"], {})
        )

    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "nothing_found"
    assert result["description_placeholders"] == {"networks": "127.0.0.0/29", "configured": "2"}
    assert here.data[CONF_HOST] == "127.0.0.2"
    assert moved.data[CONF_HOST] == "127.0.0.4"


async def test_search_finds_nothing_then_again_then_by_hand(hass: HomeAssistant, sims: Sims) -> None:
    await sims.serve("127.0.0.9", "udp", GoodWeDtSim())
    await sims.serve("127.0.0.9", "tcp", Sdm630Sim())
    plan = ScanPlan(networks=(IPv4Network("127.0.0.4/30"),), allowed=(TEST_NET,), broadcasts=())
    with use(settings_for(sims), plan):
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await after_progress(
            hass, await hass.config_entries.flow.async_configure(result["flow_id"], {})
        )
        assert result["step_id"] == "nothing_found"
        assert result["menu_options"] == ["search", "user"]

        await sims.serve("127.0.0.5", "tcp", Sdm630Sim(serial=55555555))  # switched on in the meantime
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "search"})
        result = await after_progress(hass, result)
        assert result["step_id"] == "pick"
        assert result["description_placeholders"]["count"] == "1"

        other = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        with patch.object(discovery, "async_search", side_effect=RuntimeError("boom")):
            other = await after_progress(
                hass, await hass.config_entries.flow.async_configure(other["flow_id"], {})
            )
        assert other["step_id"] == "nothing_found"
        other = await hass.config_entries.flow.async_configure(other["flow_id"], {"next_step_id": "user"})
        assert other["type"] is FlowResultType.FORM
        assert other["step_id"] == "user"
        other = await hass.config_entries.flow.async_configure(
            other["flow_id"], {CONF_HOST: "127.0.0.5", CONF_PORT: sims.tcp_port, CONF_TRANSPORT: "tcp"}
        )
        other = await answer_meter_locations(hass, other)
        assert other["type"] is FlowResultType.CREATE_ENTRY

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_DEVICE: f"127.0.0.5:{sims.tcp_port}/tcp"}
    )
    assert result["type"] is FlowResultType.ABORT  # added by hand in the meantime
    assert result["reason"] == "already_configured"


async def test_search_budget_bounds_the_wait(hass: HomeAssistant, sims: Sims) -> None:
    """A device that accepts connections but answers far too late cannot hold the search up."""
    await sims.serve("127.0.0.2", "tcp", Sdm630Sim())
    slow = await sims.serve("127.0.0.3", "tcp", Sdm630Sim(serial=33333333))
    slow.faults.delay = 30
    await sims.serve("127.0.0.9", "udp", GoodWeDtSim())
    plan = ScanPlan(networks=(IPv4Network("127.0.0.0/29"),), allowed=(TEST_NET,), broadcasts=())
    settings = settings_for(sims, budget=2.0, responder_budget=0.5, probe_timeout=10.0)
    started = time.monotonic()
    with use(settings, plan):
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await after_progress(
            hass, await hass.config_entries.flow.async_configure(result["flow_id"], {})
        )
    assert time.monotonic() - started < settings.budget + 1.0
    assert result["step_id"] == "pick"
    options = result["data_schema"].schema[CONF_DEVICE].config["options"]
    assert [option["value"] for option in options] == [f"127.0.0.2:{sims.tcp_port}/tcp"]


async def test_closing_the_search_stops_it(hass: HomeAssistant, sims: Sims) -> None:
    """The user closes the dialog mid-search: the scan is cancelled, nothing keeps running."""
    slow = await sims.serve("127.0.0.2", "tcp", Sdm630Sim())
    slow.faults.delay = 30
    await sims.serve("127.0.0.9", "udp", GoodWeDtSim())
    plan = ScanPlan(
        networks=(IPv4Network("127.0.0.0/30"),), allowed=(TEST_NET,), broadcasts=(IPv4Address("127.0.0.3"),)
    )
    with use(settings_for(sims, probe_timeout=10.0, dongle_window=10.0), plan):
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
        assert result["type"] is FlowResultType.SHOW_PROGRESS
        await asyncio.sleep(0.5)
        hass.config_entries.flow.async_abort(result["flow_id"])
        await hass.async_block_till_done()
    assert hass.config_entries.flow.async_progress() == []


# -- unit scan behind one host ---------------------------------------------------------------------------


async def start_unit_scan(hass: HomeAssistant, user_input: dict[str, Any]) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**user_input, CONF_UNIT_IDS: " Scan "}
    )
    return dict(result)


async def test_unit_scan_finds_every_meter_behind_a_gateway(hass: HomeAssistant, sims: Sims) -> None:
    gateway = await sims.serve("127.0.0.2", "rtu-over-tcp", Sdm630Sim(unit_id=1), Sdm120Sim(unit_id=2))
    with patch.object(discovery, "UNIT_SCAN_IDS", (1, 2, 3, 4)):
        result = await start_unit_scan(
            hass, {CONF_HOST: "127.0.0.2", CONF_PORT: gateway.port, CONF_TRANSPORT: "rtu-over-tcp"}
        )
        assert result["step_id"] == "unit_scan"
        assert result["description_placeholders"]["host"] == "127.0.0.2"
        result = await after_progress(hass, result)
    result = await answer_meter_locations(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_UNIT_IDS] == [1, 2]
    assert result["data"][CONF_TRANSPORT] == "rtu-over-tcp"
    assert [device["profile"] for device in result["data"][CONF_DEVICES]] == [
        "eastron_sdm630",
        "eastron_sdm120",
    ]
    assert {request.unit_id for request in gateway.requests} == {1, 2}  # 3 and 4: "no response"


async def test_unit_scan_auto_falls_back_to_udp(hass: HomeAssistant, sims: Sims) -> None:
    """Automatic: nothing accepts TCP on the port, so the units are asked over GoodWe UDP."""
    await sims.serve(
        "127.0.0.3", "udp", GoodWeDtSim(unit_id=127), GoodWeDtSim(unit_id=126, serial="5015KDTU000SIM02")
    )
    with patch.object(discovery, "UNIT_SCAN_IDS", (126, 127, 1)):
        result = await start_unit_scan(
            hass, {CONF_HOST: "127.0.0.3", CONF_PORT: sims.udp_port, CONF_TRANSPORT: "auto"}
        )
        result = await after_progress(hass, result)
    result = await answer_meter_locations(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_TRANSPORT] == "udp"
    assert [device["serial"] for device in result["data"][CONF_DEVICES]] == [
        "5015KDTU000SIM02",
        "5015KDTU000SIM01",
    ]


async def test_unit_scan_lists_a_device_answering_on_every_id_once(hass: HomeAssistant, sims: Sims) -> None:
    """Many Modbus TCP devices ignore the unit id: the same meter at ids 1 and 2 is one device."""
    await sims.serve("127.0.0.5", "tcp", Sdm630Sim(unit_id=1), Sdm630Sim(unit_id=2))
    with patch.object(discovery, "UNIT_SCAN_IDS", (1, 2)):
        result = await start_unit_scan(
            hass, {CONF_HOST: "127.0.0.5", CONF_PORT: sims.tcp_port, CONF_TRANSPORT: "auto"}
        )
        result = await answer_meter_locations(hass, await after_progress(hass, result))
    assert result["data"][CONF_TRANSPORT] == "tcp"
    assert [device["unit_id"] for device in result["data"][CONF_DEVICES]] == [1]
    assert result["data"][CONF_UNIT_IDS] == [1]


@pytest.mark.parametrize(
    ("problem", "error"),
    [("nothing", "timeout"), ("closed", "cannot_connect"), ("bug", "unknown")],
)
async def test_unit_scan_errors_then_recovery(
    hass: HomeAssistant, sims: Sims, problem: str, error: str, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = await sims.serve("127.0.0.2", "rtu-over-tcp", Sdm630Sim(unit_id=5))
    good = {CONF_HOST: "127.0.0.2", CONF_PORT: gateway.port, CONF_TRANSPORT: "rtu-over-tcp"}
    bad = {**good, CONF_PORT: gateway.port + 1} if problem == "closed" else good
    with ExitStack() as stack:
        stack.enter_context(
            patch.object(discovery, "UNIT_SCAN_IDS", (1, 2) if problem == "nothing" else (5,))
        )
        if problem == "bug":
            stack.enter_context(patch.object(discovery, "async_scan_units", side_effect=RuntimeError("boom")))
        result = await after_progress(hass, await start_unit_scan(hass, bad))
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "user"
        assert result["errors"] == {"base": error}
        if problem == "bug":
            assert "RuntimeError: boom" in caplog.text

    with patch.object(discovery, "UNIT_SCAN_IDS", (5,)):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {**good, CONF_UNIT_IDS: "scan"}
        )
        result = await after_progress(hass, result)
    result = await answer_meter_locations(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_UNIT_IDS] == [5]


async def test_unit_scan_of_a_missing_serial_port(hass: HomeAssistant, sims: Sims) -> None:
    """Automatic with a device path scans over serial; a port that does not exist cannot connect."""
    result = await after_progress(
        hass, await start_unit_scan(hass, {CONF_HOST: "/dev/ttySEMSNONE", CONF_TRANSPORT: "auto"})
    )
    assert result["errors"] == {"base": "cannot_connect"}


async def test_unit_scan_checks_the_form_first(hass: HomeAssistant, sims: Sims) -> None:
    result = await start_unit_scan(hass, {CONF_HOST: "not a host!", CONF_TRANSPORT: "auto"})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_HOST: "invalid_host"}


async def test_unit_scan_of_a_configured_device_aborts(hass: HomeAssistant, sims: Sims) -> None:
    await sims.serve("127.0.0.5", "tcp", Sdm630Sim())
    manual_entry(SDM630_SERIAL, "127.0.0.5", sims.tcp_port).add_to_hass(hass)
    with patch.object(discovery, "UNIT_SCAN_IDS", (1,)):
        result = await start_unit_scan(
            hass, {CONF_HOST: "127.0.0.5", CONF_PORT: sims.tcp_port, CONF_TRANSPORT: "tcp"}
        )
        result = await after_progress(hass, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


# -- the pieces, without a network ------------------------------------------------------------------------


def _adapter(name: str, *ipv4: tuple[str, int], enabled: bool = True) -> dict[str, Any]:
    return {
        "name": name,
        "index": 1,
        "enabled": enabled,
        "auto": True,
        "default": False,
        "ipv6": [],
        "ipv4": [{"address": address, "network_prefix": prefix} for address, prefix in ipv4],
    }


def test_scan_plan_from_adapters() -> None:
    adapters: list[Any] = [
        _adapter("lo", ("127.0.0.1", 8)),
        _adapter("eth0", ("192.168.1.10", 24), ("169.254.7.7", 16)),
        _adapter("wlan0", ("10.20.30.40", 16)),
        _adapter("docker0", ("172.17.0.1", 16), enabled=False),
        _adapter("wan", ("81.2.69.165", 27)),  # a public address (a hosted server)
        _adapter("ptp", ("10.99.0.1", 31)),
        _adapter("eth1", ("192.168.1.11", 24)),  # a second address on the same network
        _adapter("br0", ("192.168.1.11", 24)),  # and the same address listed twice
    ]
    plan = discovery.scan_plan(adapters)
    assert plan.networks == (
        IPv4Network("192.168.1.0/24"),
        IPv4Network("10.20.30.0/24"),
        IPv4Network("10.99.0.0/31"),
    )
    assert plan.allowed == (
        IPv4Network("192.168.1.0/24"),
        IPv4Network("10.20.0.0/16"),
        IPv4Network("10.99.0.0/31"),
    )
    assert plan.broadcasts == (IPv4Address("192.168.1.255"), IPv4Address("10.20.255.255"))
    assert plan.describe() == "192.168.1.0/24, 10.20.30.0/24, 10.99.0.0/31"

    limited = discovery.scan_plan(adapters, max_addresses=300)
    assert limited.networks == (IPv4Network("192.168.1.0/24"), IPv4Network("10.99.0.0/31"))
    assert discovery.scan_plan([]).describe() == "-"


ODD_ADAPTERS = [
    ("240.1.2.3", 4),
    ("0.1.2.3", 8),
    ("255.255.255.255", 32),
    ("224.0.0.1", 4),
    ("192.0.2.7", 24),
]


@pytest.mark.parametrize(
    "odd", ODD_ADAPTERS, ids=["reserved", "this-network", "broadcast", "multicast", "documentation"]
)
def test_odd_adapters_are_left_out_of_the_plan(odd: tuple[str, int]) -> None:
    """An adapter in a reserved, "this network", multicast or documentation range is left out; the
    private network beside it stays in the plan (only computed here, nothing is sent)."""
    plan = discovery.scan_plan([_adapter("odd", odd), _adapter("eth0", ("192.168.7.10", 30))])
    assert plan.networks == (IPv4Network("192.168.7.8/30"),)
    assert plan.allowed == (IPv4Network("192.168.7.8/30"),)
    assert plan.broadcasts == (IPv4Address("192.168.7.11"),)


@pytest.mark.parametrize(
    "odd", ODD_ADAPTERS, ids=["reserved", "this-network", "broadcast", "multicast", "documentation"]
)
async def test_an_odd_adapter_does_not_fail_the_search(
    hass: HomeAssistant, contacts: ContactLog, caplog: pytest.LogCaptureFixture, odd: tuple[str, int]
) -> None:
    """With only an odd adapter, "search my network" finds nothing to search and says so (it used to
    fail with an error in the log); nothing is sent anywhere."""
    with patch.object(
        discovery.network, "async_get_adapters", AsyncMock(return_value=[_adapter("odd", odd)])
    ):
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await after_progress(
            hass, await hass.config_entries.flow.async_configure(result["flow_id"], {})
        )
    assert result["step_id"] == "nothing_found"
    assert result["description_placeholders"]["networks"] == "-"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert contacts.destinations == set()


async def test_scan_plan_reads_home_assistants_adapters(hass: HomeAssistant) -> None:
    """The test harness's adapter (eth0, 10.10.10.10/24): only computed here, nothing is sent."""
    plan = await discovery.async_scan_plan(hass)
    assert plan == ScanPlan(
        (IPv4Network("10.10.10.0/24"),), (IPv4Network("10.10.10.0/24"),), (IPv4Address("10.10.10.255"),)
    )


async def test_search_without_networks_sends_nothing(contacts: ContactLog) -> None:
    fractions: list[float] = []
    result = await discovery.async_search(ScanPlan((), (), ()), SearchSettings(), fractions.append)
    assert fractions == [1.0]
    assert (result.found, result.complete, result.checked, result.dongles) == ((), True, 0, 0)
    assert contacts.destinations == set()


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
    matched = [m.brand for m in discovery.DHCP_MATCHERS if m.matches(mac, hostname)]
    assert matched == ([vendor] if vendor else [])


def test_dhcp_probe_order() -> None:
    settings = SearchSettings(tcp_ports=(502, 1502), udp_port=8899)
    sma = discovery.dhcp_candidates("192.0.2.5", "00:15:bb:00:00:01", "", settings)
    assert [(c.endpoint.port, c.unit_ids) for c in sma] == [
        (502, (126,)),
        (502, None),
        (1502, (126,)),
        (1502, None),
    ]
    goodwe = discovery.dhcp_candidates("192.0.2.6", HF_MAC, "", settings)
    assert [(c.endpoint.transport, c.endpoint.port) for c in goodwe] == [
        (TransportType.UDP, 8899),
        (TransportType.TCP, 502),
    ]
    assert discovery.dhcp_candidates("192.0.2.7", "00:11:22:33:44:55", "", settings) == []


@pytest.mark.parametrize(
    ("value", "expected"), [("502", 502), (b"1502", 1502), (" 7 ", 7), ("0", None), ("x", None), (None, None)]
)
def test_txt_numbers(value: Any, expected: int | None) -> None:
    assert discovery.txt_number({"port": value}, "port", 1, 65535) == expected


@pytest.mark.parametrize(
    ("stored", "found", "expected"),
    [
        ({CONF_HOST: "192.0.2.1", CONF_PORT: 502, CONF_TRANSPORT: "tcp"}, ("192.0.2.9", 1502, "tcp"),
         {CONF_HOST: "192.0.2.9", CONF_PORT: 1502, CONF_TRANSPORT: "tcp"}),
        ({CONF_HOST: "192.0.2.1", CONF_PORT: 8899, CONF_TRANSPORT: "udp"}, ("192.0.2.9", 502, "tcp"),
         {CONF_HOST: "192.0.2.9", CONF_PORT: 8899, CONF_TRANSPORT: "udp"}),
        ({CONF_HOST: "192.0.2.1", CONF_PORT: 502, CONF_TRANSPORT: "tcp"}, ("192.0.2.1", 502, "tcp"), None),
        ({CONF_HOST: "inverter.lan", CONF_PORT: 502, CONF_TRANSPORT: "tcp"}, ("192.0.2.9", 502, "tcp"), None),
        ({CONF_HOST: "/dev/ttyS0", CONF_PORT: 0, CONF_TRANSPORT: "serial"}, ("192.0.2.9", 502, "tcp"), None),
        ({}, ("192.0.2.9", 502, "tcp"), None),
    ],
)  # fmt: skip
def test_followed_data(
    stored: dict[str, Any], found: tuple[str, int, str], expected: dict[str, Any] | None
) -> None:
    host, port, transport = found
    assert discovery.followed_data(stored, Endpoint(host, port, TransportType(transport))) == expected


async def test_answers_at_needs_a_usable_entry() -> None:
    assert not await discovery.async_answers_at({}, ET_SERIAL)


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
    chosen = discovery.distinct_choices(found, configured={"C"})
    assert [(f.host, f.transport) for f in chosen] == [("192.0.2.2", "tcp"), ("192.0.2.3", "udp")]
    assert discovery.choice_label(chosen[1]) == "GoodWe GW10K-ET (B) at 192.0.2.3:8899 udp, unit 247"
