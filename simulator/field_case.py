"""Field cases served by the simulator: one device with the register image a case file describes.

A case (``shared/field-cases/F*.json``, format in that folder's README) is a condition reported by an
owner of a real installation: ``transport`` (``tcp``, ``udp``, also ``rtu-over-tcp``, ``serial``),
``unit``, ``holding`` blocks ``[start, [u16, ...]]`` (addresses outside the blocks answer exception 2),
an optional ``server.quirk``, and what a correct reading shows (``expected``, ``expected_devices``,
``expected_sources``, ``wrong_exit_codes``, ``accept_clean_failure``). An unknown quirk fails loudly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from custom_components.sems.plantkit.registers import RegisterKind
from custom_components.sems.plantkit.transport import TransportType

from .device import SimDevice
from .faults import ForeignFrameFirst
from .physics import PlantState
from .server import SimServer

QUIRKS = ("foreign_frame_first",)


class FieldCaseError(ValueError):
    """The case file cannot be served as written."""


@dataclass(frozen=True, slots=True)
class FieldCase:
    """One case file, parsed and checked."""

    path: Path
    case_id: str
    transport: TransportType
    unit: int
    holding: tuple[tuple[int, tuple[int, ...]], ...]
    quirk: dict[str, Any] | None = None
    expected: dict[str, float | None] = field(default_factory=dict)
    expected_devices: dict[str, int] = field(default_factory=dict)
    expected_sources: dict[str, int] = field(default_factory=dict)
    wrong_exit_codes: tuple[int, ...] = ()
    accept_clean_failure: bool = False  # True: a clear error instead of a reading is acceptable

    @classmethod
    def load(cls, path: Path) -> FieldCase:
        """Parse a case file; raises ``FieldCaseError`` for anything this simulator cannot serve."""
        data = json.loads(path.read_text(encoding="utf-8"))
        try:
            transport = TransportType(data["transport"])
            holding = tuple((int(start), tuple(int(w) for w in words)) for start, words in data["holding"])
            case = cls(
                path=path,
                case_id=str(data.get("id") or path.stem.split("_")[0]),
                transport=transport,
                unit=int(data["unit"]),
                holding=holding,
                quirk=data.get("server"),
                expected=dict(data.get("expected", {})),
                expected_devices={k: int(v) for k, v in data.get("expected_devices", {}).items()},
                expected_sources={k: int(v) for k, v in data.get("expected_sources", {}).items()},
                wrong_exit_codes=tuple(int(c) for c in data.get("wrong_exit_codes", ())),
                accept_clean_failure=bool(data.get("accept_clean_failure", False)),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise FieldCaseError(f"{path.name}: {err!r}") from err
        case.quirks()  # fail loudly now, not half-way through a test
        return case

    def quirks(self) -> list[ForeignFrameFirst]:
        """The server behaviours the case asks for (fresh counters each call)."""
        if not self.quirk:
            return []
        name = self.quirk.get("quirk")
        if name == "foreign_frame_first":
            start, count = self.quirk["foreign"]
            return [
                ForeignFrameFirst(
                    int(self.quirk["address"]), (int(start), int(count)), int(self.quirk["times"])
                )
            ]
        raise FieldCaseError(f"{self.path.name}: unknown server quirk {name!r} (known: {', '.join(QUIRKS)})")


class FieldCaseDevice(SimDevice):
    """The captured register image of a case: static, it does not follow the simulated plant."""

    name = "field_case"

    def __init__(self, case: FieldCase) -> None:
        super().__init__()
        self.unit_id = case.unit
        self.serial = case.case_id
        for start, words in case.holding:
            self.image.set_words(RegisterKind.HOLDING, start, words)

    def render(self, state: PlantState) -> None:
        """Nothing to render: the image is what the owner's device showed."""


def field_case_server(case: FieldCase, host: str = "127.0.0.1", port: int = 0) -> SimServer:
    """A server (not started) for the case's device, with its quirks."""
    server = SimServer([FieldCaseDevice(case)], str(case.transport), host, port)
    server.quirks.extend(case.quirks())
    return server
