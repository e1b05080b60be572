"""Register image of one simulated unit: what a read returns, and which registers do not exist."""

from __future__ import annotations

from collections.abc import Iterable

from custom_components.sems.plantkit.registers import Point, RegisterKind, encode


class IllegalAddress(Exception):  # noqa: N818 (named after the Modbus exception)
    """A read touches a register the device does not have (Modbus exception 2)."""


class RegisterImage:
    """Holding and input registers of one unit. Only defined blocks can be read."""

    def __init__(self) -> None:
        self._words: dict[RegisterKind, dict[int, int]] = {k: {} for k in RegisterKind}
        self.refused: set[tuple[RegisterKind, int]] = set()  # exist on paper, but the device refuses them
        self.write_only: set[int] = set()  # holding registers a client may write but never read
        self.read_only: set[int] = set()  # holding registers a client may read but never write (locked)

    def define(self, kind: RegisterKind, start: int, count: int, fill: int = 0) -> None:
        """Declare a readable block (real devices refuse reads outside their blocks)."""
        table = self._words[kind]
        for address in range(start, start + count):
            table.setdefault(address, fill)

    def set_words(self, kind: RegisterKind, address: int, words: Iterable[int]) -> None:
        """Write raw words; the registers become defined."""
        table = self._words[kind]
        for offset, word in enumerate(words):
            table[address + offset] = word & 0xFFFF

    def set(self, point: Point, value: int | float | str) -> None:
        """Write a value through the point's codec (the inverse of what the client decodes)."""
        self.set_words(point.kind, point.address, encode(point, value))

    def read(self, kind: RegisterKind, address: int, count: int) -> list[int]:
        """Return registers, or raise ``IllegalAddress`` if any is undefined or refused."""
        table = self._words[kind]
        out: list[int] = []
        for a in range(address, address + count):
            unreadable = kind is RegisterKind.HOLDING and a in self.write_only
            if a not in table or (kind, a) in self.refused or unreadable:
                raise IllegalAddress(f"{kind} {a}")
            out.append(table[a])
        return out

    def write(self, address: int, words: Iterable[int]) -> None:
        """A client's write to holding registers; ``IllegalAddress`` if any is undefined or refused."""
        values = list(words)
        self.check_writable(address, len(values))
        self.set_words(RegisterKind.HOLDING, address, values)

    def check_writable(self, address: int, count: int) -> None:
        """``IllegalAddress`` unless every holding register of the range exists, is not refused and is not
        read only."""
        table = self._words[RegisterKind.HOLDING]
        for a in range(address, address + count):
            if a not in table or (RegisterKind.HOLDING, a) in self.refused or a in self.read_only:
                raise IllegalAddress(f"{RegisterKind.HOLDING} {a}")

    def stored(self, address: int) -> int:
        """The word a holding register holds, also one a client cannot read (the device's own view)."""
        return self._words[RegisterKind.HOLDING][address]
