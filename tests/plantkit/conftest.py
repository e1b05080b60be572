"""Fixtures for library tests: simulated endpoints on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from simulator.plant import SimulatedPlant

# A fixed, sunny moment: values are stable and every quantity is non-zero.
SIM_START = datetime(2026, 6, 21, 12, 0, 0)


@pytest.fixture
async def plant(socket_enabled: None) -> AsyncIterator[SimulatedPlant]:
    """Every simulated endpoint, on free loopback ports; time only moves when a test advances it."""
    sim = SimulatedPlant(start=SIM_START)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()
