"""Simulated Huawei SUN2000 hybrid inverter with its power meter and LUNA2000 battery (Modbus TCP).

The register map below is the simulator's own, stated from Huawei's public "Solar Inverter Modbus
Interface Definitions", Issue 04 (2023-01-10) (sections Inverter Equipment, Meter, Battery, Alarms via
Modbus, Model and Firmware). It deliberately does not import the integration's profiles, so the
end-to-end tests compare two independent readings of the document: a wrong address, gain or sign in the
profile shows up as a wrong value.

What the document says, as this model renders it:
- Every value is a holding register (FC 03) at the address the document prints; value = raw / gain.
  "kW, gain 1000" is one watt per count.
- Signs: inverter active power 32080 + = output; meter active power 37113 and phase powers 37132-37136
  + = feed-in to the grid (export); battery charge/discharge power (37001, 37765) + = charging.
- The document gives currents no direction; this model signs them like the power they carry (meter:
  + = feed-in; battery: + = charging), so a client must not take their sign for granted.
- Energy: u32 x 0.01 kWh (yield 32106/32114, battery totals), int32 x 0.01 kWh (meter totals 37119
  fed to the grid, 37121 supplied from the grid).
- Only the blocks below answer; a read that strays outside them is refused (illegal data address).
- Like the SDongle, the device drops every request that arrives within ``deaf_after_connect`` seconds of
  a TCP connect (0.5 s here; the real ones need about 1 s).

Device faults (``simulator.faults.DEVICE_FAULTS`` names in ``PlantState.faults``):
- ``over_temperature``: alarm 2 bit 3 (Overtemperature) and device status 0x0300 (Shutdown: fault).
- ``ground_fault``: alarm 2 bit 0 (Abnormal Residual Current).
- ``grid_over_voltage``: alarm 1 bit 9 (Grid Overvoltage).
- ``grid_loss``: alarm 1 bit 7 (Grid Loss).
- ``bms_alarm``: alarm 2 bit 9 (Battery abnormal) and alarm 3 bit 15 (low discharge capacity).
- ``meter_comm_lost``: meter status 0 (offline) and alarm 2 bit 8 (Faulty Power Collector).
- ``sentinel_values``: nothing; the document defines no "not available" value.

Controls (the document's "Battery" settings and active power control; holding registers a client writes,
and the plant follows them):
- 47100 forcible charge/discharge (write only: a read is refused, like any register the device does not
  let be read): 1 charges at 47247 (W), 2 discharges at 47249 (W), 0 stops; while forced the storage's
  running mode 37006 reads 1 (forcible charge/discharge), otherwise what the working mode 47086 sets
  (2 maximise self consumption -> 4). A forced charge takes power from the grid only with charge from grid
  47087 = 1. The device's own end of a forced mode after the period 47083 is not modelled.
- 47082 end-of-discharge SOC (%, gain 10): the SOC a discharge stops at.
- 47415 active power control: 6 limits the feed-in at the meter to 47416 (I32, kW, gain 1000), 5 to zero;
  0 (and the other modes) leave it unlimited.
- 47075/47077 maximum charging/discharging power (U32, W) are read by clients as the limits of a forced
  mode; writes are stored. Like GoodWe's model, values are not range-checked.
"""

from __future__ import annotations

import math

from custom_components.sems.plantkit.registers import DataType, Point, RegisterKind, decode

from ..device import SimDevice
from ..image import RegisterImage
from ..physics import PlantCommand, PlantState

HOLDING = RegisterKind.HOLDING
U16, I16, U32, I32 = DataType.U16, DataType.S16, DataType.U32, DataType.S32


def reg(address: int, dtype: DataType = U16, step: float = 1.0) -> Point:
    """A holding register; ``step`` is the value of one count (1 / gain, in W for "kW, gain 1000")."""
    return Point(f"huawei@{address}", address, dtype, HOLDING, scale=step)


def text(address: int, registers: int) -> Point:
    """An ASCII field (STR) of ``registers`` registers."""
    return Point(f"huawei@{address}", address, DataType.STRING, HOLDING, length=registers)


# -- the register map ----------------------------------------------------------------------------------------

UNIT_ID = 1  # the inverter's communication address behind the SDongle

