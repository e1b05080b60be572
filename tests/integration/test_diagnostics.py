"""Diagnostics download: useful content, with host and serials redacted."""

from __future__ import annotations

import json

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from simulator.plant import SimulatedPlant

from .conftest import GOODWE_ET_TCP, HOST, add_plant


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    plant: SimulatedPlant,
    snapshot: SnapshotAssertion,
) -> None:
    """The GoodWe ET's diagnostics: stored connection, planned requests, readings; no host or serial."""
    entry = await add_plant(hass, plant, GOODWE_ET_TCP)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    text = json.dumps(diagnostics)
    assert HOST not in text
    assert GOODWE_ET_TCP.unique_id not in text
    port = diagnostics["endpoint"]["port"]
    assert port == plant.port(GOODWE_ET_TCP.endpoint)
    diagnostics["endpoint"]["port"] = diagnostics["entry"]["data"]["port"] = "<free port>"
    assert diagnostics == snapshot
