"""Fixtures for the integration tests: Home Assistant plus the simulated plant on loopback."""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from awesomeversion import AwesomeVersion
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigEntryState, ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.const import __version__ as ha_version
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion
from syrupy.location import PyTestLocation

import custom_components.sems as sems_init
from custom_components.sems.const import CONF_TRANSPORT, CONF_UNIT_IDS, DOMAIN
from custom_components.sems.discovery import DISCOVERY_SETTINGS
from custom_components.sems.plantkit.discovery import DEFAULT_SETTINGS
from custom_components.sems.plantkit.model import Quantity
from simulator.plant import SimulatedPlant

from ..broker import Broker, Subscriber
from ..plantkit.lan import ContactLog, Sims
from .cloud_common import Clock, SocketLog

# A fixed, sunny moment; the plant only moves when a test advances it, so values are stable.
SIM_START = datetime(2026, 6, 21, 12, 0, 0)
HOST = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parents[2]


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
    "eastron_gateway", "rtu-over-tcp", "1, 2", "45678901", "Eastron SDM630 + SDM120", 2, "rtu-over-tcp"
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


# The test stack this run is on: the pinned one (requirements_test.txt), or a newer Home Assistant
# (scripts/test-latest-ha). Home Assistant lays its own structures out differently between releases.
PINNED_HA = re.search(
    r"^homeassistant==(\S+)", (REPO_ROOT / "requirements_test.txt").read_text(encoding="utf-8"), re.MULTILINE
)
ON_NEWER_HA = PINNED_HA is None or AwesomeVersion(ha_version) > AwesomeVersion(PINNED_HA.group(1))


class PinnedHaSnapshotExtension(HomeAssistantSnapshotExtension):
    """Home Assistant's own structures as the pinned release lays them out: snapshots_ha/pinned/."""

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        return str(Path(test_location.filepath).parent / "snapshots_ha" / "pinned")