# Blocks that answer: (start, count).
BLOCKS = (
    (30000, 35),  # model, SN, PN
    (30070, 13),  # model ID .. maximum reactive power
    (32000, 116),  # state words, alarms, PV, grid, power, status, energy yield (32000..32115)
    (37000, 70),  # energy storage unit 1 (37000..37069)
    (37100, 39),  # power meter (37100..37138)
    (37758, 30),  # energy storage, both units (37758..37787)
    (40000, 2),  # system time
    (47000, 1),  # energy storage unit 1 product model
    (47075, 14),  # energy storage settings: max charge/discharge power .. grid charge cutoff (47075..47088)
    (47100, 1),  # forcible charge/discharge (write only)
    (47246, 5),  # forcible charge/discharge setting mode and powers (47246..47250)
    (47415, 4),  # active power control mode, maximum feed-in power (kW, %) (47415..47418)
)

# Inverter equipment.
MODEL = text(30000, 15)
SERIAL = text(30015, 10)
PART_NUMBER = text(30025, 10)
MODEL_ID = reg(30070)
PV_STRINGS = reg(30071)
MPP_TRACKERS = reg(30072)
RATED_POWER = reg(30073, U32)  # kW, gain 1000
MAX_ACTIVE_POWER = reg(30075, U32)  # kW, gain 1000
STATE_1 = reg(32000)  # bit 1 grid-connected, bit 2 grid-connected normally
ALARM_1, ALARM_2, ALARM_3 = reg(32008), reg(32009), reg(32010)
PV_INPUTS = (  # (voltage I16 V gain 10, current I16 A gain 100) of PV1, PV2
    (reg(32016, I16, 0.1), reg(32017, I16, 0.01)),
    (reg(32018, I16, 0.1), reg(32019, I16, 0.01)),
)
INPUT_POWER = reg(32064, I32)  # kW, gain 1000
LINE_VOLTAGES = (
    reg(32066, U16, 0.1),
    reg(32067, U16, 0.1),
    reg(32068, U16, 0.1),
)  # 32066: grid voltage (1-phase)
PHASE_VOLTAGES = (reg(32069, U16, 0.1), reg(32070, U16, 0.1), reg(32071, U16, 0.1))
PHASE_CURRENTS = (
    reg(32072, I32, 0.001),
    reg(32074, I32, 0.001),
    reg(32076, I32, 0.001),
)  # 32072: grid current
ACTIVE_POWER = reg(32080, I32)  # kW, gain 1000
POWER_FACTOR = reg(32084, I16, 0.001)
GRID_FREQUENCY = reg(32085, U16, 0.01)
EFFICIENCY = reg(32086, U16, 0.01)
INTERNAL_TEMPERATURE = reg(32087, I16, 0.1)
DEVICE_STATUS = reg(32089)
ACCUMULATED_YIELD = reg(32106, U32, 0.01)  # kWh
DAILY_YIELD = reg(32114, U32, 0.01)  # kWh

# Energy storage unit 1.
UNIT1_STATUS = reg(37000)  # 0 offline, 1 standby, 2 running, 3 fault, 4 sleep mode
UNIT1_POWER = reg(37001, I32)  # kW, gain 1000; > 0 charging
UNIT1_BUS_VOLTAGE = reg(37003, U16, 0.1)
UNIT1_SOC = reg(37004, U16, 0.1)
UNIT1_WORKING_MODE = reg(37006)  # 4: maximise self consumption
UNIT1_RATED_CHARGE_POWER = reg(37007, U32)  # W
UNIT1_RATED_DISCHARGE_POWER = reg(37009, U32)  # W
UNIT1_DAY_CHARGE = reg(37015, U32, 0.01)
UNIT1_DAY_DISCHARGE = reg(37017, U32, 0.01)
UNIT1_BUS_CURRENT = reg(37021, I16, 0.1)
UNIT1_TEMPERATURE = reg(37022, I16, 0.1)
UNIT1_SERIAL = text(37052, 10)
UNIT1_TOTAL_CHARGE = reg(37066, U32, 0.01)
UNIT1_TOTAL_DISCHARGE = reg(37068, U32, 0.01)
UNIT1_PRODUCT_MODEL = reg(47000)  # 0 none, 1 LG-RESU, 2 HUAWEI-LUNA2000

# Energy storage (both units).
STORAGE_RATED_CAPACITY = reg(37758, U32)  # Wh
STORAGE_SOC = reg(37760, U16, 0.1)
STORAGE_STATUS = reg(37762)
STORAGE_BUS_VOLTAGE = reg(37763, U16, 0.1)
STORAGE_BUS_CURRENT = reg(37764, I16, 0.1)
STORAGE_POWER = reg(37765, I32)  # kW, gain 1000
STORAGE_TOTAL_CHARGE = reg(37780, U32, 0.01)
STORAGE_TOTAL_DISCHARGE = reg(37782, U32, 0.01)
STORAGE_DAY_CHARGE = reg(37784, U32, 0.01)
STORAGE_DAY_DISCHARGE = reg(37786, U32, 0.01)

