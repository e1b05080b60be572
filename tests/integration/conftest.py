"""Fixtures for the integration tests: Home Assistant plus the simulated plant on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.sems.const import CONF_TRANSPORT, CONF_UNIT_IDS, DOMAIN
from simulator.plant import SimulatedPlant

# A fixed, sunny moment; the plant only moves when a test advances it, so values are stable.
SIM_START = datetime(2026, 6, 21, 12, 0, 0)
HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class PlantCase:
    """How a user would add one simulated endpoint, and what the entry must end up as."""

    endpoint: str
    transport: str
    unit_ids: str | None
    unique_id: str
    title: str
    device_count: int
    stored_transport: str

    def user_input(self, plant: SimulatedPlant) -> dict[str, Any]:
        """The config-flow form as a user fills it in."""
        data: dict[str, Any] = {
            CONF_HOST: HOST,
            CONF_TRANSPORT: self.transport,
            CONF_PORT: plant.port(self.endpoint),
        }
        if self.unit_ids:
            data[CONF_UNIT_IDS] = self.unit_ids
        return data


GOODWE_ET_TCP = PlantCase("goodwe_et_tcp", "tcp", None, "9010KETU000SIM01", "GoodWe GW10K-ET", 3, "tcp")
GOODWE_ET_UDP = PlantCase("goodwe_et_udp", "udp", None, "9010KETU000SIM01", "GoodWe GW10K-ET", 3, "udp")
GOODWE_DT_UDP = PlantCase("goodwe_dt_udp", "udp", None, "5015KDTU000SIM01", "GoodWe GW15K-DT", 1, "udp")
SUNSPEC_TCP = PlantCase("sunspec_tcp", "tcp", "1, 2", "SS-INV-0001", "SunSpecSim SIM-INV-10K", 3, "tcp")
SDM630_TCP = PlantCase("sdm630_tcp", "tcp", None, "12345678", "Eastron SDM630", 1, "tcp")
EASTRON_GATEWAY = PlantCase(
    "eastron_gateway", "rtu-over-tcp", "1, 2", "45678901", "Eastron SDM630", 2, "rtu-over-tcp"
)
HUAWEI_TCP = PlantCase("huawei_tcp", "tcp", None, "HV2240SIM001", "Huawei SUN2000-10KTL-M1", 3, "tcp")

ALL_CASES = [
    GOODWE_ET_TCP,
    GOODWE_ET_UDP,
    GOODWE_DT_UDP,
    SUNSPEC_TCP,
    SDM630_TCP,
    EASTRON_GATEWAY,
    HUAWEI_TCP,
]


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Home Assistant's snapshot serializer (phcc's plugin override loses to syrupy's own fixture here)."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/sems."""


@pytest.fixture
async def plant(hass: HomeAssistant, socket_enabled: None) -> AsyncIterator[SimulatedPlant]:
    """Every simulated endpoint on its own free 127.0.0.1 port; physics frozen at SIM_START.

    At the end, pending work (e.g. a scheduled reload) finishes and every entry is unloaded before the
    servers stop, so no connection races the shutdown (Home Assistant's stop does not unload entries).
    """
    sim = SimulatedPlant(start=SIM_START)
    await sim.start()
    try:
        yield sim
    finally:
        await hass.async_block_till_done(wait_background_tasks=True)
        for entry in hass.config_entries.async_entries(DOMAIN):
            if entry.state is ConfigEntryState.LOADED:
                await hass.config_entries.async_unload(entry.entry_id)
        await sim.stop()


async def add_plant(hass: HomeAssistant, plant: SimulatedPlant, case: PlantCase) -> ConfigEntry:
    """Add an endpoint through the config flow, as a user would; returns the loaded entry."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], case.user_input(plant))
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    entry: ConfigEntry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    return entry
