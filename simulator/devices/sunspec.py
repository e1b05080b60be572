"""Simulated SunSpec devices: a hybrid inverter with battery (unit 1), a three-phase meter (unit 2), and a
SolarEdge-like inverter whose chain carries one hardware meter shown as two meters.

Registers are laid out and encoded by pysunspec2 itself: every model instance is a ``sunspec2.device.Model``
built from the SunSpec Alliance's model definitions that pysunspec2 ships, and its points' own encoders
(``Point.get_mb``, with ``cvalue`` for values scaled by their ``sunssf`` point) give the register words. The
integration's SunSpec profile is not used here, so an end-to-end test checks it against an independent
encoding of the standard. Only the model blocks exist: reads outside the chain are refused like on real
devices. Points a device does not fill hold pysunspec2's "not implemented" values.

Signs: 701/103 W + = produced, 802 W + = discharging, the generic meter's W + = import. SolarEdge's
meters count + = export on the "Export+Import" meter and + = produced on the "Production" meter
(field cases F12, F17). Device faults (``simulator.faults.DEVICE_FAULTS`` names in ``PlantState.faults``):
- ``over_temperature``, ``ground_fault``, ``grid_over_voltage``: 103 Evt1 / 701 Alrm bits 7, 0, 10 and
  inverter status FAULT.
- ``bms_alarm``: 802 Evt1 bit 1 (over-temperature alarm) and battery state FAULT.
- ``meter_comm_lost``: the meter flags Missing_Sensor (Evt bit 7) and its power reads "not implemented".
- ``sentinel_values``: every model but Common shows its "not implemented" values.

Controls (hybrid inverter): model 123 ``WMaxLim_Ena``/``WMaxLimPct`` cap the inverter's AC output at a
percentage of its nameplate power; model 124 drives the battery the way inverter makers document the
model (Fronius): ``StorCtl_Mod`` bit 0 activates the charge limit ``InWRte``, bit 1 the discharge limit
``OutWRte`` (% of ``WChaMax``); a negative discharge limit forces a charge (from the grid if ``ChaGriSet``
is GRID), a negative charge limit forces a discharge, both limits at 0 hold the battery; ``MinRsvPct`` is
the reserve the battery keeps. Positive limits are not simulated (the battery runs self-use).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sunspec2 import device as sunspec_device
from sunspec2 import mdef

from custom_components.sems.plantkit.registers import RegisterKind

from ..device import SimDevice
from ..image import RegisterImage
from ..physics import PlantCommand, PlantState

HOLDING = RegisterKind.HOLDING
SUNS_MARKER = (0x5375, 0x6E53)  # "SunS"
END_MODEL_ID = 0xFFFF
COMMON_MODEL = 1
INVERTER_MODEL_3PH = 103
NAMEPLATE_MODEL = 120
CONTROLS_MODEL = 123
STORAGE_MODEL = 124
MPPT_MODEL = 160
METER_MODEL_3PH = 203
DER_AC_MODEL = 701
STORAGE_CAPACITY_MODEL = 713
BATTERY_MODEL = 802
LEGACY_COMMON_LENGTH = 65  # Common without its final Pad, as SolarEdge documents it
MANUFACTURER = "SunSpecSim"
SQRT3 = math.sqrt(3)
SUNSPEC_EPOCH = datetime(2000, 1, 1)
_FLOAT_TYPES = (mdef.TYPE_FLOAT32, mdef.TYPE_FLOAT64)

FAULT_METER_COMM_LOST = "meter_comm_lost"
FAULT_SENTINEL_VALUES = "sentinel_values"
INVERTER_FAULT_BITS = {"over_temperature": 7, "ground_fault": 0, "grid_over_voltage": 10}
BATTERY_FAULT_BITS = {"bms_alarm": 1}
METER_FAULT_BITS = {FAULT_METER_COMM_LOST: 7}
BATTERY_CAPACITY_WH = 10_000
BATTERY_MAX_W = 5_000
BATTERY_AH = 195
RATED_POWER_W = 10_000
STORAGE_MEASUREMENTS = ("ChaState", "InBatV", "ChaSt")  # 124's readings (the rest are settings)


def fault_bits(faults: set[str], bits: dict[str, int]) -> int:
    """The bitfield value of the injected faults this table knows."""
    value = 0
    for name, bit in bits.items():
        if name in faults:
            value |= 1 << bit
    return value


def _words(data: bytes) -> list[int]:
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def new_model(model_id: int, address: int, repeats: int = 0, length: int | None = None) -> Any:
    """A pysunspec2 model instance at ``address`` with ``repeats`` repetitions of its repeating group.

    ``length`` sets L for models with a documented alternative length (Common: 65 without Pad).
    pysunspec2 sizes a group either from a count point (714 ``NPrt``), which gets the repetitions as its
    value, or from L (160): then L is computed from the fixed part and the group's length.
    """
    definition = sunspec_device.get_model_def(model_id)
    # Groups of a fixed count (704's power-factor groups) are laid out by pysunspec2 itself.
    groups = [
        group
        for group in definition[mdef.GROUP].get(mdef.GROUPS, [])
        if group.get(mdef.COUNT) == 0 or isinstance(group.get(mdef.COUNT), str)
    ]
    data: dict[str, int] | None = None
    if groups:
        if len(groups) != 1:
            raise ValueError(f"model {model_id}: more than one repeating group")
        count = groups[0][mdef.COUNT]
        if isinstance(count, str):
            data = {count: repeats}
        elif repeats:
            bare = sunspec_device.Model(model_id=model_id, model_def=definition)
            group = sunspec_device.Group(gdef=groups[0], model=bare)
            length = bare.len - 2 + repeats * group.len
    elif repeats:
        raise ValueError(f"model {model_id} has no repeating group")
    model = sunspec_device.Model(
        model_id=model_id, model_addr=address, model_len=length or 0, model_def=definition, data=data
    )
    if model.error_info:
        raise ValueError(f"model {model_id}: {model.error_info.strip()}")
    return model


class SunSpecChain:
    """A SunSpec model chain in a register image: marker, pysunspec2 model instances, end model."""

    def __init__(self, image: RegisterImage, base: int = 40000) -> None:
        self.image = image
        self.addresses: dict[int, int] = {}  # model ID -> address of the latest instance added
        self.models: dict[int, Any] = {}  # address -> pysunspec2 model instance
        image.set_words(HOLDING, base, SUNS_MARKER)
        self._next = base + 2

    def add(self, model_id: int, repeats: int = 0, length: int | None = None) -> int:
        """Append a model (with ``repeats`` repetitions of its group); every point starts unimplemented.

        Returns its address. ``set`` and ``set_scaled`` address the latest instance of a model ID unless
        given ``at`` (a chain may repeat Common and meter models, for example).
        """
        address = self._next
        model = new_model(model_id, address, repeats, length)
        self.models[address] = model
        self.addresses[model_id] = address
        self._write_model(model)
        self._next = address + model.len
        return address

    def unimplement(self, model_id: int, at: int | None = None) -> None:
        """Set every point of a model (all but its header) to the "not implemented" value of its type."""
        model = self._model(model_id, at)
        for point in _all_points(model):
            if point.pdef[mdef.NAME] not in ("ID", "L"):
                point.value = None
        self._write_model(model)

    def end(self) -> None:
        """Close the chain with the end model (ID 0xFFFF, L 0)."""
        self.image.set_words(HOLDING, self._next, [END_MODEL_ID, 0])

    def refresh(self, model_id: int, at: int | None = None) -> Any:
        """The model instance with the values a client may have written into the image since."""
        model = self._model(model_id, at)
        words = self.image.read(HOLDING, model.model_addr, model.len)
        model.set_mb(b"".join(word.to_bytes(2, "big") for word in words))
        return model

    def set(
        self,
        model_id: int,
        name: str,
        value: int | float | str | None,
        index: int | None = None,
        *,
        at: int | None = None,
    ) -> None:
        """Write a raw value (no scaling; None = not implemented); ``index`` picks a group repetition."""
        model = self._model(model_id, at)
        point = _point(model, name, index)
        if isinstance(value, float) and point.pdef[mdef.TYPE] not in _FLOAT_TYPES:
            value = round(value)
        point.value = value
        self._write_point(model, point)

    def set_scaled(
        self,
        model_id: int,
        name: str,
        value: float,
        exponent: int,
        index: int | None = None,
        *,
        at: int | None = None,
    ) -> None:
        """Write ``value`` by pysunspec2's scaled setter, with its scale factor point set to ``exponent``.

        Points sharing a scale factor must be written with the same exponent (the last one wins).
        """
        model = self._model(model_id, at)
        point = _point(model, name, index)
        sf_name = point.sf
        if sf_name is None:
            raise KeyError(f"{model_id}.{name} has no scale factor point")
        sf_point = point.group.points.get(sf_name) or model.points[sf_name]
        sf_point.value = exponent
        self._write_point(model, sf_point)
        point.sf_value = None  # read the scale factor again (pysunspec2 caches it on "static" points)
        point.cvalue = value
        self._write_point(model, point)

    def set_common(
        self,
        manufacturer: str,
        model: str,
        version: str,
        serial: str,
        unit_id: int,
        option: str = "",
        *,
        at: int | None = None,
    ) -> None:
        """Fill the Common model (1)."""
        for name, value in (
            ("Mn", manufacturer),
            ("Md", model),
            ("Opt", option),
            ("Vr", version),
            ("SN", serial),
            ("DA", unit_id),
        ):
            self.set(COMMON_MODEL, name, value, at=at)

    def _model(self, model_id: int, at: int | None) -> Any:
        model = self.models[self.addresses[model_id] if at is None else at]
        if model.model_id != model_id:
            raise KeyError(f"no model {model_id} at {at}")
        return model

    def _write_model(self, model: Any) -> None:
        self.image.set_words(HOLDING, model.model_addr, _words(model.get_mb()))

    def _write_point(self, model: Any, point: Any) -> None:
        self.image.set_words(HOLDING, model.model_addr + point.offset, _words(point.get_mb()))


def _point(model: Any, name: str, index: int | None) -> Any:
    """A point of the fixed part, or of repetition ``index`` (0-based) of the repeating group."""
    if index is None:
        return model.points[name]
    [repetitions] = model.groups.values()
    return repetitions[index].points[name]


def _all_points(model: Any) -> list[Any]:
    points = list(model.points.values())
    for repetitions in model.groups.values():
        for group in repetitions:
            points.extend(group.points.values())
    return points


class SunSpecInverterSim(SimDevice):
    """Hybrid inverter with battery: chain 1, 103, 120, 160 (2 modules), 701, 713, 802, 123, 124."""

    name = "sunspec_inverter"

    def __init__(self, unit_id: int = 1, serial: str = "SS-INV-0001", base: int = 40000) -> None:
        super().__init__()
        self.unit_id = unit_id
        self.serial = serial
        chain = SunSpecChain(self.image, base)
        for model_id in (COMMON_MODEL, INVERTER_MODEL_3PH, NAMEPLATE_MODEL):
            chain.add(model_id)
        chain.add(MPPT_MODEL, repeats=2)
        for model_id in (DER_AC_MODEL, STORAGE_CAPACITY_MODEL, BATTERY_MODEL, CONTROLS_MODEL, STORAGE_MODEL):
            chain.add(model_id)
        chain.end()
        self.chain = chain
        chain.set_common(MANUFACTURER, "SIM-INV-10K", "1.4.2", serial, unit_id)
        self._set_nameplate()
        self._set_controls()

    def _set_controls(self) -> None:
        """Factory settings: connected, no output limit, battery in self-use with a 10 % reserve."""
        c, m = self.chain, CONTROLS_MODEL
        c.set(m, "Conn", 1)
        c.set_scaled(m, "WMaxLimPct", 100.0, -1)
        c.set(m, "WMaxLim_Ena", 0)
        c.set_scaled(m, "OutPFSet", 1.0, -3)
        c.set(m, "OutPFSet_Ena", 0)
        c.set(m, "VArPct_Ena", 0)
        m = STORAGE_MODEL
        c.set_scaled(m, "WChaMax", BATTERY_MAX_W, 0)
        c.set_scaled(m, "WChaGra", 100, 0)
        c.set_scaled(m, "WDisChaGra", 100, 0)
        c.set(m, "StorCtl_Mod", 0)
        c.set_scaled(m, "MinRsvPct", 10.0, -1)
        c.set_scaled(m, "InWRte", 100.0, -2)
        c.set_scaled(m, "OutWRte", 100.0, -2)
        c.set(m, "ChaGriSet", 0)  # PV

    def command(self, state: PlantState) -> None:
        """The plant follows the output limit (123) and the storage controls (124)."""
        controls = self.chain.refresh(CONTROLS_MODEL)
        limit: float | None = None
        if controls.points["WMaxLim_Ena"].value == 1 and controls.points["WMaxLimPct"].cvalue is not None:
            limit = controls.points["WMaxLimPct"].cvalue / 100 * RATED_POWER_W
        storage = self.chain.refresh(STORAGE_MODEL)
        points = storage.points
        bits = points["StorCtl_Mod"].value or 0
        charge, discharge = points["InWRte"].cvalue, points["OutWRte"].cvalue
        rate = points["WChaMax"].cvalue or 0.0
        battery, power = "self_use", 0.0
        if bits & 2 and discharge is not None and discharge < 0:
            battery, power = "charge", -discharge / 100 * rate
        elif bits & 1 and charge is not None and charge < 0:
            battery, power = "discharge", -charge / 100 * rate
        elif bits & 3 == 3 and charge == 0 and discharge == 0:
            battery = "hold"
        state.command = PlantCommand(
            battery=battery,
            power=power,
            grid_charge=points["ChaGriSet"].value == 1,
            min_soc=points["MinRsvPct"].cvalue,
            output_limit=limit,
        )

    def _set_nameplate(self) -> None:
        c, m = self.chain, NAMEPLATE_MODEL
        c.set(m, "DERTyp", 82)  # PV_STOR
        c.set_scaled(m, "WRtg", RATED_POWER_W, 0)
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
            for name in STORAGE_MEASUREMENTS:  # 124's settings stay what they are
                self.chain.set(STORAGE_MODEL, name, None)
            return
        _render_inverter_103(self.chain, state, state.ac_power, state.ac_energy_total)
        self._render_mppt(state)
        self._render_der(state)
        self._render_storage(state)

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
        m = STORAGE_MODEL
        c.set_scaled(m, "ChaState", state.battery_soc, -1)
        c.set_scaled(m, "InBatV", voltage, -1)
        c.set(m, "ChaSt", 3 if state.battery_power > 0 else 4 if state.battery_power < 0 else 6)


def _render_inverter_103(
    c: SunSpecChain, state: PlantState, power: float, energy_kwh: float, *, at: int | None = None
) -> None:
    """Fill a three-phase inverter model (103): AC output ``power`` (W, + = produced), ``energy_kwh``."""
    m = INVERTER_MODEL_3PH
    voltage = state.grid_voltage
    phase_current = _phase_current(power, voltage)
    c.set_scaled(m, "A", 3 * phase_current, -2, at=at)
    for phase in ("A", "B", "C"):
        c.set_scaled(m, f"Aph{phase}", phase_current, -2, at=at)
        c.set_scaled(m, f"PhVph{phase}", voltage, -1, at=at)
    for pair in ("AB", "BC", "CA"):
        c.set_scaled(m, f"PPVph{pair}", voltage * SQRT3, -1, at=at)
    c.set_scaled(m, "W", power, 0, at=at)
    c.set_scaled(m, "Hz", state.grid_frequency, -2, at=at)
    c.set_scaled(m, "VA", abs(power), 0, at=at)
    c.set_scaled(m, "WH", energy_kwh * 1000, 0, at=at)
    dc_voltage = state.pv1_voltage
    c.set_scaled(m, "DCV", dc_voltage, -1, at=at)
    c.set_scaled(m, "DCA", state.pv_power / dc_voltage if dc_voltage else 0.0, -2, at=at)
    c.set_scaled(m, "DCW", state.pv_power, 0, at=at)
    c.set_scaled(m, "TmpCab", state.inverter_temperature, -1, at=at)
    c.set_scaled(m, "TmpSnk", state.inverter_temperature + 4, -1, at=at)
    if fault_bits(state.faults, INVERTER_FAULT_BITS):
        c.set(m, "St", 7, at=at)  # FAULT
    else:
        c.set(m, "St", 2 if state.sleeping else 4, at=at)  # SLEEPING / MPPT
    c.set(m, "Evt1", fault_bits(state.faults, INVERTER_FAULT_BITS), at=at)
    c.set(m, "Evt2", 0, at=at)


def _render_meter_203(
    c: SunSpecChain,
    state: PlantState,
    power: float,
    imported_kwh: float | None,
    exported_kwh: float | None,
    *,
    at: int | None = None,
) -> None:
    """Fill a wye meter model (203) with ``power`` in the meter's own sign; None counters = not kept."""
    m = METER_MODEL_3PH
    voltage = state.grid_voltage
    # Currents carry the sign of the meter's power.
    phase_current = math.copysign(_phase_current(power, voltage), power)
    c.set_scaled(m, "A", 3 * phase_current, -2, at=at)
    for phase in ("A", "B", "C"):
        c.set_scaled(m, f"Aph{phase}", phase_current, -2, at=at)
        c.set_scaled(m, f"PhVph{phase}", voltage, -1, at=at)
        c.set_scaled(m, f"Wph{phase}", power / 3, 0, at=at)
    c.set_scaled(m, "PhV", voltage, -1, at=at)
    c.set_scaled(m, "PPV", voltage * SQRT3, -1, at=at)
    for pair in ("AB", "BC", "CA"):
        c.set_scaled(m, f"PhVph{pair}", voltage * SQRT3, -1, at=at)
    c.set_scaled(m, "Hz", state.grid_frequency, -2, at=at)
    c.set_scaled(m, "W", power, 0, at=at)
    for name, kwh in (("TotWhExp", exported_kwh), ("TotWhImp", imported_kwh)):
        if kwh is None:
            c.set(m, name, None, at=at)  # acc32 0: "not accumulated"
        else:
            c.set_scaled(m, name, kwh * 1000, 0, at=at)
    c.set(m, "Evt", fault_bits(state.faults, METER_FAULT_BITS), at=at)
    if FAULT_METER_COMM_LOST in state.faults:
        for name in ("W", "WphA", "WphB", "WphC"):
            c.set(m, name, None, at=at)  # int16 "not implemented"


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
        if FAULT_SENTINEL_VALUES in state.faults:
            self.chain.unimplement(METER_MODEL_3PH)
            return
        imported, exported = state.grid_import_energy_total, state.grid_export_energy_total
        _render_meter_203(self.chain, state, state.grid_power, imported, exported)


