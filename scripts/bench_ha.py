"""Home Assistant section of ``scripts/bench`` (run by it under pytest; not part of the test suite).

A real Home Assistant from pytest-homeassistant-custom-component's harness gets one config entry per
simulated plant (the simulator runs in ``scripts/bench``'s own process; its ports come in
``SEMS_BENCH_PORTS``), set up through the config flow as a user would. Then, 0.5 s apart (the simulator
runs at 10x, so that is one 5 s poll of plant time), every coordinator refresh is timed with its entities
attached, interleaved with a refresh of the library alone (``PlantMonitor.refresh()``), and the state writes
each refresh causes are counted (``state_changed`` and ``state_reported`` events of the entry's enabled
entities; disabled-by-default diagnostics are left as a user gets them).
Interleaved with both, the same coordinator refresh with every entity writing its state on every refresh
(``CoordinatorEntity``'s default; each entity is told it showed something else), which is what writing
only on change saves. Results go to
``SEMS_BENCH_OUT`` (JSON).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import statistics
import time
from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_HOST, CONF_PORT, EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_component import DATA_INSTANCES

from custom_components.sems.const import CONF_TRANSPORT, CONF_UNIT_IDS, DOMAIN
from custom_components.sems.entity import SemsEntity

PLANTS = (  # simulator endpoint, config-flow input, title in the report
    ("goodwe_et_tcp", {CONF_TRANSPORT: "tcp"}, "GoodWe ET + battery + meter"),
    ("sunspec_tcp", {CONF_TRANSPORT: "tcp", CONF_UNIT_IDS: "1, 2"}, "SunSpec inverter + battery + meter"),
)
PAUSE = 0.5  # wall seconds between refreshes: 5 s of plant time at the simulator's 10x


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/sems."""


async def _add(hass: HomeAssistant, endpoint: str, extra: dict[str, Any], port: int) -> Any:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: port, **extra}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    return result["result"]


async def _cpu(call: Any) -> float:
    cpu = time.process_time()
    await call()
    return time.process_time() - cpu


@pytest.mark.skipif("SEMS_BENCH_OUT" not in os.environ, reason="run by scripts/bench")
async def test_bench_home_assistant(hass: HomeAssistant, socket_enabled: None) -> None:
    """Measure every plant's coordinator refresh (see the module docstring) and write the results."""
    # The harness runs the loop in debug mode and logs at DEBUG level; a user's Home Assistant does neither.
    asyncio.get_running_loop().set_debug(False)
    logging.getLogger().setLevel(logging.WARNING)
    for name in ("homeassistant", "custom_components", "pymodbus"):
        logging.getLogger(name).setLevel(logging.WARNING)
    ports = json.loads(os.environ["SEMS_BENCH_PORTS"])
    refreshes = int(os.environ.get("SEMS_BENCH_REFRESHES", "20"))
    registry = er.async_get(hass)
    results = []
    for endpoint, extra, title in PLANTS:
        entry = await _add(hass, endpoint, extra, ports[endpoint])
        coordinator = entry.runtime_data
        coordinator.update_interval = None  # only the benchmark refreshes
        entity_ids = {e.entity_id for e in er.async_entries_for_config_entry(registry, entry.entry_id)}
        enabled = {
            e.entity_id for e in er.async_entries_for_config_entry(registry, entry.entry_id) if not e.disabled
        }
        writes = 0

        @callback
        def ours(data: Any, ids: set[str] = enabled) -> bool:
            return data["entity_id"] in ids

        @callback
        def count(event: Event[Any]) -> None:
            nonlocal writes
            writes += 1

        unsubscribe = [
            hass.bus.async_listen(kind, count, event_filter=ours)
            for kind in (EVENT_STATE_CHANGED, EVENT_STATE_REPORTED)
        ]
        components = hass.data[DATA_INSTANCES]
        entities: list[SemsEntity] = [
            entity
            for entity_id in enabled
            if isinstance(entity := components[entity_id.split(".")[0]].get_entity(entity_id), SemsEntity)
        ]
        with_entities: list[float] = []
        writing_all: list[float] = []
        alone: list[float] = []
        written: list[int] = []
        written_all: list[int] = []
        for _ in range(refreshes):
            await asyncio.sleep(PAUSE)
            writes = 0
            with_entities.append(await _cpu(coordinator.async_refresh))
            await hass.async_block_till_done()
            written.append(writes)
            await asyncio.sleep(PAUSE)
            # The same with every entity writing its state (CoordinatorEntity's default): each entity is
            # made to believe it showed something else, so its own change check lets the write through.
            for entity in entities:
                entity._shown = object()
            writes = 0
            writing_all.append(await _cpu(coordinator.async_refresh))
            await hass.async_block_till_done()
            written_all.append(writes)
            await asyncio.sleep(PAUSE)
            alone.append(await _cpu(coordinator.monitor.refresh))
        for unsubscribe_one in unsubscribe:
            unsubscribe_one()
        results.append(
            {
                "title": title,
                "entities": len(enabled),
                "entities_registered": len(entity_ids),
                "refreshes": refreshes,
                "writes_per_refresh": statistics.mean(written),
                "writes_per_refresh_writing_all": statistics.mean(written_all),
                "coordinator_refresh_cpu_us": statistics.median(with_entities) * 1e6,
                "coordinator_refresh_writing_all_cpu_us": statistics.median(writing_all) * 1e6,
                "monitor_refresh_cpu_us": statistics.median(alone) * 1e6,
                "ha_side_cpu_us": (statistics.median(with_entities) - statistics.median(alone)) * 1e6,
                "ha_side_writing_all_cpu_us": (statistics.median(writing_all) - statistics.median(alone))
                * 1e6,
            }
        )
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
    Path(os.environ["SEMS_BENCH_OUT"]).write_text(
        json.dumps({"entries": results}, indent=2), encoding="utf-8"
    )