# Power meter.
METER_STATUS = reg(37100)  # 0 offline, 1 normal
METER_VOLTAGES = (reg(37101, I32, 0.1), reg(37103, I32, 0.1), reg(37105, I32, 0.1))
METER_CURRENTS = (reg(37107, I32, 0.01), reg(37109, I32, 0.01), reg(37111, I32, 0.01))
METER_ACTIVE_POWER = reg(37113, I32)  # W, gain 1; > 0 feed-in
METER_POWER_FACTOR = reg(37117, I16, 0.001)
METER_FREQUENCY = reg(37118, I16, 0.01)
METER_EXPORTED = reg(37119, I32, 0.01)  # positive active electricity: fed to the grid
METER_IMPORTED = reg(37121, I32, 0.01)  # reverse active power: supplied from the grid
METER_TYPE = reg(37125)  # 0 single-phase, 1 three-phase
METER_LINE_VOLTAGES = (reg(37126, I32, 0.1), reg(37128, I32, 0.1), reg(37130, I32, 0.1))
METER_PHASE_POWERS = (reg(37132, I32), reg(37134, I32), reg(37136, I32))  # kW, gain 1000; > 0 feed-in
METER_DETECTION = reg(37138)  # 1: the selected model is the connected one

SYSTEM_TIME = reg(40000, U32)  # epoch seconds, local time

# Energy storage settings and active power control.
MAX_CHARGING_POWER = reg(47075, U32)  # W
MAX_DISCHARGING_POWER = reg(47077, U32)  # W
END_OF_DISCHARGE_SOC = reg(47082, U16, 0.1)  # %
FORCIBLE_PERIOD = reg(47083)  # minutes
WORKING_MODE_SETTING = reg(47086)  # 0 adaptive .. 2 maximise self consumption .. 5 TOU (LUNA2000)
CHARGE_FROM_GRID = reg(47087)  # 0 disable, 1 enable
FORCIBLE_COMMAND = reg(47100)  # write only: 0 stop, 1 charge, 2 discharge
FORCIBLE_SETTING_MODE = reg(47246)  # 0 duration (the period 47083)
FORCIBLE_CHARGE_POWER = reg(47247, U32)  # W
FORCIBLE_DISCHARGE_POWER = reg(47249, U32)  # W
ACTIVE_POWER_CONTROL = reg(47415)  # 0 unlimited, 5 zero power, 6 limited (kW), 7 limited (%)
MAX_FEED_IN_POWER = reg(47416, I32)  # kW, gain 1000
# Working mode setting 47086 -> the storage's running mode 37006 it makes.
RUNNING_MODES = {1: 3, 2: 4, 3: 2, 4: 5, 5: 6}
RUNNING_FORCIBLE = 1
FORCIBLE_COMMANDS = {1: "charge", 2: "discharge"}

# Alarm bits (the document's "Alarms via Modbus").
ALARM1_GRID_LOSS = 7
ALARM1_GRID_OVERVOLTAGE = 9
ALARM2_RESIDUAL_CURRENT = 0
ALARM2_OVERTEMPERATURE = 3
ALARM2_POWER_COLLECTOR = 8
ALARM2_BATTERY_ABNORMAL = 9
ALARM3_LOW_DISCHARGE_CAPACITY = 15

# Device status 32089.
STATUS_ON_GRID = 0x0200
STATUS_SHUTDOWN_FAULT = 0x0300
STATUS_NO_IRRADIATION = 0xA000

PHASE_SHARES = (0.34, 0.33, 0.33)  # of the three-phase output and grid exchange


def put(image: RegisterImage, register: Point, value: float) -> None:
    """Write a physical value: divide by the register's step and round to a whole count."""
    image.set(register, round(value / register.scale))


def _signed_current(power: float, voltage: float) -> float:
    return power / voltage if voltage > 0 else 0.0


