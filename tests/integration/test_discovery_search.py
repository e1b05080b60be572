""" "Search my network" in the config flow, on loopback only: the plan from Home Assistant's adapters,
the search, the list to pick from, and what the search never touches.

``sims`` and ``contacts`` come from the integration conftest (see ``test_discovery.py``). What cannot run
here is replaced, nothing else: Home Assistant's network adapters (the plan of a search is set to loopback
networks) and broadcast delivery (loopback has none, so the dongle query goes to each responder's
address). The scans, probes and entries are real, and ``contacts`` proves that nothing leaves the loopback
test hosts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from ipaddress import IPv4Address, IPv4Network
from typing import Any
from unittest.mock import AsyncMock, patch

import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.sems import config_flow, discovery
from custom_components.sems.config_flow import CONF_DEVICE, SemsConfigFlow
from custom_components.sems.const import CONF_TRANSPORT, CONF_UNIT_IDS, DOMAIN
from custom_components.sems.discovery import adapter_interfaces
from custom_components.sems.plantkit.discovery import DEFAULT_SETTINGS, DiscoverySettings, ScanPlan, scan_plan
from simulator.devices.eastron import Sdm630Sim
from simulator.devices.goodwe import GoodWeDtSim, GoodWeEtSim

from ..plantkit.lan import OUTSIDE_HOST, TEST_NET, ContactLog, Sims, requests, serve_lan
from .common import ET_SERIAL, SDM630_SERIAL, after_progress, discovering_with, manual_entry, settings_for
from .conftest import answer_meter_locations


async def test_search_lists_exactly_the_simulated_devices(
    hass: HomeAssistant, sims: Sims, contacts: ContactLog
) -> None:
    responders = await serve_lan(sims)
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
        with (
            discovering_with(hass, settings, plan),
            patch.object(SemsConfigFlow, "async_update_progress", record, create=True),
        ):
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
    assert elapsed < settings.search.budget
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
    responders = await serve_lan(sims)
    narrow = IPv4Network("127.0.0.0/29")
    contacts.allow([str(host) for host in narrow.hosts()])
    plan = ScanPlan(networks=(narrow,), allowed=(narrow,), broadcasts=(narrow.broadcast_address,))
    try:
        with discovering_with(hass, settings_for(sims, dongle_port=responders[0].port), plan):
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

    with discovering_with(hass, settings_for(sims), plan):
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
    with discovering_with(hass, settings_for(sims), plan):
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
        with patch.object(config_flow, "search", side_effect=RuntimeError("boom")):
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
    with discovering_with(hass, settings, plan):
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await after_progress(
            hass, await hass.config_entries.flow.async_configure(result["flow_id"], {})
        )
    assert time.monotonic() - started < settings.search.budget + 1.0
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
    with discovering_with(hass, settings_for(sims, probe_timeout=10.0, dongle_window=10.0), plan):
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
        assert result["type"] is FlowResultType.SHOW_PROGRESS
        await asyncio.sleep(0.5)
        hass.config_entries.flow.async_abort(result["flow_id"])
        await hass.async_block_till_done()
    assert hass.config_entries.flow.async_progress() == []


# -- the plan, from Home Assistant's adapters ---------------------------------------------------------


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
    plan = scan_plan(adapter_interfaces(adapters))
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

    limited = scan_plan(adapter_interfaces(adapters), DiscoverySettings(max_addresses=300))
    assert limited.networks == (IPv4Network("192.168.1.0/24"), IPv4Network("10.99.0.0/31"))
    assert scan_plan(adapter_interfaces([])).describe() == "-"


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
    plan = scan_plan(adapter_interfaces([_adapter("odd", odd), _adapter("eth0", ("192.168.7.10", 30))]))
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
    plan = await discovery.async_scan_plan(hass, DEFAULT_SETTINGS)
    assert plan == ScanPlan(
        (IPv4Network("10.10.10.0/24"),), (IPv4Network("10.10.10.0/24"),), (IPv4Address("10.10.10.255"),)
    )
