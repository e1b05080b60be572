"""Helpers several integration test modules share (test modules never import each other)."""

from __future__ import annotations

import socket
from datetime import timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.sems.const import CONF_DEVICES, CONF_TRANSPORT, CONF_UNIT_IDS, DOMAIN
from simulator.plant import SimulatedPlant

from .conftest import HOST, PlantCase

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
    assert result["menu_options"] == ["polling", "cloud_sync"]
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "polling"})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "polling"
    return dict(result)
