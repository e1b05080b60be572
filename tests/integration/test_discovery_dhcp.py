"""Discovery in the config flow by DHCP, on loopback only: a lease matched against the vendor registry's
hints is probed with that vendor's profiles, on the ports the settings say, before anything is offered.

``sims``, ``contacts`` (the integration conftest) and the settings are as ``test_discovery.py`` describes;
what the matchers match is tested without a network in ``tests/plantkit/test_discovery_hints.py``.
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.sems.const import CONF_TRANSPORT, CONF_UNIT_IDS
from simulator.devices.eastron import Sdm630Sim
from simulator.devices.goodwe import GoodWeDtSim, GoodWeEtSim
from simulator.devices.sunspec import SunSpecInverterSim, SunSpecMeterSim

from ..plantkit.lan import Sims
from .common import ET_SERIAL, HF_MAC, confirm, discovering_with, manual_entry, settings_for, start_dhcp
from .conftest import QUICK_DISCOVERY


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
    with discovering_with(hass, settings_for(sims, tcp_ports=(closed, sims.tcp_port))):
        result = await start_dhcp(hass, "127.0.0.4", mac, hostname)
    entry = await confirm(hass, result)
    assert entry.unique_id == "SS-INV-0001"
    assert (entry.data[CONF_PORT], entry.data[CONF_TRANSPORT]) == (sims.tcp_port, "tcp")


async def test_dhcp_sma_tries_its_sunspec_unit_first(hass: HomeAssistant, sims: Sims) -> None:
    server = await sims.serve("127.0.0.4", "tcp", SunSpecInverterSim(unit_id=126, serial="SMA-3000123"))
    # 502 refuses: its second try (the usual unit ids) is skipped; 1502 answers at unit 126.
    with discovering_with(hass, settings_for(sims, tcp_ports=(sims.tcp_port + 1, sims.tcp_port))):
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
    with discovering_with(hass, settings_for(sims)):
        result = await start_dhcp(hass, "127.0.0.3", HF_MAC, "hf-lpb100")
    entry = await confirm(hass, result)
    assert entry.unique_id == ET_SERIAL
    assert entry.data[CONF_TRANSPORT] == framing


async def test_dhcp_no_flow_when_nothing_answers(hass: HomeAssistant, sims: Sims) -> None:
    await sims.serve("127.0.0.9", "udp", GoodWeDtSim())
    await sims.serve("127.0.0.9", "tcp", Sdm630Sim())
    with discovering_with(hass, settings_for(sims)):
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
    quick = settings_for(sims, announced=replace(QUICK_DISCOVERY.announced, budget=0.5))
    with discovering_with(hass, quick):
        result = await start_dhcp(hass, "127.0.0.3", HF_MAC)
    assert result["reason"] == "not_supported"
    assert time.monotonic() - started < 1.5


async def test_dhcp_known_host_is_not_probed(hass: HomeAssistant, sims: Sims) -> None:
    server = await sims.serve("127.0.0.2", "tcp", GoodWeEtSim())
    manual_entry("SOMETHING", "127.0.0.2", server.port).add_to_hass(hass)
    with discovering_with(hass, settings_for(sims)):
        result = await start_dhcp(hass, "127.0.0.2", HF_MAC)
    assert result["reason"] == "already_configured"
    assert server.count() == 0
