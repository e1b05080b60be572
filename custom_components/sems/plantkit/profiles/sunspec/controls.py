"""SunSpec controls: the standard's control models, where a device's chain has them.

Register facts come from the SunSpec model definitions (``models``); what each point means as a
canonical control is stated here.

- Export limit (inverter): model 123 (immediate controls) ``WMaxLim_Ena`` and ``WMaxLimPct``, else model
  704 (DER AC controls) ``WMaxLimPctEna`` and ``WMaxLimPct``. Both limit the inverter's *output* to a
  percentage of its maximum power, not the power at the grid connection point: the plant never exports
  more than the limit (export is output minus the house load), but with the limit at 0 W the house runs
  from the grid. The percentage is of the nameplate power (120 ``WRtg``), so the limit is offered only
  where the device states it.
- Battery mode (battery): model 124 (basic storage), read the way inverter makers document it (Fronius):
  ``StorCtl_Mod`` bit 0 makes ``InWRte`` (% of ``WChaMax``) the charge limit, bit 1 makes ``OutWRte`` the
  discharge limit, and a negative limit forces the other direction: a discharge limit of -50 % charges at
  half ``WChaMax``. So self-use is no limit, a forced charge a negative discharge limit (with grid charging
  allowed, ``ChaGriSet``), a forced discharge a negative charge limit, hold both limits at 0. The forced
  power travels with the mode (these registers have no separate set point; ``CarriedPower`` shows and
  changes it); its limit is ``WChaMax``.
- Minimum SOC (battery): 124 ``MinRsvPct``, else 802 ``SoCRsvMin`` (bounded by 802 ``SoCMin``/``SoCMax``
  where the device states them).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ...control import BatteryMode, Control, ControlBinding, ControlSpec, ControlValue, RegisterWrite
from ...exceptions import ControlError
from ...model import DeviceIdentity
from ...registers import Point, RawValue, scaled
from ..settings import CarriedPower, NumberSetting, SwitchSetting, scale_of, word_write
from .chain import ModelInstance, SunSpecDetails
from .models import (
    BASIC_STORAGE_MODEL,
    BATTERY_MODEL,
    CONTROLS_MODEL,
    DER_CONTROLS_MODEL,
    has_point,
    model_point,
)

# 124 StorCtl_Mod bits and ChaGriSet values.
CHARGE_LIMIT = 1
DISCHARGE_LIMIT = 2
GRID_CHARGING = 1
FULL_RATE = 100.0  # % of WChaMax


def _models(identity: DeviceIdentity) -> dict[int, ModelInstance]:
    details = identity.details
    models: dict[int, ModelInstance] = {}
    for model in details.chain if isinstance(details, SunSpecDetails) else ():
        models.setdefault(model.model_id, model)
    return models


def _fits(model: ModelInstance, point: Point) -> bool:
    """The point lies inside the model instance (a device may send a model shorter than its definition)."""
    return point.end <= model.address + 2 + model.length


def _setting(model: ModelInstance, name: str) -> tuple[Point, Point | None] | None:
    """A point of the model and its scale factor point, or None when the instance does not hold them."""
    point = model_point(model.model_id, model.address, name)
    factor = None
    if point.scale_factor is not None:
        factor_name = point.scale_factor.split(".", 1)[1]
        factor = model_point(model.model_id, model.address, factor_name)
    if not _fits(model, point) or (factor is not None and not _fits(model, factor)):
        return None
    return point, factor


def inverter_controls(identity: DeviceIdentity) -> tuple[ControlBinding, ...]:
    """The export limit, from 123 or else 704 (needs the nameplate power to turn W into %)."""
    models = _models(identity)
    rated = identity.rated_power
    for model_id, enable, limit in (
        (CONTROLS_MODEL, "WMaxLim_Ena", "WMaxLimPct"),
        (DER_CONTROLS_MODEL, "WMaxLimPctEna", "WMaxLimPct"),
    ):
        model = models.get(model_id)
        if model is None or not rated:
            continue
        switch, percent = _setting(model, enable), _setting(model, limit)
        if switch is None or percent is None:
            continue
        return (
            SwitchSetting(ControlSpec(Control.EXPORT_LIMIT), switch[0]),
            NumberSetting(
                ControlSpec(Control.EXPORT_LIMIT_POWER, minimum=0, maximum=rated),
                percent[0],
                scale=rated / 100,
                scale_factor=percent[1],
            ),
        )
    return ()


def battery_controls(identity: DeviceIdentity) -> tuple[ControlBinding, ...]:
    """Battery mode and minimum SOC from 124, minimum SOC from 802 without it."""
    models = _models(identity)
    controls: list[ControlBinding] = []
    storage = models.get(BASIC_STORAGE_MODEL)
    if storage is not None and (mode := StorageMode.of(storage)) is not None:
        controls += (mode, CarriedPower(mode))
    reserve = _setting(storage, "MinRsvPct") if storage is not None else None
    if reserve is not None:
        spec = ControlSpec(Control.MIN_SOC, minimum=0, maximum=100)
        controls.append(NumberSetting(spec, reserve[0], scale_factor=reserve[1]))
    elif (battery := models.get(BATTERY_MODEL)) is not None and (minimum := BatteryReserve.of(battery)):
        controls.append(minimum)
    return tuple(controls)


@dataclass(frozen=True, slots=True)
class BatteryReserve(NumberSetting):
    """802 ``SoCRsvMin``, bounded by the battery's own ``SoCMin``/``SoCMax`` where it states them."""

    bounds: tuple[Point, ...] = ()

    @classmethod
    def of(cls, battery: ModelInstance) -> BatteryReserve | None:
        """The reserve setting of a battery model, if the instance holds it."""
        reserve = _setting(battery, "SoCRsvMin") if has_point(BATTERY_MODEL, "SoCRsvMin") else None
        if reserve is None:
            return None
        bounds = tuple(
            model_point(BATTERY_MODEL, battery.address, name)
            for name in ("SoCMin", "SoCMax")
            if _fits(battery, model_point(BATTERY_MODEL, battery.address, name))
        )
        spec = ControlSpec(Control.MIN_SOC, minimum=0, maximum=100)
        return cls(spec, reserve[0], scale_factor=reserve[1], bounds=bounds)

    @property
    def points(self) -> Sequence[Point]:
        factor = () if self.scale_factor is None else (self.scale_factor,)
        return (self.point, *factor, *self.bounds)

    def spec_for(self, raw: Mapping[str, RawValue]) -> ControlSpec:
        low, high = (None, None)
        for point in self.bounds:
            value = scaled(point, raw.get(point.key), raw)
            if point.key.endswith(".SoCMin"):
                low = value
            else:
                high = value
        minimum = low if low is not None and 0 <= low <= 100 else self.spec.minimum
        maximum = high if high is not None and minimum <= high <= 100 else self.spec.maximum
        return dataclasses.replace(self.spec, minimum=minimum, maximum=maximum)


