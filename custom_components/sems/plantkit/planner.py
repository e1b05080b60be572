"""Read planning: cover the points a device needs with the fewest Modbus requests.

Greedy left-to-right covering is optimal here: requests are windows over a sorted line, a point must
lie wholly inside one window, and a window may not exceed the size limit, bridge a gap wider than the
limit, or contain a refused register. Starting each window at the first uncovered point and stretching
it as far as allowed never needs more windows than any other valid plan (exchange argument).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from .registers import RegisterKind

MAX_REGISTERS_PER_READ = 125


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """Registers one point needs."""

    kind: RegisterKind
    address: int
    count: int

    @property
    def end(self) -> int:
        """First register after the span."""
        return self.address + self.count


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """One planned Modbus read."""

    kind: RegisterKind
    address: int
    count: int

    @property
    def end(self) -> int:
        """First register after the request."""
        return self.address + self.count

    def covers(self, span: Span) -> bool:
        """True when the span lies wholly inside this request."""
        return span.kind is self.kind and self.address <= span.address and span.end <= self.end


@dataclass(frozen=True, slots=True)
class PlanLimits:
    """Per-profile limits of what one request may be."""

    max_registers: int = MAX_REGISTERS_PER_READ
    max_gap: int = 16  # unused registers a request may bridge between two points

    def __post_init__(self) -> None:
        if not 1 <= self.max_registers <= MAX_REGISTERS_PER_READ:
            raise ValueError("max_registers must be 1..125")
        if self.max_gap < 0:
            raise ValueError("max_gap must be >= 0")


DEFAULT_LIMITS = PlanLimits()


def plan_reads(
    spans: Iterable[Span],
    limits: PlanLimits = DEFAULT_LIMITS,
    refused: Collection[tuple[RegisterKind, int]] = (),
) -> list[ReadRequest]:
    """Plan the fewest requests that cover every readable span.

    Spans that touch a refused register or exceed ``max_registers`` are unreadable and left out.
    """
    refused_set = set(refused)
    readable = sorted(
        {
            s
            for s in spans
            if s.count <= limits.max_registers
            and not any((s.kind, a) in refused_set for a in range(s.address, s.end))
        }
    )
    plan: list[ReadRequest] = []
    start: Span | None = None
    end = 0
    for span in readable:
        if start is not None and _extends(start, end, span, limits, refused_set):
            end = max(end, span.end)
            continue
        if start is not None:
            plan.append(ReadRequest(start.kind, start.address, end - start.address))
        start, end = span, span.end
    if start is not None:
        plan.append(ReadRequest(start.kind, start.address, end - start.address))
    return plan


def _extends(
    start: Span, end: int, span: Span, limits: PlanLimits, refused: set[tuple[RegisterKind, int]]
) -> bool:
    if span.kind is not start.kind:
        return False
    if span.end <= end:
        return True  # already inside (overlapping points share registers)
    if span.address - end > limits.max_gap:
        return False
    if max(end, span.end) - start.address > limits.max_registers:
        return False
    return not any((span.kind, a) in refused for a in range(end, span.address))
