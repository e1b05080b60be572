"""The engine behind every scan: check endpoints with bounded concurrency inside a total time budget.

Each endpoint is first checked for reachability (a TCP connect, a UDP round trip), and only what answers
is identified with ``PlantClient.probe``. Results are collected as they come, so when the budget runs
out the scan stops (every task cancelled and awaited, every connection closed) and reports what it has.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from ..exceptions import PlantError
from ..profiles.base import Profile
from ..transport import Endpoint, TransportType
from .probe import Found, probe_once
from .reach import TcpConnector, goodwe_udp_units, tcp_port_open
from .settings import ProbeLimits

_LOGGER = logging.getLogger(__name__)

type Progress = Callable[[int, int], None]  # (endpoints checked, endpoints planned)


@dataclass(frozen=True, slots=True)
class Unidentified:
    """Something answered at the endpoint, but no profile recognised it (or it went silent)."""

    endpoint: Endpoint
    reason: str


@dataclass(frozen=True, slots=True)
class ScanReport:
    """Outcome of a scan. ``complete`` is False when the time budget ran out first."""

    found: tuple[Found, ...]
    unidentified: tuple[Unidentified, ...]
    complete: bool
    checked: int  # endpoints whose check finished
    planned: int  # endpoints the scan meant to check
    contacted: frozenset[str]  # every address a packet was sent to: the audit trail of the scope


@dataclass(frozen=True, slots=True)
class SweepSettings:
    """How endpoints are checked and identified."""

    connect_timeout: float  # TCP connect / UDP round trip of the reachability check
    probe: ProbeLimits  # per request while identifying (its budget is the caller's)
    unit_ids: Sequence[int] | None = None  # None: the client's usual unit ids, stopping at the first hit
    profiles: Sequence[Profile] | None = None  # None: every profile the library knows
    connector: TcpConnector = tcp_port_open


@dataclass(slots=True)
class _Tally:
    found: list[Found] = field(default_factory=list)
    unidentified: list[Unidentified] = field(default_factory=list)
    contacted: set[str] = field(default_factory=set)
    checked: int = 0


async def sweep(
    endpoints: Sequence[Endpoint],
    *,
    require: Callable[[str], None],
    settings: SweepSettings,
    concurrency: int,
    budget: float,
    progress: Progress | None = None,
) -> ScanReport:
    """Check and identify ``endpoints``; ``require(host)`` guards every contact (it raises to refuse)."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    tally = _Tally()
    queue: Iterator[Endpoint] = iter(endpoints)  # shared: each worker takes the next endpoint

    async def worker() -> None:
        for endpoint in queue:
            require(endpoint.host)
            tally.contacted.add(endpoint.host)
            await _check(endpoint, settings, tally)
            tally.checked += 1
            if progress is not None:
                progress(tally.checked, len(endpoints))

    complete = True
    try:
        async with asyncio.timeout(budget), asyncio.TaskGroup() as group:
            for _ in range(min(concurrency, len(endpoints))):
                group.create_task(worker())
    except TimeoutError:
        complete = False  # the task group has cancelled and awaited every worker by now
        _LOGGER.debug("scan budget of %s s spent: %d of %d endpoints", budget, tally.checked, len(endpoints))
    except ExceptionGroup as failed:
        # Only bugs get here (a refused contact, a failing progress callback): raise the first one plainly.
        raise failed.exceptions[0] from failed
    return ScanReport(
        found=tuple(sorted(tally.found, key=lambda f: _endpoint_order(f.endpoint))),
        unidentified=tuple(sorted(tally.unidentified, key=lambda u: _endpoint_order(u.endpoint))),
        complete=complete,
        checked=tally.checked,
        planned=len(endpoints),
        contacted=frozenset(tally.contacted),
    )


async def _check(endpoint: Endpoint, settings: SweepSettings, tally: _Tally) -> None:
    unit_ids = settings.unit_ids
    if endpoint.transport is TransportType.UDP:
        answering = await goodwe_udp_units(endpoint.host, endpoint.port, settings.connect_timeout)
        if answering is None:
            return
        if unit_ids is None and answering:
            unit_ids = sorted(answering)
    elif not await settings.connector(endpoint.host, endpoint.port, settings.connect_timeout):
        return
    try:
        devices = await probe_once(
            endpoint, settings.probe, unit_ids=unit_ids, profiles=settings.profiles, within=None
        )
    except PlantError as err:
        tally.unidentified.append(Unidentified(endpoint, str(err) or type(err).__name__))
        return
    tally.found.append(Found(endpoint, tuple(devices)))


def _endpoint_order(endpoint: Endpoint) -> tuple[IPv4Address, int, str]:
    return IPv4Address(endpoint.host), endpoint.port, str(endpoint.transport)
