"""Simulated Eastron SDM meters at the grid connection point (+ = import, as the real meters count).

The register blocks follow the Eastron protocol documents: only these blocks answer, odd-sized or
odd-aligned reads and reads above the model's per-request limit are refused like on the real meters,
and parameters a model does not measure read as zero inside its blocks.
"""

from __future__ import annotations

from custom_components.sems.plantkit.registers import DataType, Point, RegisterKind

from ..device import SimDevice
from ..image import IllegalAddress, RegisterImage
from ..physics import PlantState

INPUT = RegisterKind.INPUT
HOLDING = RegisterKind.HOLDING

# Share of the total power each phase carries on the three-phase meters (sums to 1).
PHASE_SHARES = (0.40, 0.35, 0.25)
PHASE_VOLTAGE_OFFSETS = (0.0, 0.8, -0.6)


def _f32(address: int, kind: RegisterKind = INPUT) -> Point:
    return Point(f"f32@{address:#06x}", address, DataType.F32, kind)


SERIAL = Point("serial", 0xFC00, DataType.U32, HOLDING)
METER_CODE = Point("meter_code", 0xFC02, DataType.U16, HOLDING)
SOFTWARE_VERSION = Point("software_version", 0xFC03, DataType.U16, HOLDING)


class EastronImage(RegisterImage):
    """Eastron request rules on top of the plain register image."""

    def __init__(self, max_registers: int) -> None:
        super().__init__()
        self.max_registers = max_registers

    def read(self, kind: RegisterKind, address: int, count: int) -> list[int]:
        # Every value is a register pair: a multi-register read must not split one (single reads are
        # allowed, the meter code is one). The meters answer such requests with an exception.
        if count > 1 and (address % 2 or count % 2):
            raise IllegalAddress(f"{kind} {address}+{count}: odd address or count")
        if count > self.max_registers:
            raise IllegalAddress(f"{kind} {address}+{count}: more than {self.max_registers} registers")
        return super().read(kind, address, count)


class _EastronSim(SimDevice):
    """Shared render logic; subclasses declare the blocks and the phase count."""

    meter_code: int
    phases: int
    max_registers: int
    input_blocks: tuple[tuple[int, int], ...]
    holding_blocks: tuple[tuple[int, int], ...]

    def __init__(self, unit_id: int = 1, serial: int = 12345678) -> None:
        super().__init__()
        self.unit_id = unit_id
        self.serial = str(serial)
        self.image = EastronImage(self.max_registers)
        for start, count in self.input_blocks:
            self.image.define(INPUT, start, count)
        for start, count in self.holding_blocks:
            self.image.define(HOLDING, start, count)
        self.image.set(SERIAL, serial)
        self.image.set(METER_CODE, self.meter_code)
        self.image.set(_f32(0x0014, HOLDING), float(unit_id))  # Modbus node address (a float, as all setup)

    def render(self, state: PlantState) -> None:
        image = self.image
        total = state.grid_power
        shares = PHASE_SHARES if self.phases == 3 else (1.0,)
        for phase, share in enumerate(shares):
            power = total * share
            voltage = state.grid_voltage + PHASE_VOLTAGE_OFFSETS[phase]
            image.set(_f32(0x0000 + 2 * phase), voltage)
            image.set(_f32(0x0006 + 2 * phase), abs(power) / voltage)  # current is unsigned
            image.set(_f32(0x000C + 2 * phase), power)
            image.set(_f32(0x0012 + 2 * phase), abs(power))  # apparent power at power factor 1
            image.set(_f32(0x001E + 2 * phase), 1.0)  # power factor
        if self.phases == 3:
            image.set(_f32(0x0034), total)  # total system power
            image.set(_f32(0x0038), abs(total))  # total system VA
        image.set(_f32(0x0046), state.grid_frequency)
        image.set(_f32(0x0048), state.grid_import_energy_total)
        image.set(_f32(0x004A), state.grid_export_energy_total)
        image.set(_f32(0x0156), state.grid_import_energy_total + state.grid_export_energy_total)
        self._render_extra(state)

    def _render_extra(self, state: PlantState) -> None:
        """Model-specific registers beyond the common map."""


class Sdm630Sim(_EastronSim):
    """SDM630-Modbus V2 (three-phase, meter code 0x0070), 80 registers per request."""

    name = "eastron_sdm630"
    meter_code = 0x0070
    phases = 3
    max_registers = 80
    input_blocks = (
        (0x0000, 0x50),  # phase values, totals, frequency, energies (0x0000-0x004F)
        (0x0054, 0x0C),  # demand values
        (0x00C8, 0x28),  # line-to-line volts, neutral current, THD
        (0x0156, 0x10),  # total kWh/kvarh, per-phase import/export kWh (0x0156-0x0165)
    )
    holding_blocks = ((0x0000, 0x20), (0xFC00, 3))

    def _render_extra(self, state: PlantState) -> None:
        for phase, share in enumerate(PHASE_SHARES):
            self.image.set(_f32(0x015A + 2 * phase), state.grid_import_energy_total * share)
            self.image.set(_f32(0x0160 + 2 * phase), state.grid_export_energy_total * share)


class Sdm72Sim(_EastronSim):
    """SDM72D-M-V2 (three-phase, meter code 0x0089), 30 values = 60 registers per request."""

    name = "eastron_sdm72"
    meter_code = 0x0089
    phases = 3
    max_registers = 60
    input_blocks = ((0x0000, 0x50), (0x00C8, 0x08), (0x0156, 0x04), (0x0500, 0x04))
    holding_blocks = ((0x0000, 0x20), (0xFC00, 3))

    def __init__(self, unit_id: int = 1, serial: int = 34567890) -> None:
        super().__init__(unit_id, serial)

    def _render_extra(self, state: PlantState) -> None:
        self.image.set(_f32(0x0500), max(0.0, state.grid_power))  # total import power
        self.image.set(_f32(0x0502), max(0.0, -state.grid_power))  # total export power


class Sdm120Sim(_EastronSim):
    """SDM120-Modbus (single phase, meter code 0x0020); phase 2/3 parameters read as zero."""

    name = "eastron_sdm120"
    meter_code = 0x0020
    phases = 1
    max_registers = 60
    input_blocks = ((0x0000, 0x50), (0x0054, 0x0C), (0x0102, 0x08), (0x0156, 0x04))
    holding_blocks = ((0x0000, 0x20), (0xFC00, 4))

    def __init__(self, unit_id: int = 1, serial: int = 23456789) -> None:
        super().__init__(unit_id, serial)
        self.image.set(SOFTWARE_VERSION, 0x0102)
