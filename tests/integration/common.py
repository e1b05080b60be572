"""Helpers several integration test modules share (test modules never import each other)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from ipaddress import ip_address
from typing import Any
from unittest.mock import AsyncMock, patch

from homeassistant.config_entries import SOURCE_DHCP, SOURCE_ZEROCONF, ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.service_info.dhcp import DhcpServiceInfo
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.sems import discovery
from custom_components.sems.const import CONF_DEVICES, CONF_TRANSPORT, CONF_UNIT_IDS, DOMAIN
from custom_components.sems.plantkit.discovery import (
    MODBUS_SERVICE_TYPE,
    DiscoverySettings,
    ProbeLimits,
    ScanPlan,
)
from simulator.plant import SimulatedPlant

from ..plantkit.lan import Sims
from .conftest import HOST, QUICK_DISCOVERY, PlantCase, answer_meter_locations

# An entry of the cloud-only "GoodWe SEMS API" integration, which shares the domain.
CLOUD_DATA = {"username": "me@example.com", "password": "secret", "powerstation_id": "0123-abcd"}


def entry_device(hass: HomeAssistant, entry: ConfigEntry, identifier: str) -> dr.DeviceEntry | None:
    """The entry's device with the identifier ``(domain, identifier)``, or None.

    Looks through the entry's own devices: 2026.x deprecates ``async_get_device`` because identifiers are
    no longer unique across entries, and its replacement does not exist in 2025.4.
    """
    for device in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id):
        if (entry.domain, identifier) in device.identifiers:
            return device
    return None


def closed_port() -> int:
    """A loopback TCP port nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


async def poll(hass: HomeAssistant, seconds: float) -> None:
    """Let ``seconds`` pass for Home Assistant's timers and wait for the refresh it triggers."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=seconds))
    await hass.async_block_till_done(wait_background_tasks=True)


def entry_for(plant: SimulatedPlant, case: PlantCase, stored: list[dict[str, object]]) -> MockConfigEntry:
    """An entry as the flow would store it, with the given stored devices."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=case.title,
        unique_id=case.unique_id,
        data={
            CONF_HOST: "127.0.0.1",
            CONF_PORT: plant.port(case.endpoint),
            CONF_TRANSPORT: case.stored_transport,
            CONF_UNIT_IDS: [1, 2] if case.unit_ids else [],
            CONF_DEVICES: stored,
        },
    )


async def open_polling_options(hass: HomeAssistant, entry: ConfigEntry) -> dict[str, Any]:
    """The options menu, then its polling form."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert "polling" in result["menu_options"]
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "polling"})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "polling"
    return dict(result)


# --- discovery --------------------------------------------------------------------------------------------

ET_SERIAL = "9010KETU000SIM01"
SDM630_SERIAL = "12345678"
HF_MAC = "ac:cf:23:00:00:03"  # a Hi-Flying module, as in GoodWe dongles


@contextmanager
def discovering_with(
    hass: HomeAssistant, settings: DiscoverySettings, plan: ScanPlan | None = None
) -> Iterator[None]:
    """The flows discover with ``settings`` (the way any caller passes them: ``hass.data``), and a
    search covers ``plan``: Home Assistant's network adapters cannot be set to loopback networks."""
    before = hass.data.get(discovery.DISCOVERY_SETTINGS)
    hass.data[discovery.DISCOVERY_SETTINGS] = settings
    try:
        if plan is None:
            yield
        else:
            with patch.object(discovery, "async_scan_plan", AsyncMock(return_value=plan)):
                yield
    finally:
        if before is None:
            hass.data.pop(discovery.DISCOVERY_SETTINGS, None)
        else:
            hass.data[discovery.DISCOVERY_SETTINGS] = before


def settings_for(
    sims: Sims, *, budget: float = 20.0, probe_timeout: float = 0.3, **changes: Any
) -> DiscoverySettings:
    """``QUICK_DISCOVERY`` on the simulators' ports, with a test-sized search (``budget`` in all,
    ``probe_timeout`` per request while identifying) and ``changes``."""
    return sims.settings(
        QUICK_DISCOVERY,
        **{
            "search": ProbeLimits(timeout=probe_timeout, budget=budget),
            "responder_budget": 5.0,
            "connect_timeout": 0.3,
            "dongle_window": 0.5,
            **changes,
        },
    )


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
