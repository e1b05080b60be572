"""Energy you can trust: guarded counters and derived energy, the same for every consumer (HA, CLI, cloud).

- ``CounterGuard`` (``counter.py``): one lifetime counter (kWh). Rejects impossible values and spikes,
  continues across wraps, detects resets and replacements, holds nothing for ever; the published total never
  decreases and counts each kWh once.
- ``DailyCounter`` (``daily.py``): a counter that restarts every day (PV energy today), published as the
  energy since local midnight.
- ``PowerIntegrator`` (``integrator.py``): two monotonic totals (positive and negative flow) integrated from
  power where a device has no counter.
- ``CounterWidth``, ``CounterSpec``, ``rated_power_w`` (``spec.py``): how a counter is stored and how fast it
  can grow.

All are pure and deterministic: the caller passes each reading with its timezone-aware time (no clock, no I/O,
no asyncio), and persists ``to_state()`` (a small JSON-safe dict) to ``restore()`` after a restart. Units:
kWh, W.
"""

from __future__ import annotations

from .counter import CounterGuard, Decision, GuardResult, Reason
from .daily import DailyCounter
from .integrator import IntegratedEnergy, IntegrationDecision, PowerIntegrator, trapezoid_kwh
from .spec import (
    DEFAULT_RATED_POWER_W,
    MAX_PLAUSIBLE_KWH,
    CounterSpec,
    CounterWidth,
    rated_power_w,
)

__all__ = [
    "DEFAULT_RATED_POWER_W",
    "MAX_PLAUSIBLE_KWH",
    "CounterGuard",
    "CounterSpec",
    "CounterWidth",
    "DailyCounter",
    "Decision",
    "GuardResult",
    "IntegratedEnergy",
    "IntegrationDecision",
    "PowerIntegrator",
    "Reason",
    "rated_power_w",
    "trapezoid_kwh",
]