@dataclass(frozen=True, slots=True)
class StorageMode(ControlBinding):
    """The battery mode in model 124 (see the module docstring): several registers, written together.

    The writes set the rates first and ``StorCtl_Mod`` last, so a mode never runs with a stale rate.
    """

    spec: ControlSpec
    mode: Point  # StorCtl_Mod
    charge_rate: Point  # InWRte, % of WChaMax (negative: forced discharge)
    discharge_rate: Point  # OutWRte, % of WChaMax (negative: forced charge)
    rate_factor: Point  # InOutWRte_SF
    max_charge: Point  # WChaMax, W
    max_charge_factor: Point  # WChaMax_SF
    grid_charging: Point | None  # ChaGriSet

    @classmethod
    def of(cls, storage: ModelInstance) -> StorageMode | None:
        """The mode binding of a 124 instance, if it holds every point it needs."""
        points = {}
        for name in ("StorCtl_Mod", "InWRte", "OutWRte", "InOutWRte_SF", "WChaMax", "WChaMax_SF"):
            point = model_point(BASIC_STORAGE_MODEL, storage.address, name)
            if not _fits(storage, point):
                return None
            points[name] = point
        grid = model_point(BASIC_STORAGE_MODEL, storage.address, "ChaGriSet")
        options = (
            BatteryMode.SELF_USE,
            BatteryMode.FORCE_CHARGE,
            BatteryMode.FORCE_DISCHARGE,
            BatteryMode.HOLD,
        )
        return cls(
            ControlSpec(Control.BATTERY_MODE, options=options),
            points["StorCtl_Mod"],
            points["InWRte"],
            points["OutWRte"],
            points["InOutWRte_SF"],
            points["WChaMax"],
            points["WChaMax_SF"],
            grid if _fits(storage, grid) else None,
        )

    @property
    def points(self) -> Sequence[Point]:
        found = (self.mode, self.charge_rate, self.discharge_rate, self.rate_factor, self.max_charge)
        return (*found, self.max_charge_factor, *((self.grid_charging,) if self.grid_charging else ()))

    def power_spec_for(
        self, raw: Mapping[str, RawValue], mode: BatteryMode | None = None
    ) -> ControlSpec | None:
        """The forced power's limits: ``WChaMax`` as the device reports it (None: it does not), in steps of
        what one rate count carries. A rate of 0 is no forced mode (it reads as limits someone else set),
        so the least power is one step."""
        maximum, factor = self._max_charge(raw), scale_of(self.charge_rate, raw)
        if maximum is None:
            return None
        if factor is None:  # the mode cannot be written either
            return ControlSpec(Control.FORCE_POWER, minimum=0, maximum=maximum)
        step = round(min(factor, FULL_RATE) / 100 * maximum, 6)
        return ControlSpec(Control.FORCE_POWER, minimum=step, maximum=maximum, step=step)

    def _max_charge(self, raw: Mapping[str, RawValue]) -> float | None:
        value = scaled(self.max_charge, raw.get(self.max_charge.key), raw)
        return value if value is not None and value > 0 else None

    def _rates(self, raw: Mapping[str, RawValue]) -> tuple[float | None, float | None]:
        return (
            scaled(self.charge_rate, raw.get(self.charge_rate.key), raw),
            scaled(self.discharge_rate, raw.get(self.discharge_rate.key), raw),
        )

    def decode(self, raw: Mapping[str, RawValue]) -> BatteryMode | None:
        bits = raw.get(self.mode.key)
        if not isinstance(bits, int):
            return None
        charge, discharge = self._rates(raw)
        if not bits & (CHARGE_LIMIT | DISCHARGE_LIMIT):
            return BatteryMode.SELF_USE
        if bits & DISCHARGE_LIMIT and discharge is not None and discharge < 0:
            return BatteryMode.FORCE_CHARGE
        if bits & CHARGE_LIMIT and charge is not None and charge < 0:
            return BatteryMode.FORCE_DISCHARGE
        if bits & CHARGE_LIMIT and bits & DISCHARGE_LIMIT and charge == 0 and discharge == 0:
            return BatteryMode.HOLD
        return None  # limits someone else set: no canonical mode

    def forced_power(self, raw: Mapping[str, RawValue]) -> float | None:
        """The power of the forced mode the registers hold (None outside one)."""
        mode, maximum = self.decode(raw), self._max_charge(raw)
        charge, discharge = self._rates(raw)
        rate = (
            discharge
            if mode is BatteryMode.FORCE_CHARGE
            else charge
            if mode is BatteryMode.FORCE_DISCHARGE
            else None
        )
        return None if rate is None or maximum is None else round(-rate / 100 * maximum, 6)

    def encode(
        self, value: ControlValue, raw: Mapping[str, RawValue], power: float | None = None
    ) -> tuple[RegisterWrite, ...]:
        if value is BatteryMode.SELF_USE:
            return (word_write(self.mode, 0),)
        factor = scale_of(self.charge_rate, raw)
        maximum = self._max_charge(raw)
        if factor is None or maximum is None:
            raise ControlError("124: no usable rate scale factor or WChaMax", str(self.control))
        if value is BatteryMode.HOLD:
            return (
                word_write(self.discharge_rate, 0),
                word_write(self.charge_rate, 0),
                word_write(self.mode, CHARGE_LIMIT | DISCHARGE_LIMIT),
            )
        if value not in (BatteryMode.FORCE_CHARGE, BatteryMode.FORCE_DISCHARGE):
            raise ControlError(f"124 has no mode {value}", str(self.control))
        if power is None:  # keep the power of the same forced mode, else the full rate
            current = self.forced_power(raw) if self.decode(raw) is value else None
            power = maximum if current is None else current
        percent = -min(FULL_RATE, max(0.0, power / maximum * 100))
        counts = round(percent / factor)
        writes: list[RegisterWrite] = []
        if value is BatteryMode.FORCE_CHARGE:
            writes.append(word_write(self.discharge_rate, counts))
            if self.grid_charging is not None and raw.get(self.grid_charging.key) is not None:
                writes.append(word_write(self.grid_charging, GRID_CHARGING))  # where the device has it
            writes.append(word_write(self.mode, DISCHARGE_LIMIT))
        else:
            writes.extend((word_write(self.charge_rate, counts), word_write(self.mode, CHARGE_LIMIT)))
        return tuple(writes)
