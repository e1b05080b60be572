"""JSON-safe state helpers shared by the energy classes: strict readers that raise ``StateError``.

State dicts hold only ``None``, ``bool``, ``int``, finite ``float``, ``str`` (timestamps in ISO 8601 with
their UTC offset), lists and dicts, so ``json.dumps`` / ``json.loads`` round-trips them exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

type State = dict[str, Any]


class StateError(ValueError):
    """A stored state dict is not one this version wrote (caught by ``restore``, never raised out)."""


def require_aware(when: datetime) -> None:
    """Reject naive timestamps: elapsed time and local dates need a known offset."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"timestamp {when!r} has no timezone")


def mapping(value: object) -> Mapping[str, Any]:
    """A dict field."""
    if not isinstance(value, Mapping):
        raise StateError("expected a mapping")
    return value


def number(value: object) -> float:
    """A finite float field (ints are accepted: JSON writes 2.0 as 2.0, people write 2)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise StateError(f"expected a finite number, got {value!r}")
    return float(value)


def optional_number(value: object) -> float | None:
    """A finite float field or None."""
    return None if value is None else number(value)


def count(value: object) -> int:
    """A non-negative int field."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise StateError(f"expected a non-negative integer, got {value!r}")
    return value


def flag(value: object) -> bool:
    """A bool field."""
    if not isinstance(value, bool):
        raise StateError(f"expected true or false, got {value!r}")
    return value


def timestamp(value: object) -> datetime:
    """An aware datetime field, stored as ISO 8601 text."""
    if not isinstance(value, str):
        raise StateError(f"expected a timestamp, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as err:
        raise StateError(f"expected a timestamp, got {value!r}") from err
    if parsed.tzinfo is None:
        raise StateError(f"timestamp {value!r} has no UTC offset")
    return parsed


def optional_timestamp(value: object) -> datetime | None:
    """An aware datetime field or None."""
    return None if value is None else timestamp(value)


def version(state: Mapping[str, Any], expected: int) -> None:
    """Refuse a state written by another state version."""
    if state.get("version") != expected:
        raise StateError(f"state version {state.get('version')!r}, expected {expected}")