class LatestHaSnapshotExtension(HomeAssistantSnapshotExtension):
    """Home Assistant's own structures as a newer release lays them out: snapshots_ha/latest/."""

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        return str(Path(test_location.filepath).parent / "snapshots_ha" / "latest")


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Our own data (e.g. diagnostics), the same on every stack: snapshots/.

    Home Assistant's serializer (phcc's plugin override loses to syrupy's own fixture here).
    """
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
def ha_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Home Assistant's own structures (registry entries, devices, states), whose layout changes between
    releases: one snapshot set per stack, chosen by the running Home Assistant version.

    The sets live apart from snapshots/ (and from each other) because syrupy takes every file under a
    snapshot folder as its own: a set it does not use would count as unused, and be deleted on update.
    """
    return snapshot.use_extension(LatestHaSnapshotExtension if ON_NEWER_HA else PinnedHaSnapshotExtension)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/sems."""


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


# Where Home Assistant reports an integration using an API it deprecated ("Detected that custom
# integration 'sems' ..." from the frame helper; deprecated constants and classes from the other).
DEPRECATION_LOGGERS = ("homeassistant.helpers.frame", "homeassistant.helpers.deprecation")


@pytest.fixture(autouse=True)
def no_deprecated_home_assistant_api() -> Iterator[None]:
    """Fail a test in which Home Assistant reports that we use an API it deprecated, so the run on the
    newest release catches a deprecation while the old API still works."""
    handler = _Records()
    loggers = [logging.getLogger(name) for name in DEPRECATION_LOGGERS]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    assert [r.getMessage() for r in handler.records if f"'{DOMAIN}'" in r.getMessage()] == []


@pytest.fixture
async def plant(
    hass: HomeAssistant, socket_enabled: None, request: pytest.FixtureRequest
) -> AsyncIterator[SimulatedPlant]:
    """Every simulated endpoint on its own free 127.0.0.1 port; physics frozen at SIM_START.

    A test may parametrize it (``indirect``) with keyword arguments of ``SimulatedPlant`` (another start,
    plant size or set of endpoints).

    At the end, pending work (e.g. a scheduled reload) finishes and every entry is unloaded before the
    servers stop, so no connection races the shutdown (Home Assistant's stop does not unload entries).
    """
    sim = SimulatedPlant(**{"start": SIM_START, **getattr(request, "param", {})})
    await sim.start()
    try:
        yield sim
    finally:
        await hass.async_block_till_done(wait_background_tasks=True)
        for entry in hass.config_entries.async_entries(DOMAIN):
            if entry.state is ConfigEntryState.LOADED:
                await hass.config_entries.async_unload(entry.entry_id)
        await sim.stop()


@pytest.fixture
def fast_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give up on a silent device after 0.3 s instead of 3 s, so a failed poll takes about a second."""
    endpoint_from_data = sems_init.endpoint_from_data
    monkeypatch.setattr(
        sems_init, "endpoint_from_data", lambda data: replace(endpoint_from_data(data), timeout=0.3)
    )


# Discovery with shorter waits for silent devices, so its error paths take a second, not a minute.
QUICK_DISCOVERY = replace(
    DEFAULT_SETTINGS,
    announced=replace(DEFAULT_SETTINGS.announced, timeout=0.3),
    unit_scan=replace(DEFAULT_SETTINGS.unit_scan, timeout=0.2),
)


@pytest.fixture
def quick_discovery(hass: HomeAssistant) -> None:
    """The flows of the test discover with ``QUICK_DISCOVERY`` (``common.discovering_with`` changes it)."""
    hass.data[DISCOVERY_SETTINGS] = QUICK_DISCOVERY


@pytest.fixture
async def sims(hass: HomeAssistant, contacts: ContactLog, quick_discovery: None) -> AsyncIterator[Sims]:
    """Simulated servers on several loopback addresses (``plantkit.lan.Sims``), discovered with
    ``QUICK_DISCOVERY``; at the end every entry is unloaded before they stop (no poll races the stop)."""
    servers = Sims()
    try:
        yield servers
    finally:
        await hass.async_block_till_done(wait_background_tasks=True)
        for entry in hass.config_entries.async_entries(DOMAIN):
            if entry.state is ConfigEntryState.LOADED:
                await hass.config_entries.async_unload(entry.entry_id)
        await servers.stop()


async def add_plant(hass: HomeAssistant, plant: SimulatedPlant, case: PlantCase) -> ConfigEntry:
    """Add an endpoint through the config flow, as a user would; returns the loaded entry."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], case.user_input(plant))
    result = await answer_meter_locations(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    entry: ConfigEntry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    return entry


async def answer_meter_locations(
    hass: HomeAssistant, result: ConfigFlowResult, *locations: str
) -> ConfigFlowResult:
    """Answer the setup flow's meter-location questions: ``locations`` in order, then the preselected grid."""
    answers = list(locations)
    while result["type"] is FlowResultType.FORM and result["step_id"] == "meter_location":
        user_input = {"location": answers.pop(0)} if answers else {}
        result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert not answers, f"{len(answers)} meter locations were not asked for"
    return result


def quantity_of(entity: er.RegistryEntry) -> Quantity | None:
    """The canonical quantity a sensor shows, from its unique id ("<device key>_<quantity>"); its
    translation key may name it otherwise on a battery or meter."""
    found = [q for q in Quantity if entity.unique_id.endswith(f"_{q}")]
    return max(found, key=len) if found else None


# --- cloud sync (helpers in cloud_common.py) ---------------------------------------------------------------


@pytest.fixture
def config_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """A config directory of this test's own, as Home Assistant has it (with .storage): the sync's files
    land here, and nothing else may. Every cloud-sync test uses it (``pytestmark``)."""
    path = tmp_path / "config"
    (path / ".storage").mkdir(parents=True)
    hass.config.config_dir = str(path)
    return path


@pytest.fixture
def receiver(broker: Broker) -> Iterator[Subscriber]:
    subscriber = Subscriber(broker, answer_erase=True)
    subscriber.start()
    try:
        yield subscriber
    finally:
        subscriber.stop()


@pytest.fixture
def clock() -> Iterator[Clock]:
    fake = Clock()
    with patch("custom_components.sems.cloud._now", fake):
        yield fake


@pytest.fixture
def sockets() -> Iterator[SocketLog]:
    log = SocketLog()
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        with log._lock:
            log.lookups.append((host, port))
        return real_getaddrinfo(host, port, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> Any:
        with log._lock:
            log.connects.append(address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        with log._lock:
            log.connects.append(address)
        return real_connect_ex(self, address)

    with (
        patch.object(socket, "getaddrinfo", getaddrinfo),
        patch.object(socket.socket, "connect", connect),
        patch.object(socket.socket, "connect_ex", connect_ex),
    ):
        yield log