class SolarEdgeInverterSim(SimDevice):
    """SolarEdge three-phase PV inverter with an Energy Meter presented as two meters (F12, F17).

    One chain on one unit, at SolarEdge's documented addresses: Common (L 65, no Pad) at 40002, 103 at
    40069, then two meter segments, each a Common model and a 203: at 40121 the "Export+Import" meter (the
    grid connection point, W + = export) and at 40295 the "Production" meter (W + = produced, the produced
    energy counted as TotWhImp, as in F17). Both segments are the same hardware meter: same model, same
    serial, function told by the Common option text ``Opt``. The end model is at 40469.
    The inverter is PV only, so its AC output and the production meter show the plant's PV power.
    """

    name = "solaredge_inverter"
    MODEL = "SE10K-RW0TEBNN4"
    METER_MODEL = "SE-MTR-3Y-400V-A"
    METER_UNIT_ID = 2  # the meters' Common DA, as SolarEdge fills it

    def __init__(
        self, unit_id: int = 1, serial: str = "7E0SIM01", meter_serial: str = "60SIM002", base: int = 40000
    ) -> None:
        super().__init__()
        self.unit_id = unit_id
        self.serial = serial
        self.meter_serial = meter_serial
        chain = SunSpecChain(self.image, base)
        chain.add(COMMON_MODEL, length=LEGACY_COMMON_LENGTH)
        chain.set_common("SolarEdge", self.MODEL, "0004.0023.0062", serial, unit_id)
        chain.add(INVERTER_MODEL_3PH)
        self.meters: dict[str, int] = {}  # Common option text -> address of that segment's 203
        for option in ("Export+Import", "Production"):
            chain.add(COMMON_MODEL, length=LEGACY_COMMON_LENGTH)
            chain.set_common(
                "SolarEdge", self.METER_MODEL, "1.0.92", meter_serial, self.METER_UNIT_ID, option
            )
            self.meters[option] = chain.add(METER_MODEL_3PH)
        chain.end()
        self.chain = chain

    def render(self, state: PlantState) -> None:
        """The inverter's output, the grid exchange (+ = export) and the PV production (+ = produced)."""
        chain = self.chain
        grid, production = self.meters["Export+Import"], self.meters["Production"]
        if FAULT_SENTINEL_VALUES in state.faults:
            chain.unimplement(INVERTER_MODEL_3PH)
            for at in (grid, production):
                chain.unimplement(METER_MODEL_3PH, at=at)
            return
        # SolarEdge inverters keep answering at night ("night mode", St = SLEEPING without PV).
        _render_inverter_103(chain, state, state.pv_power, state.pv_energy_total)
        if not fault_bits(state.faults, INVERTER_FAULT_BITS):
            chain.set(INVERTER_MODEL_3PH, "St", 4 if state.pv_power > 0 else 2)
        chain.set(INVERTER_MODEL_3PH, "StVnd", 0)
        _render_meter_203(
            chain,
            state,
            -state.grid_power,
            state.grid_import_energy_total,
            state.grid_export_energy_total,
            at=grid,
        )
        _render_meter_203(chain, state, state.pv_power, state.pv_energy_total, None, at=production)


def _phase_current(power: float, voltage: float) -> float:
    """Current of one of three balanced phases."""
    return abs(power) / 3 / voltage if voltage else 0.0
