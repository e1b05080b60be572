"""Simulated SunSpec devices: a hybrid inverter with battery (unit 1) and a three-phase meter (unit 2).

The register image is laid out from the same pysunspec2 model definitions the profile reads, and every
value is written through the profile's own points, so what the simulator encodes is exactly what the
client decodes. Only the model blocks exist: reads outside the chain are refused like on real devices.
Points the simulated devices do not implement hold the SunSpec "not implemented" values.

Signs follow the profile's documented choices: 701/103 W + = produced, 802 W + = discharging,
meter W + = import. Device faults (``simulator.faults.DEVICE_FAULTS`` names in ``PlantState.faults``):
- ``over_temperature``, ``ground_fault``, ``grid_over_voltage``: 103 Evt1 / 701 Alrm bits 7, 0, 10 and
  inverter status FAULT.
- ``bms_alarm``: 802 Evt1 bit 1 (over-temperature alarm) and battery state FAULT.
- ``meter_comm_lost``: the meter flags Missing_Sensor (Evt bit 7) and its power reads "not implemented".
- ``sentinel_values``: every model but Common shows its "not implemented" values.
"""

from __future__ import annotations

import math
from datetime import datetime

from custom_components.sems.plantkit.profiles.sunspec_models import (
    BATTERY_MODEL,
    COMMON_MODEL,
    DER_AC_MODEL,
    MPPT_MODEL,
    NAMEPLATE_MODEL,
    STORAGE_CAPACITY_MODEL,
    load_layouts,
    model_point,
    not_implemented_words,
    scale_factor_point,
)
from custom_components.sems.plantkit.registers import RegisterKind

from ..device import SimDevice
from ..image import RegisterImage
from ..physics import PlantState

HOLDING = RegisterKind.HOLDING
SUNS_MARKER = (0x5375, 0x6E53)
END_MODEL_ID = 0xFFFF
INVERTER_MODEL_3PH = 103
METER_MODEL_3PH = 203
MANUFACTURER = "SunSpecSim"
SQRT3 = math.sqrt(3)
SUNSPEC_EPOCH = datetime(2000, 1, 1)

FAULT_METER_COMM_LOST = "meter_comm_lost"
FAULT_SENTINEL_VALUES = "sentinel_values"
INVERTER_FAULT_BITS = {"over_temperature": 7, "ground_fault": 0, "grid_over_voltage": 10}
BATTERY_FAULT_BITS = {"bms_alarm": 1}
METER_FAULT_BITS = {FAULT_METER_COMM_LOST: 7}
BATTERY_CAPACITY_WH = 10_000
BATTERY_MAX_W = 5_000
BATTERY_AH = 195


def fault_bits(faults: set[str], bits: dict[str, int]) -> int:
    """The bitfield value of the injected faults this table knows."""
    value = 0
    for name, bit in bits.items():
        if name in faults:
            value |= 1 << bit
    return value


class SunSpecChain:
    """A SunSpec model chain in a register image: marker, model headers, points, end model."""

    def __init__(self, image: RegisterImage, base: int = 40000) -> None:
        self.image = image
        self.addresses: dict[int, int] = {}  # model ID -> address of the latest instance added
        self._repeats: dict[int, int] = {}
        image.set_words(HOLDING, base, SUNS_MARKER)
        self._next = base + 2

    def add(self, model_id: int, repeats: int = 0) -> int:
        """Append a model (with ``repeats`` repetitions of its group); every point starts unimplemented.

        ``set`` and ``set_scaled`` then address this instance (a chain may repeat Common, for example).
        """
        layout = load_layouts()[model_id]
        group_length = layout.group.length if layout.group else 0
        length = layout.length + repeats * group_length
        address = self._next
        self.image.set_words(HOLDING, address, [model_id, length])
        self.addresses[model_id] = address
        self._repeats[model_id] = repeats
        self.unimplement(model_id)
        self._next = address + 2 + length
        return address

    def unimplement(self, model_id: int) -> None:
        """Set every point of a model (all but its header) to the "not implemented" value of its type."""
        layout = load_layouts()[model_id]
        address = self.addresses[model_id]
        for definition in layout.points.values():
            if definition.name not in ("ID", "L"):
                words = not_implemented_words(definition.type, definition.size)
                self.image.set_words(HOLDING, address + definition.offset, words)
        if layout.group is not None:
            for index in range(self._repeats[model_id]):
                start = address + 2 + layout.length + index * layout.group.length
                for definition in layout.group.points.values():
                    words = not_implemented_words(definition.type, definition.size)
                    self.image.set_words(HOLDING, start + definition.offset, words)

    def end(self) -> None:
        """Close the chain with the end model (ID 0xFFFF, L 0)."""
        self.image.set_words(HOLDING, self._next, [END_MODEL_ID, 0])

    def set(self, model_id: int, name: str, value: int | float | str, index: int | None = None) -> None:
        """Write a raw value (no scaling) through the profile's point."""
        self.image.set(model_point(model_id, self.addresses[model_id], name, index), value)

    def set_scaled(
        self, model_id: int, name: str, value: float, exponent: int, index: int | None = None
    ) -> None:
        """Write ``value`` as ``round(value / 10**exponent)`` and its scale factor point as ``exponent``.

        Points sharing a scale factor must be written with the same exponent (the last one wins).
        """
        sf_point = scale_factor_point(model_id, self.addresses[model_id], name, index)
        if sf_point is None:
            raise KeyError(f"{model_id}.{name} has no scale factor")
        self.image.set(sf_point, exponent)
        self.set(model_id, name, round(value / 10.0**exponent), index)

    def set_common(self, manufacturer: str, model: str, version: str, serial: str, unit_id: int) -> None:
        """Fill the Common model (1)."""
        self.set(COMMON_MODEL, "Mn", manufacturer)
        self.set(COMMON_MODEL, "Md", model)
        self.set(COMMON_MODEL, "Opt", "")
        self.set(COMMON_MODEL, "Vr", version)
        self.set(COMMON_MODEL, "SN", serial)
        self.set(COMMON_MODEL, "DA", unit_id)


