"""Discovery in the config flow by announcement: the manifest, zeroconf, and entries following their device
to another address (found by zeroconf or DHCP), on loopback only.

Simulated devices listen on 127.0.0.2 and up (``sims``: one shared TCP and one shared UDP port across the
addresses); ``contacts`` lets sockets reach the 127.0.0.0/28 test hosts only and records every contact.
The flows discover with test-sized settings passed through ``hass.data`` (``common.discovering_with``).
DHCP's own tests are in ``test_discovery_dhcp.py``, the search in ``test_discovery_search.py``, the unit
scan in ``test_discovery_unit_scan.py``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from homeassistant.components.zeroconf import info_from_service
from homeassistant.config_entries import SOURCE_IGNORE, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.loader import async_get_dhcp, async_get_zeroconf
from pytest_homeassistant_custom_component.common import MockConfigEntry
from zeroconf import Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo

from custom_components.sems import discovery
from custom_components.sems.const import CONF_DEVICES, CONF_TRANSPORT, CONF_UNIT_IDS, DOMAIN
from custom_components.sems.plantkit.discovery import (
    DEFAULT_SETTINGS,
    DHCP_MATCHERS,
    ZEROCONF_TYPES,
    discover_goodwe_dongles,
)
from custom_components.sems.plantkit.transport import Endpoint, TransportType
from simulator.__main__ import DiscoveryServices
from simulator.devices.eastron import Sdm630Sim
from simulator.devices.goodwe import GoodWeEtSim
from simulator.discovery import MODBUS_SERVICE_TYPE, loopback_zeroconf
from simulator.plant import SimulatedPlant

from ..plantkit.lan import ContactLog, Sims
from .common import (
    ET_SERIAL,
    HF_MAC,
    SDM630_SERIAL,
    confirm,
    discovering_with,
    manual_entry,
    settings_for,
    start_dhcp,
    start_zeroconf,
    zeroconf_info,
)
from .conftest import SIM_START

# -- the manifest ----------------------------------------------------------------------------------------


async def test_manifest_matchers_reach_home_assistant(hass: HomeAssistant) -> None:
    """The manifest's zeroconf types and DHCP matchers are the library's (``ZEROCONF_TYPES``, the
    vendor registry's ``DhcpHint``s, in order), as Home Assistant's loader hands them to its discovery."""
    zeroconf = await async_get_zeroconf(hass)
    assert [service for service, matchers in zeroconf.items() if {"domain": DOMAIN} in matchers] == list(
        ZEROCONF_TYPES
    )
    assert MODBUS_SERVICE_TYPE in ZEROCONF_TYPES  # what the simulator announces
    ours = [
        {k: v for k, v in m.items() if k != "domain"}
        for m in await async_get_dhcp(hass)
        if m["domain"] == DOMAIN
    ]
    assert ours == [matcher.manifest_entry() for matcher in DHCP_MATCHERS]


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


@pytest.mark.usefixtures("quick_discovery")
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
    with discovering_with(hass, settings_for(sims)):
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
    with discovering_with(hass, settings_for(sims, udp_port=server.port + 1)):
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
    with discovering_with(hass, settings_for(sims, udp_port=server.port + 1)):
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
    with discovering_with(hass, settings_for(sims, udp_port=server.port + 1)):
        by_dhcp = await start_dhcp(hass, "127.0.0.2", HF_MAC)
    assert by_dhcp["reason"] == "already_in_progress"
    assert len(hass.config_entries.flow.async_progress()) == 1

    await confirm(hass, first)
    after = await start_zeroconf(hass, zeroconf_info("127.0.0.2", server.port))
    assert after["reason"] == "already_configured"


# -- following a device, the pieces ---------------------------------------------------------------------


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
    assert not await discovery.async_answers_at({}, ET_SERIAL, DEFAULT_SETTINGS)
