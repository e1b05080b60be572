"""Eastron SDM register facts, each stated once.

Sources: Eastron protocol documents SDM630 v1.8, SDM120 v2.5, SDM72D-M-V2 v1.1 (as shipped in
nmakel/sdm_modbus); Tinkerforge evse-v2-bricklet ``sdm.c`` for the SDM630 meter code.
- Measurements are IEEE-754 float32 input registers (FC04), high word first, 0-based PDU addresses (the
  manuals print them 1-based as 3xxxx).
- Requests must start at an even address and ask for an even number of registers (a single-register
  read is the one exception). The SDM630 serves at most 40 values (80 registers) per request; the
  SDM72D-M and SDM230 at most 30 values (60 registers). The SDM120 manual gives no limit; the SDM230
  (same map) allows 60.
- Parameters a model does not measure read as zero inside its blocks (e.g. phase 2 on an SDM120).
- Signed powers: + = import (forward), which is the canonical grid sign: nothing is negated.
"""

from __future__ import annotations

from ...model import Quantity
from ...registers import DataType, RegisterKind
from ..table import Field, Table


def _measured(key: str, address: int, quantity: Quantity) -> Field:
    return Field(key, address, DataType.F32, quantity=quantity, kind=RegisterKind.INPUT)


VOLTAGE_L1 = _measured("voltage_l1", 0x0000, Quantity.GRID_VOLTAGE_L1)
VOLTAGE_L2 = _measured("voltage_l2", 0x0002, Quantity.GRID_VOLTAGE_L2)
VOLTAGE_L3 = _measured("voltage_l3", 0x0004, Quantity.GRID_VOLTAGE_L3)
CURRENT_L1 = _measured("current_l1", 0x0006, Quantity.GRID_CURRENT_L1)
CURRENT_L2 = _measured("current_l2", 0x0008, Quantity.GRID_CURRENT_L2)
CURRENT_L3 = _measured("current_l3", 0x000A, Quantity.GRID_CURRENT_L3)
POWER_L1 = _measured("power_l1", 0x000C, Quantity.GRID_POWER_L1)  # the total on single-phase meters
POWER_L2 = _measured("power_l2", 0x000E, Quantity.GRID_POWER_L2)
POWER_L3 = _measured("power_l3", 0x0010, Quantity.GRID_POWER_L3)
TOTAL_SYSTEM_POWER = _measured("total_system_power", 0x0034, Quantity.GRID_POWER)
FREQUENCY = _measured("frequency", 0x0046, Quantity.GRID_FREQUENCY)
IMPORT_ENERGY = _measured("import_energy", 0x0048, Quantity.GRID_IMPORT_ENERGY_TOTAL)  # kWh
EXPORT_ENERGY = _measured("export_energy", 0x004A, Quantity.GRID_EXPORT_ENERGY_TOTAL)  # kWh

# Holding registers (read-only identity).
SERIAL_NUMBER = Field("serial_number", 0xFC00, DataType.U32)
METER_CODE = Field("meter_code", 0xFC02, DataType.U16)

_COMMON = (FREQUENCY, IMPORT_ENERGY, EXPORT_ENERGY)
THREE_PHASE = Table(
    (
        VOLTAGE_L1, VOLTAGE_L2, VOLTAGE_L3, CURRENT_L1, CURRENT_L2, CURRENT_L3,
        POWER_L1, POWER_L2, POWER_L3, TOTAL_SYSTEM_POWER, *_COMMON,
    )
)  # fmt: skip
SINGLE_PHASE = Table((VOLTAGE_L1, CURRENT_L1, POWER_L1, *_COMMON))
