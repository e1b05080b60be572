"""What a SunSpec device's models mean in canonical quantities, compiled once per model chain.

Register facts come from the SunSpec model definitions (``models``); which model point feeds which
canonical quantity, and in which order of preference, is stated here once per role. A device's point
table, the register spans that must be read together (values with their scale factors) and the decoder
are compiled once per chain and cached.

Sign conventions (canonical ones in ``model.py``):
- 701 ``W`` is + for generation (model text), the same as canonical ``ac_power``.
- 802 ``W``/``A`` carry no sign rule in the model text ("power flowing to/from the battery bank").
  We read + as discharging: that is the DER generation convention of 701, and evcc's generic SunSpec
  battery template reads 802 W unchanged as battery power, which evcc counts + = discharging.
  714 ESS port ``DCW`` is read the same way (unverified: no device seen).
- Meter 20x/21x ``W``: the model text gives no sign. Meters are read as + in their forward direction
  (at the grid connection point: import, which Fronius and most meters count +); a manufacturer that
  counts otherwise is an entry in ``conventions``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ...faults import Fault, FaultSource
from ...model import DeviceIdentity, DeviceReading, DeviceStatus, MeterLocation, Quantity, Role
from ...planner import MAX_REGISTERS_PER_READ, Span
from ...registers import Point, RawValue, RegisterKind, scaled
from ..table import first_of, sum_of
from . import faults
from .chain import ModelInstance, SunSpecDetails
from .conventions import conventions_for
from .models import (
    BASIC_STORAGE_MODEL,
    BATTERY_MODEL,
    DER_AC_MODEL,
    DER_DC_MODEL,
    FLOAT_INVERTER_MODELS,
    FLOAT_METER_MODELS,
    INT_INVERTER_MODELS,
    INT_METER_MODELS,
    MPPT_MODEL,
    STATUS_MODEL,
    STORAGE_CAPACITY_MODEL,
    has_point,
    layout,
    model_point,
    point_key,
    scale_factor_point,
)

# DER DC (714) port types.
PORT_TYPE_PV = 0
PORT_TYPE_ESS = 1

_INVERTER_ST = {
    1: DeviceStatus.OFF,
    2: DeviceStatus.SLEEPING,
    3: DeviceStatus.STARTING,
    4: DeviceStatus.RUNNING,  # MPPT
    5: DeviceStatus.THROTTLED,
    6: DeviceStatus.STANDBY,  # SHUTTING_DOWN
    7: DeviceStatus.FAULT,
    8: DeviceStatus.STANDBY,
}
_DER_INV_ST = {  # 701 InvSt is 0-based, unlike 10x St
    0: DeviceStatus.OFF,
    1: DeviceStatus.SLEEPING,
    2: DeviceStatus.STARTING,
    3: DeviceStatus.RUNNING,
    4: DeviceStatus.THROTTLED,
    5: DeviceStatus.STANDBY,  # SHUTTING_DOWN
    6: DeviceStatus.FAULT,
    7: DeviceStatus.STANDBY,
}
_BATTERY_STATE = {  # 802 State
    1: DeviceStatus.OFF,  # DISCONNECTED
    2: DeviceStatus.STARTING,  # INITIALIZING
    3: DeviceStatus.RUNNING,  # CONNECTED
    4: DeviceStatus.STANDBY,
    5: DeviceStatus.STANDBY,  # SOC PROTECTION
    6: DeviceStatus.STANDBY,  # SUSPENDING
    99: DeviceStatus.FAULT,
}
_STORAGE_STA = {0: DeviceStatus.RUNNING, 1: DeviceStatus.RUNNING, 2: DeviceStatus.FAULT}  # 713 Sta
_STORAGE_CHA_ST = {  # 124 ChaSt
    1: DeviceStatus.OFF,
    2: DeviceStatus.STANDBY,  # EMPTY
    3: DeviceStatus.RUNNING,  # DISCHARGING
    4: DeviceStatus.RUNNING,  # CHARGING
    5: DeviceStatus.STANDBY,  # FULL
    6: DeviceStatus.STANDBY,  # HOLDING
    7: DeviceStatus.STARTING,  # TESTING
}

_DER_AC_POINTS: tuple[str, ...] = ("InvSt", "Alrm", "W", "A", "LNV", "Hz", "TotWhInj", "TmpCab")
_DER_AC_POINTS += ("VL1", "VL2", "VL3", "AL1", "AL2", "AL3")
_INVERTER_POINTS: tuple[str, ...] = ("A", "AphA", "AphB", "AphC", "PhVphA", "PhVphB", "PhVphC", "W", "Hz")
_INVERTER_POINTS += ("WH", "DCA", "DCV", "DCW", "TmpCab", "St", "Evt1")
_MODULE_POINTS = ("IDStr", "DCA", "DCV", "DCW", "DCWH")
_PORT_POINTS = ("PrtTyp", "DCA", "DCV", "DCW", "DCWhInj", "DCWhAbs")
_BATTERY_POINTS = ("SoC", "SoH", "V", "A", "W", "State", "Evt1")
_STORAGE_CAPACITY_POINTS = ("SoC", "SoH", "Sta")
_BASIC_STORAGE_POINTS = ("ChaState", "InBatV", "ChaSt")
_METER_POINTS: tuple[str, ...] = ("W", "WphA", "WphB", "WphC", "Hz", "PhVphA", "PhVphB", "PhVphC")
_METER_POINTS += ("AphA", "AphB", "AphC")
_METER_POINTS += ("TotWhImp", "TotWhExp", "Evt")


@dataclass(frozen=True, slots=True)
class Compiled:
    """One device's point table, its coherent spans, and its models by ID (first instance wins)."""

    points: tuple[Point, ...]
    spans: tuple[Span, ...]
    index: Mapping[str, Point]
    models: Mapping[int, ModelInstance]

    def first(self, ids: Iterable[int]) -> ModelInstance | None:
        """The first present model among ``ids``."""
        return next((self.models[i] for i in ids if i in self.models), None)


