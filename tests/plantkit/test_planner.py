"""Read planner: every plan covers exactly what was asked, within limits, in the fewest requests."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.sems.plantkit.planner import PlanLimits, ReadRequest, Span, plan_reads
from custom_components.sems.plantkit.registers import RegisterKind

H = RegisterKind.HOLDING
I = RegisterKind.INPUT  # noqa: E741

spans_strategy = st.lists(
    st.builds(
        Span,
        st.sampled_from([H, I]),
        st.integers(min_value=0, max_value=600),
        st.integers(min_value=1, max_value=8),
    ),
    max_size=40,
)
limits_strategy = st.builds(
    PlanLimits, st.integers(min_value=8, max_value=125), st.integers(min_value=0, max_value=30)
)
refused_strategy = st.sets(
    st.tuples(st.sampled_from([H, I]), st.integers(min_value=0, max_value=610)), max_size=15
)


def _touches(span: Span, refused: set[tuple[RegisterKind, int]]) -> bool:
    return any((span.kind, a) in refused for a in range(span.address, span.end))


def _minimum_requests(spans: list[Span], limits: PlanLimits, refused: set[tuple[RegisterKind, int]]) -> int:
    """Brute-force optimum by dynamic programming over sorted spans (independent of the greedy planner)."""
    best = 0
    for kind in (H, I):
        items = sorted({s for s in spans if s.kind is kind and not _touches(s, refused)})
        n = len(items)
        cost = [0] + [10**9] * n
        for j in range(1, n + 1):
            for i in range(j):  # one request covers items[i:j]
                group = items[i:j]
                start = min(s.address for s in group)
                end = max(s.end for s in group)
                covered = set()
                for s in group:
                    covered.update(range(s.address, s.end))
                gaps_ok = all((a in covered) or _gap_ok(a, covered, limits) for a in range(start, end))
                if (
                    end - start <= limits.max_registers
                    and gaps_ok
                    and not any((kind, a) in refused for a in range(start, end))
                ):
                    cost[j] = min(cost[j], cost[i] + 1)
        best += cost[n]
    return best


def _gap_ok(address: int, covered: set[int], limits: PlanLimits) -> bool:
    left = address
    while left - 1 not in covered and left > 0:
        left -= 1
    right = address
    while right not in covered:
        right += 1
    return right - left <= limits.max_gap


@settings(max_examples=300, deadline=None)
@given(spans_strategy, limits_strategy, refused_strategy)
def test_plan_covers_exactly_the_readable_points(
    spans: list[Span], limits: PlanLimits, refused: set[tuple[RegisterKind, int]]
) -> None:
    plan = plan_reads(spans, limits, refused)
    for request in plan:
        assert 1 <= request.count <= limits.max_registers
        assert not any((request.kind, a) in refused for a in range(request.address, request.end))
    for span in spans:
        covered = any(r.covers(span) for r in plan)
        assert covered == (not _touches(span, refused))
    # No request reads registers that serve no requested point at its edges.
    readable = [s for s in spans if not _touches(s, refused)]
    for request in plan:
        inside = [s for s in readable if request.covers(s)]
        assert inside
        assert min(s.address for s in inside) == request.address
        assert max(s.end for s in inside) == request.end


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.builds(
            Span, st.just(H), st.integers(min_value=0, max_value=150), st.integers(min_value=1, max_value=4)
        ),
        max_size=12,
    ),
    limits_strategy,
    st.sets(st.tuples(st.just(H), st.integers(min_value=0, max_value=155)), max_size=6),
)
def test_plan_is_minimal(
    spans: list[Span], limits: PlanLimits, refused: set[tuple[RegisterKind, int]]
) -> None:
    assert len(plan_reads(spans, limits, refused)) == _minimum_requests(spans, limits, refused)


def test_merges_small_gaps_and_splits_at_limits() -> None:
    spans = [Span(H, 100, 2), Span(H, 110, 1), Span(H, 200, 1), Span(I, 100, 2)]
    plan = plan_reads(spans, PlanLimits(max_registers=125, max_gap=16))
    assert plan == [ReadRequest(H, 100, 11), ReadRequest(H, 200, 1), ReadRequest(I, 100, 2)]
    assert plan_reads([Span(H, 0, 1), Span(H, 124, 2)], PlanLimits(125, 200)) == [
        ReadRequest(H, 0, 1),
        ReadRequest(H, 124, 2),
    ]


def test_never_bridges_a_refused_register() -> None:
    plan = plan_reads([Span(H, 0, 2), Span(H, 5, 2)], PlanLimits(125, 16), refused={(H, 3)})
    assert plan == [ReadRequest(H, 0, 2), ReadRequest(H, 5, 2)]