class HuaweiSun2000Sim(SimDevice):
    """SUN2000-10KTL-M1: a three-phase hybrid, two PV strings, a LUNA2000 battery and a DTSU666-H meter.

    ``phases=1`` renders a single-phase model's output registers (grid voltage 32066, current 32072; the
    phase B/C registers read 0) and a single-phase meter.
    """

    name = "huawei_sun2000"
    deaf_after_connect = 0.5

    def __init__(
        self,
        unit_id: int = UNIT_ID,
        serial: str = "HV2240SIM001",
        model: str = "SUN2000-10KTL-M1",
        *,
        model_id: int = 429,  # SUN2000-10KTL-M1 in the document's model table
        phases: int = 3,
        has_battery: bool = True,
        has_meter: bool = True,
        battery_serial: str = "HVLUNA0SIM01",
        rated_power: int = 10000,
    ) -> None:
        super().__init__()
        self.unit_id = unit_id
        self.serial = serial
        self.model = model
        self.phases = phases
        self.has_battery = has_battery
        self.has_meter = has_meter
        image = self.image
        # Every block answers, with or without a battery or meter (their registers then read 0).
        for start, count in BLOCKS:
            image.define(HOLDING, start, count)
        image.set(MODEL, model)
        image.set(SERIAL, serial)
        image.set(PART_NUMBER, "01074731-006")
        put(image, MODEL_ID, model_id)
        put(image, PV_STRINGS, 2)
        put(image, MPP_TRACKERS, 2)
        put(image, RATED_POWER, rated_power)
        put(image, MAX_ACTIVE_POWER, rated_power * 1.1)
        if has_battery:
            image.set(UNIT1_SERIAL, battery_serial)
            put(image, UNIT1_PRODUCT_MODEL, 2)  # HUAWEI-LUNA2000
            put(image, UNIT1_WORKING_MODE, 4)
            put(image, UNIT1_RATED_CHARGE_POWER, 5000)
            put(image, UNIT1_RATED_DISCHARGE_POWER, 5000)
            put(image, STORAGE_RATED_CAPACITY, 10_000)
            # Factory settings: maximise self consumption, no grid charging, 10 % end-of-discharge SOC.
            put(image, MAX_CHARGING_POWER, 5000)
            put(image, MAX_DISCHARGING_POWER, 5000)
            put(image, END_OF_DISCHARGE_SOC, 10)
            put(image, WORKING_MODE_SETTING, 2)
            image.write_only.add(FORCIBLE_COMMAND.address)
        if has_meter:
            put(image, METER_TYPE, 0 if phases == 1 else 1)
            put(image, METER_DETECTION, 1)

    def command(self, state: PlantState) -> None:
        """The plant follows the forcible charge/discharge, the end-of-discharge SOC and the feed-in limit."""
        image = self.image

        def value(register: Point) -> float:
            """The register's value in its unit, as the device holds it (write-only ones too)."""
            number = decode(register, [image.stored(a) for a in range(register.address, register.end)])
            return float(number) * register.scale if isinstance(number, int) else 0.0

        control = value(ACTIVE_POWER_CONTROL)
        export_limit = value(MAX_FEED_IN_POWER) if control == 6 else 0.0 if control == 5 else None
        if not self.has_battery:
            state.command = PlantCommand(export_limit=export_limit)
            return
        forced = FORCIBLE_COMMANDS.get(int(value(FORCIBLE_COMMAND)))
        power = FORCIBLE_CHARGE_POWER if forced == "charge" else FORCIBLE_DISCHARGE_POWER
        running = RUNNING_FORCIBLE if forced else RUNNING_MODES.get(int(value(WORKING_MODE_SETTING)), 0)
        put(image, UNIT1_WORKING_MODE, running)
        state.command = PlantCommand(
            battery=forced or "self_use",  # the other working modes run as self-use here
            power=value(power) if forced else 0.0,
            grid_charge=value(CHARGE_FROM_GRID) == 1,
            min_soc=value(END_OF_DISCHARGE_SOC),
            export_limit=export_limit,
        )

    def render(self, state: PlantState) -> None:
        self._render_inverter(state)
        if self.has_battery:
            self._render_battery(state)
        if self.has_meter:
            self._render_meter(state)
        put(self.image, SYSTEM_TIME, state.now.timestamp())

    def _render_inverter(self, state: PlantState) -> None:
        image, faults = self.image, state.faults
        strings = ((state.pv1_voltage, state.pv1_power), (state.pv2_voltage, state.pv2_power))
        for (voltage_reg, current_reg), (voltage, power) in zip(PV_INPUTS, strings, strict=True):
            put(image, voltage_reg, voltage)
            put(image, current_reg, _signed_current(power, voltage))
        put(image, INPUT_POWER, state.pv_power)
        voltage = state.grid_voltage
        if self.phases == 1:
            put(image, LINE_VOLTAGES[0], voltage)  # "power grid voltage"
            put(image, PHASE_CURRENTS[0], _signed_current(state.ac_power, voltage))  # "power grid current"
        else:
            for line, phase, current, share in zip(
                LINE_VOLTAGES, PHASE_VOLTAGES, PHASE_CURRENTS, PHASE_SHARES, strict=True
            ):
                put(image, line, voltage * math.sqrt(3))
                put(image, phase, voltage)
                put(image, current, _signed_current(state.ac_power * share, voltage))
        put(image, ACTIVE_POWER, state.ac_power)
        put(image, POWER_FACTOR, 1.0)
        put(image, GRID_FREQUENCY, state.grid_frequency)
        put(image, EFFICIENCY, 98.0)
        put(image, INTERNAL_TEMPERATURE, state.inverter_temperature)
        put(image, ACCUMULATED_YIELD, state.pv_energy_total)
        put(image, DAILY_YIELD, state.pv_energy_today)
        alarm_1 = alarm_2 = alarm_3 = 0
        if "grid_loss" in faults:
            alarm_1 |= 1 << ALARM1_GRID_LOSS
        if "grid_over_voltage" in faults:
            alarm_1 |= 1 << ALARM1_GRID_OVERVOLTAGE
        if "ground_fault" in faults:
            alarm_2 |= 1 << ALARM2_RESIDUAL_CURRENT
        if "over_temperature" in faults:
            alarm_2 |= 1 << ALARM2_OVERTEMPERATURE
        if "meter_comm_lost" in faults and self.has_meter:
            alarm_2 |= 1 << ALARM2_POWER_COLLECTOR
        if "bms_alarm" in faults and self.has_battery:
            alarm_2 |= 1 << ALARM2_BATTERY_ABNORMAL
            alarm_3 |= 1 << ALARM3_LOW_DISCHARGE_CAPACITY
        put(image, ALARM_1, alarm_1)
        put(image, ALARM_2, alarm_2)
        put(image, ALARM_3, alarm_3)
        if "over_temperature" in faults:
            status = STATUS_SHUTDOWN_FAULT
        elif state.pv_power > 0 or state.battery_power != 0:
            status = STATUS_ON_GRID
        else:
            status = STATUS_NO_IRRADIATION
        put(image, DEVICE_STATUS, status)
        put(image, STATE_1, 0b110 if status == STATUS_ON_GRID else 0b1)

    def _render_battery(self, state: PlantState) -> None:
        image = self.image
        charging = -state.battery_power  # Huawei: + = charging
        status = 2 if charging else 1  # running / standby
        current = _signed_current(charging, state.battery_voltage)
        for register, value in (
            (UNIT1_STATUS, status),
            (STORAGE_STATUS, status),
            (UNIT1_POWER, charging),
            (STORAGE_POWER, charging),
            (UNIT1_BUS_VOLTAGE, state.battery_voltage),
            (STORAGE_BUS_VOLTAGE, state.battery_voltage),
            (UNIT1_BUS_CURRENT, current),
            (STORAGE_BUS_CURRENT, current),
            (UNIT1_SOC, state.battery_soc),
            (STORAGE_SOC, state.battery_soc),
            (UNIT1_TEMPERATURE, state.battery_temperature),
            (UNIT1_TOTAL_CHARGE, state.battery_charge_energy_total),
            (STORAGE_TOTAL_CHARGE, state.battery_charge_energy_total),
            (UNIT1_TOTAL_DISCHARGE, state.battery_discharge_energy_total),
            (STORAGE_TOTAL_DISCHARGE, state.battery_discharge_energy_total),
            (UNIT1_DAY_CHARGE, 0.0),
            (STORAGE_DAY_CHARGE, 0.0),
            (UNIT1_DAY_DISCHARGE, 0.0),
            (STORAGE_DAY_DISCHARGE, 0.0),
        ):
            put(image, register, value)

    def _render_meter(self, state: PlantState) -> None:
        image = self.image
        online = "meter_comm_lost" not in state.faults
        put(image, METER_STATUS, 1 if online else 0)
        feed_in = -state.grid_power  # Huawei: + = feed-in to the grid
        voltage = state.grid_voltage
        shares = (1.0,) if self.phases == 1 else PHASE_SHARES
        for phase, share in enumerate(shares):
            put(image, METER_VOLTAGES[phase], voltage)
            put(image, METER_CURRENTS[phase], _signed_current(feed_in * share, voltage))
            put(image, METER_PHASE_POWERS[phase], feed_in * share)
            if self.phases == 3:
                put(image, METER_LINE_VOLTAGES[phase], voltage * math.sqrt(3))
        put(image, METER_ACTIVE_POWER, feed_in)  # the meter's own total, not the rounded phases' sum
        put(image, METER_POWER_FACTOR, 0.99)
        put(image, METER_FREQUENCY, state.grid_frequency)
        put(image, METER_EXPORTED, state.grid_export_energy_total)
        put(image, METER_IMPORTED, state.grid_import_energy_total)