class SunSpecInverterSim(SimDevice):
    """Hybrid inverter with battery: chain 1, 103, 120, 160 (2 modules), 701, 713, 802."""

    name = "sunspec_inverter"

    def __init__(self, unit_id: int = 1, serial: str = "SS-INV-0001", base: int = 40000) -> None:
        super().__init__()
        self.unit_id = unit_id
        self.serial = serial
        chain = SunSpecChain(self.image, base)
        for model_id in (COMMON_MODEL, INVERTER_MODEL_3PH, NAMEPLATE_MODEL):
            chain.add(model_id)
        chain.add(MPPT_MODEL, repeats=2)
        for model_id in (DER_AC_MODEL, STORAGE_CAPACITY_MODEL, BATTERY_MODEL):
            chain.add(model_id)
        chain.end()
        self.chain = chain
        chain.set_common(MANUFACTURER, "SIM-INV-10K", "1.4.2", serial, unit_id)
        self._set_nameplate()

    def _set_nameplate(self) -> None:
        c, m = self.chain, NAMEPLATE_MODEL
        c.set(m, "DERTyp", 82)  # PV_STOR
        c.set_scaled(m, "WRtg", 10_000, 0)
        c.set_scaled(m, "VARtg", 10_000, 0)
        for quadrant, var in (("Q1", 6000), ("Q2", 6000), ("Q3", -6000), ("Q4", -6000)):
            c.set_scaled(m, f"VArRtg{quadrant}", var, 0)
        c.set_scaled(m, "ARtg", 16.0, -1)
        for quadrant, pf in (("Q1", 0.8), ("Q2", -0.8), ("Q3", 0.8), ("Q4", -0.8)):
            c.set_scaled(m, f"PFRtg{quadrant}", pf, -2)
        c.set_scaled(m, "WHRtg", BATTERY_CAPACITY_WH, 0)
        c.set_scaled(m, "AhrRtg", BATTERY_AH, 0)
        c.set_scaled(m, "MaxChaRte", BATTERY_MAX_W, 0)
        c.set_scaled(m, "MaxDisChaRte", BATTERY_MAX_W, 0)

    def render(self, state: PlantState) -> None:
        """Write the plant state into 103, 160, 701, 713 and 802."""
        if FAULT_SENTINEL_VALUES in state.faults:
            for model_id in (
                INVERTER_MODEL_3PH,
                MPPT_MODEL,
                DER_AC_MODEL,
                STORAGE_CAPACITY_MODEL,
                BATTERY_MODEL,
            ):
                self.chain.unimplement(model_id)
            return
        self._render_inverter(state)
        self._render_mppt(state)
        self._render_der(state)
        self._render_storage(state)

    def _render_inverter(self, state: PlantState) -> None:
        c, m = self.chain, INVERTER_MODEL_3PH
        voltage = state.grid_voltage
        phase_current = _phase_current(state.ac_power, voltage)
        c.set_scaled(m, "A", 3 * phase_current, -2)
        for phase in ("A", "B", "C"):
            c.set_scaled(m, f"Aph{phase}", phase_current, -2)
            c.set_scaled(m, f"PhVph{phase}", voltage, -1)
        for pair in ("AB", "BC", "CA"):
            c.set_scaled(m, f"PPVph{pair}", voltage * SQRT3, -1)
        c.set_scaled(m, "W", state.ac_power, 0)
        c.set_scaled(m, "Hz", state.grid_frequency, -2)
        c.set_scaled(m, "VA", abs(state.ac_power), 0)
        c.set_scaled(m, "WH", state.ac_energy_total * 1000, 0)
        dc_voltage = state.pv1_voltage
        c.set_scaled(m, "DCV", dc_voltage, -1)
        c.set_scaled(m, "DCA", state.pv_power / dc_voltage if dc_voltage else 0.0, -2)
        c.set_scaled(m, "DCW", state.pv_power, 0)
        c.set_scaled(m, "TmpCab", state.inverter_temperature, -1)
        c.set_scaled(m, "TmpSnk", state.inverter_temperature + 4, -1)
        if fault_bits(state.faults, INVERTER_FAULT_BITS):
            c.set(m, "St", 7)  # FAULT
        else:
            c.set(m, "St", 2 if state.sleeping else 4)  # SLEEPING / MPPT
        c.set(m, "Evt1", fault_bits(state.faults, INVERTER_FAULT_BITS))
        c.set(m, "Evt2", 0)

    def _render_mppt(self, state: PlantState) -> None:
        c, m = self.chain, MPPT_MODEL
        c.set(m, "Evt", 0)
        c.set(m, "N", 2)
        # Module energies split the PV counter so their sum is exactly the plant's PV energy (in Wh).
        total_wh = round(state.pv_energy_total * 1000)
        first_wh = round(total_wh * 0.55)
        modules = (
            ("PV1", state.pv1_voltage, state.pv1_power, first_wh),
            ("PV2", state.pv2_voltage, state.pv2_power, total_wh - first_wh),
        )
        seconds = int((state.now - SUNSPEC_EPOCH).total_seconds())
        for index, (label, voltage, power, energy_wh) in enumerate(modules):
            c.set(m, "ID", index + 1, index)
            c.set(m, "IDStr", label, index)
            c.set_scaled(m, "DCA", power / voltage if voltage else 0.0, -2, index)
            c.set_scaled(m, "DCV", voltage, -1, index)
            c.set_scaled(m, "DCW", power, -1, index)  # 0.1 W steps: the strings sum to the PV power exactly
            c.set_scaled(m, "DCWH", energy_wh, 0, index)
            c.set(m, "Tms", seconds, index)
            c.set(m, "Tmp", round(state.inverter_temperature), index)
            c.set(m, "DCSt", 2 if state.sleeping else 4, index)
            c.set(m, "DCEvt", 0, index)

    def _render_der(self, state: PlantState) -> None:
        c, m = self.chain, DER_AC_MODEL
        voltage = state.grid_voltage
        phase_current = _phase_current(state.ac_power, voltage)
        c.set(m, "ACType", 2)  # THREE_PHASE
        c.set(m, "St", 0 if state.sleeping else 1)
        if fault_bits(state.faults, INVERTER_FAULT_BITS):
            c.set(m, "InvSt", 6)  # FAULT
        else:
            c.set(m, "InvSt", 1 if state.sleeping else 3)  # SLEEPING / RUNNING
        c.set(m, "ConnSt", 1)
        c.set(m, "Alrm", fault_bits(state.faults, INVERTER_FAULT_BITS))
        c.set_scaled(m, "W", state.ac_power, 0)  # + = generation
        c.set_scaled(m, "VA", abs(state.ac_power), 0)
        c.set_scaled(m, "Var", 0, 0)
        c.set_scaled(m, "PF", 1.0, -3)
        c.set_scaled(m, "A", 3 * phase_current, -2)
        c.set_scaled(m, "LLV", voltage * SQRT3, -1)
        c.set_scaled(m, "LNV", voltage, -1)
        c.set_scaled(m, "Hz", state.grid_frequency, -2)
        c.set_scaled(m, "TotWhInj", state.ac_energy_total * 1000, 0)
        c.set_scaled(m, "TotWhAbs", 0, 0)
        c.set_scaled(m, "TmpCab", state.inverter_temperature, -1)
        for phase in ("1", "2", "3"):
            c.set_scaled(m, f"WL{phase}", state.ac_power / 3, 0)
            c.set_scaled(m, f"AL{phase}", phase_current, -2)
            c.set_scaled(m, f"VL{phase}", voltage, -1)

    def _render_storage(self, state: PlantState) -> None:
        c = self.chain
        m = STORAGE_CAPACITY_MODEL
        c.set_scaled(m, "WHRtg", BATTERY_CAPACITY_WH, 0)
        c.set_scaled(m, "WHAvail", BATTERY_CAPACITY_WH * state.battery_soc / 100, 0)
        c.set_scaled(m, "SoC", state.battery_soc, -1)
        c.set_scaled(m, "SoH", state.battery_soh, -1)
        c.set(m, "Sta", 0)  # OK
        m = BATTERY_MODEL
        voltage = state.battery_voltage
        c.set_scaled(m, "AHRtg", BATTERY_AH, 0)
        c.set_scaled(m, "WHRtg", BATTERY_CAPACITY_WH, 0)
        c.set_scaled(m, "WChaRteMax", BATTERY_MAX_W, 0)
        c.set_scaled(m, "WDisChaRteMax", BATTERY_MAX_W, 0)
        c.set_scaled(m, "SoCMax", 100.0, -1)
        c.set_scaled(m, "SoCMin", 10.0, -1)
        c.set_scaled(m, "SoC", state.battery_soc, -1)
        c.set_scaled(m, "SoH", state.battery_soh, -1)
        c.set(m, "NCyc", 250)
        if state.battery_power > 0:
            c.set(m, "ChaSt", 3)  # DISCHARGING
        elif state.battery_power < 0:
            c.set(m, "ChaSt", 4)  # CHARGING
        else:
            c.set(m, "ChaSt", 6)  # HOLDING
        c.set(m, "LocRemCtl", 0)  # REMOTE
        c.set(m, "AlmRst", 0)
        c.set(m, "Typ", 4)  # LITHIUM_ION
        c.set(m, "State", 99 if fault_bits(state.faults, BATTERY_FAULT_BITS) else 3)  # FAULT / CONNECTED
        c.set(m, "Evt1", fault_bits(state.faults, BATTERY_FAULT_BITS))
        for name in ("Evt2", "EvtVnd1", "EvtVnd2"):
            c.set(m, name, 0)
        c.set_scaled(m, "V", voltage, -1)
        c.set(m, "CellV_SF", -3)  # mandatory even though the cell voltages are not implemented
        c.set_scaled(m, "A", state.battery_power / voltage if voltage else 0.0, -1)  # + = discharging
        c.set_scaled(m, "AChaMax", 100, 0)
        c.set_scaled(m, "ADisChaMax", 100, 0)
        c.set_scaled(m, "W", state.battery_power, 0)  # + = discharging
        c.set(m, "SetOp", 1)  # CONNECT
        c.set(m, "SetInvState", 3)  # INVERTER_STARTED