class _TableBuilder:
    """Collects the points of one device, their scale factors, and one coherent span per model."""

    def __init__(self) -> None:
        self.points: dict[str, Point] = {}
        self._per_model: dict[ModelInstance, list[Point]] = {}

    def add(self, model: ModelInstance | None, names: Iterable[str], index: int | None = None) -> None:
        if model is None:
            return
        for name in names:
            if not has_point(model.model_id, name, in_group=index is not None):
                continue
            point = model_point(model.model_id, model.address, name, index)
            sf_point = scale_factor_point(model.model_id, model.address, name, index)
            end = model.address + 2 + model.length  # a model shorter than its definition ends early
            for item in (point, sf_point):
                if item is not None and item.key not in self.points and item.end <= end:
                    self.points[item.key] = item
                    self._per_model.setdefault(model, []).append(item)

    def add_repeats(self, model: ModelInstance | None, names: Iterable[str]) -> None:
        if model is None:
            return
        model_layout = layout(model.model_id)
        for index in range(model_layout.repetitions(model.length) if model_layout else 0):
            self.add(model, names, index)

    def spans(self) -> tuple[Span, ...]:
        """One span per model that has scaled values: SunSpec scale factors may change at runtime, so a
        value must be read in the same request as its SF."""
        spans: list[Span] = []
        for points in self._per_model.values():
            if not any(p.scale_factor is not None for p in points):
                continue
            start = min(p.address for p in points)
            end = min(max(p.end for p in points), start + MAX_REGISTERS_PER_READ)
            spans.append(Span(RegisterKind.HOLDING, start, end - start))
        return tuple(spans)


@functools.lru_cache(maxsize=128)
def compiled(role: Role, chain: tuple[ModelInstance, ...]) -> Compiled:
    """The point table of a device of ``role`` with these models (cached per chain)."""
    models: dict[int, ModelInstance] = {}
    for model in chain:
        models.setdefault(model.model_id, model)
    table = _TableBuilder()
    if role is Role.INVERTER:
        table.add(models.get(DER_AC_MODEL), _DER_AC_POINTS)
        inverter = next((models[i] for i in INT_INVERTER_MODELS + FLOAT_INVERTER_MODELS if i in models), None)
        table.add(inverter, _INVERTER_POINTS)
        table.add(models.get(STATUS_MODEL), ("ActWh",))
        table.add(models.get(MPPT_MODEL), ("Evt",))
    elif role is Role.BATTERY:
        table.add(models.get(BATTERY_MODEL), _BATTERY_POINTS)
        table.add(models.get(STORAGE_CAPACITY_MODEL), _STORAGE_CAPACITY_POINTS)
        table.add(models.get(BASIC_STORAGE_MODEL), _BASIC_STORAGE_POINTS)
    else:
        meter = next((models[i] for i in INT_METER_MODELS + FLOAT_METER_MODELS if i in models), None)
        table.add(meter, _METER_POINTS)
    if role in (Role.INVERTER, Role.BATTERY):
        table.add(models.get(DER_DC_MODEL), ("DCW",))
        table.add_repeats(models.get(DER_DC_MODEL), _PORT_POINTS)
        table.add_repeats(models.get(MPPT_MODEL), _MODULE_POINTS)
    points = tuple(table.points.values())
    return Compiled(points, table.spans(), {p.key: p for p in points}, models)