class SunSpecMeterSim(SimDevice):
    """Three-phase grid meter: chain 1, 203 (+ = import)."""

    name = "sunspec_meter"

    def __init__(self, unit_id: int = 2, serial: str = "SS-MTR-0001", base: int = 40000) -> None:
        super().__init__()
        self.unit_id = unit_id
        self.serial = serial
        chain = SunSpecChain(self.image, base)
        chain.add(COMMON_MODEL)
        chain.add(METER_MODEL_3PH)
        chain.end()
        self.chain = chain
        chain.set_common(MANUFACTURER, "SIM-METER-3P", "2.0.1", serial, unit_id)

    def render(self, state: PlantState) -> None:
        """Write grid power, voltages and the import/export counters into 203."""
        c, m = self.chain, METER_MODEL_3PH
        if FAULT_SENTINEL_VALUES in state.faults:
            c.unimplement(m)
            return
        voltage = state.grid_voltage
        # Currents are signed like the power: + while importing.
        phase_current = math.copysign(_phase_current(state.grid_power, voltage), state.grid_power)
        c.set_scaled(m, "A", 3 * phase_current, -2)
        for phase in ("A", "B", "C"):
            c.set_scaled(m, f"Aph{phase}", phase_current, -2)
            c.set_scaled(m, f"PhVph{phase}", voltage, -1)
            c.set_scaled(m, f"Wph{phase}", state.grid_power / 3, 0)
        c.set_scaled(m, "PhV", voltage, -1)
        c.set_scaled(m, "PPV", voltage * SQRT3, -1)
        for pair in ("AB", "BC", "CA"):
            c.set_scaled(m, f"PhVph{pair}", voltage * SQRT3, -1)
        c.set_scaled(m, "Hz", state.grid_frequency, -2)
        c.set_scaled(m, "W", state.grid_power, 0)  # + = import
        c.set_scaled(m, "TotWhExp", state.grid_export_energy_total * 1000, 0)
        c.set_scaled(m, "TotWhImp", state.grid_import_energy_total * 1000, 0)
        c.set(m, "Evt", fault_bits(state.faults, METER_FAULT_BITS))
        if FAULT_METER_COMM_LOST in state.faults:
            for name in ("W", "WphA", "WphB", "WphC"):
                c.set(m, name, -0x8000)  # int16 "not implemented"


def _phase_current(power: float, voltage: float) -> float:
    """Current of one of three balanced phases."""
    return abs(power) / 3 / voltage if voltage else 0.0