def compiled_for(identity: DeviceIdentity) -> Compiled:
    """The compiled table of a device (an identity without SunSpec details has no points)."""
    details = identity.details
    return compiled(identity.role, details.chain if isinstance(details, SunSpecDetails) else ())


# -- decoding --------------------------------------------------------------------------------------


class _Values:
    """Scaled access to one read's raw values by (model, point name, repetition)."""

    def __init__(self, index: Mapping[str, Point], raw: Mapping[str, RawValue]) -> None:
        self._index = index
        self._raw = raw

    def raw(self, model: ModelInstance | None, name: str, repeat: int | None = None) -> RawValue:
        if model is None:
            return None
        return self._raw.get(point_key(model.model_id, name, repeat))

    def get(self, model: ModelInstance | None, name: str, repeat: int | None = None) -> float | None:
        if model is None:
            return None
        key = point_key(model.model_id, name, repeat)
        point = self._index.get(key)
        if point is None:
            return None
        return scaled(point, self._raw.get(key), self._raw)

    def first(self, *candidates: tuple[ModelInstance | None, str]) -> float | None:
        """The first available of these (model, point name) values; later ones are not even scaled."""
        for model, name in candidates:
            value = self.get(model, name)
            if value is not None:
                return value
        return None


def _kwh(wh: float | None) -> float | None:
    return None if wh is None else wh / 1000.0


def _faults(source: FaultSource, value: RawValue) -> frozenset[Fault]:
    """The faults of a SunSpec bitfield. A set MSB means "ignore the other bits" (SunSpec/SMA rule)."""
    if not isinstance(value, int) or value & 0x8000_0000:
        return frozenset()
    return source.faults(value)


def _status(value: RawValue, table: Mapping[int, DeviceStatus]) -> DeviceStatus | None:
    return table.get(value, DeviceStatus.UNKNOWN) if isinstance(value, int) else None


@dataclass(frozen=True, slots=True)
class _DcInput:
    voltage: float | None
    current: float | None
    power: float | None
    energy_wh: float | None  # injected (PV: produced; battery: discharged)
    absorbed_wh: float | None = None  # battery ports only: charged


def _ports(v: _Values, model: ModelInstance | None, port_type: int) -> list[_DcInput]:
    model_layout = layout(model.model_id) if model else None
    if model is None or model_layout is None:
        return []
    return [
        _DcInput(
            v.get(model, "DCV", i),
            v.get(model, "DCA", i),
            v.get(model, "DCW", i),
            v.get(model, "DCWhInj", i),
            v.get(model, "DCWhAbs", i),
        )
        for i in range(model_layout.repetitions(model.length))
        if v.raw(model, "PrtTyp", i) == port_type
    ]


def _modules(
    v: _Values, model: ModelInstance | None, battery_labels: tuple[str, str] | None, kind: str | None
) -> list[_DcInput]:
    """The 160 modules of one kind: ``None`` PV strings, else the battery label (charging/discharging)."""
    model_layout = layout(model.model_id) if model else None
    if model is None or model_layout is None:
        return []
    found = []
    for i in range(model_layout.repetitions(model.length)):
        name = v.raw(model, "IDStr", i)
        label = name.strip().casefold() if isinstance(name, str) else ""
        # The discharging label starts with the charging one's letters ("stdischa"/"stcha"): test it first.
        module_kind = None
        for battery_label in sorted(battery_labels or (), key=len, reverse=True):
            if label.startswith(battery_label):
                module_kind = battery_label
                break
        if module_kind == kind:
            found.append(
                _DcInput(
                    v.get(model, "DCV", i),
                    v.get(model, "DCA", i),
                    v.get(model, "DCW", i),
                    v.get(model, "DCWH", i),
                )
            )
    return found


def decode_inverter(identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> DeviceReading:
    """A SunSpec inverter's canonical reading (701 DER first, then 10x/11x; DC inputs from 714 or 160)."""
    table = compiled_for(identity)
    models = table.models
    v = _Values(table.index, raw)
    der = models.get(DER_AC_MODEL)
    inv = table.first(INT_INVERTER_MODELS + FLOAT_INVERTER_MODELS)
    values: dict[Quantity, float | None] = {
        Quantity.AC_POWER: v.first((der, "W"), (inv, "W")),
        Quantity.AC_ENERGY_TOTAL: _kwh(
            v.first((der, "TotWhInj"), (inv, "WH"), (models.get(STATUS_MODEL), "ActWh"))
        ),
        Quantity.GRID_FREQUENCY: v.first((der, "Hz"), (inv, "Hz")),
        Quantity.INVERTER_TEMPERATURE: v.first((der, "TmpCab"), (inv, "TmpCab")),
        Quantity.GRID_VOLTAGE_L1: v.first((der, "VL1"), (der, "LNV"), (inv, "PhVphA")),
        Quantity.GRID_VOLTAGE_L2: v.first((der, "VL2"), (inv, "PhVphB")),
        Quantity.GRID_VOLTAGE_L3: v.first((der, "VL3"), (inv, "PhVphC")),
        Quantity.GRID_CURRENT_L1: v.first((der, "AL1"), (inv, "AphA")),
        Quantity.GRID_CURRENT_L2: v.first((der, "AL2"), (inv, "AphB")),
        Quantity.GRID_CURRENT_L3: v.first((der, "AL3"), (inv, "AphC")),
    }
    battery_labels = conventions_for(identity.manufacturer).battery_modules
    pv_inputs = _ports(v, models.get(DER_DC_MODEL), PORT_TYPE_PV) or _modules(
        v, models.get(MPPT_MODEL), battery_labels, None
    )
    values[Quantity.PV_POWER] = sum_of(p.power for p in pv_inputs) if pv_inputs else v.get(inv, "DCW")
    if pv_inputs:
        energies = [p.energy_wh for p in pv_inputs]
        values[Quantity.PV_ENERGY_TOTAL] = _kwh(sum_of(energies)) if None not in energies else None
    for pv, (voltage, current, power) in zip(
        pv_inputs,
        (
            (Quantity.PV1_VOLTAGE, Quantity.PV1_CURRENT, Quantity.PV1_POWER),
            (Quantity.PV2_VOLTAGE, Quantity.PV2_CURRENT, Quantity.PV2_POWER),
        ),
        strict=False,
    ):
        values[voltage], values[current], values[power] = pv.voltage, pv.current, pv.power
    status = _status(v.raw(der, "InvSt"), _DER_INV_ST) or _status(v.raw(inv, "St"), _INVERTER_ST)
    found = (
        _faults(faults.INVERTER_EVT1, v.raw(inv, "Evt1"))
        | _faults(faults.DER_ALRM, v.raw(der, "Alrm"))
        | _faults(faults.MPPT_EVT, v.raw(models.get(MPPT_MODEL), "Evt"))
    )
    return DeviceReading(identity, values, status or DeviceStatus.UNKNOWN, found)


def decode_battery(identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> DeviceReading:
    """A SunSpec battery's canonical reading (802, 713 or 124; DC side from 714 ports or 160 modules)."""
    table = compiled_for(identity)
    models = table.models
    v = _Values(table.index, raw)
    battery = models.get(BATTERY_MODEL)
    capacity = models.get(STORAGE_CAPACITY_MODEL)
    basic = models.get(BASIC_STORAGE_MODEL)
    ess_ports = _ports(v, models.get(DER_DC_MODEL), PORT_TYPE_ESS)
    labels = conventions_for(identity.manufacturer).battery_modules
    charge_modules = _modules(v, models.get(MPPT_MODEL), labels, labels[0]) if labels else []
    discharge_modules = _modules(v, models.get(MPPT_MODEL), labels, labels[1]) if labels else []
    module_power = None
    if charge_modules or discharge_modules:
        charging = sum_of(m.power for m in charge_modules)
        discharging = sum_of(m.power for m in discharge_modules)
        if charging is not None or discharging is not None:
            module_power = (discharging or 0.0) - (charging or 0.0)
    values: dict[Quantity, float | None] = {
        Quantity.BATTERY_SOC: v.first((battery, "SoC"), (capacity, "SoC"), (basic, "ChaState")),
        Quantity.BATTERY_POWER: first_of(
            v.get(battery, "W"), sum_of(p.power for p in ess_ports) if ess_ports else None, module_power
        ),
    }
    if battery or capacity:
        values[Quantity.BATTERY_SOH] = v.first((battery, "SoH"), (capacity, "SoH"))
    if battery or basic:
        values[Quantity.BATTERY_VOLTAGE] = v.first((battery, "V"), (basic, "InBatV"))
    if battery:
        values[Quantity.BATTERY_CURRENT] = v.get(battery, "A")
    if ess_ports:
        values[Quantity.BATTERY_DISCHARGE_ENERGY_TOTAL] = _kwh(sum_of(p.energy_wh for p in ess_ports))
        values[Quantity.BATTERY_CHARGE_ENERGY_TOTAL] = _kwh(sum_of(p.absorbed_wh for p in ess_ports))
    elif charge_modules or discharge_modules:
        values[Quantity.BATTERY_DISCHARGE_ENERGY_TOTAL] = _kwh(sum_of(m.energy_wh for m in discharge_modules))
        values[Quantity.BATTERY_CHARGE_ENERGY_TOTAL] = _kwh(sum_of(m.energy_wh for m in charge_modules))
    status = (
        _status(v.raw(battery, "State"), _BATTERY_STATE)
        or _status(v.raw(capacity, "Sta"), _STORAGE_STA)
        or _status(v.raw(basic, "ChaSt"), _STORAGE_CHA_ST)
    )
    found = _faults(faults.BATTERY_EVT1, v.raw(battery, "Evt1"))
    return DeviceReading(identity, values, status or DeviceStatus.UNKNOWN, found)


def decode_meter(identity: DeviceIdentity, raw: Mapping[str, RawValue]) -> DeviceReading:
    """A SunSpec meter's reading in the grid frame (``plantkit.location`` moves it to its location).

    ``W`` is read so + is the meter's forward direction (``conventions``); the forward counter is
    ``TotWhImp``.
    """
    table = compiled_for(identity)
    v = _Values(table.index, raw)
    meter = table.first(INT_METER_MODELS + FLOAT_METER_MODELS)
    sign = conventions_for(identity.manufacturer).power_sign(identity.measures or MeterLocation.GRID)

    def power(name: str) -> float | None:
        value = v.get(meter, name)
        return None if value is None else sign * value

    values: dict[Quantity, float | None] = {
        Quantity.GRID_POWER: power("W"),
        Quantity.GRID_POWER_L1: power("WphA"),
        Quantity.GRID_POWER_L2: power("WphB"),
        Quantity.GRID_POWER_L3: power("WphC"),
        Quantity.GRID_FREQUENCY: v.get(meter, "Hz"),
        Quantity.GRID_VOLTAGE_L1: v.get(meter, "PhVphA"),
        Quantity.GRID_VOLTAGE_L2: v.get(meter, "PhVphB"),
        Quantity.GRID_VOLTAGE_L3: v.get(meter, "PhVphC"),
        Quantity.GRID_CURRENT_L1: v.get(meter, "AphA"),
        Quantity.GRID_CURRENT_L2: v.get(meter, "AphB"),
        Quantity.GRID_CURRENT_L3: v.get(meter, "AphC"),
        Quantity.GRID_IMPORT_ENERGY_TOTAL: _kwh(v.get(meter, "TotWhImp")),
        Quantity.GRID_EXPORT_ENERGY_TOTAL: _kwh(v.get(meter, "TotWhExp")),
    }
    status = DeviceStatus.RUNNING if values[Quantity.GRID_POWER] is not None else DeviceStatus.UNKNOWN
    found = _faults(faults.METER_EVT, v.raw(meter, "Evt"))
    return DeviceReading(identity, values, status, found)
