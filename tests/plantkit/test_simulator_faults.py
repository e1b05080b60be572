"""Transport faults of the simulator switched by name, as the control API and scripts/simulate do."""

from __future__ import annotations

from datetime import datetime

import pytest

from simulator.__main__ import TRANSPORT_FAULTS
from simulator.faults import LOSSY_RATES, CounterFault, TransportFaults
from simulator.plant import SimulatedPlant


def test_every_fault_named_by_scripts_simulate_can_be_switched() -> None:
    values = {"delay": "0.5", "duplicate_delay": "0.1", "exception_code": "11", "line_noise": "64"}
    values["refuse_writes"] = "4"
    values |= dict.fromkeys(("drop", "duplicate", "foreign", "bad_crc"), "0.25")
    for fault in TRANSPORT_FAULTS:
        faults = TransportFaults()
        faults.switch(fault, values.get(fault, "on"))
        assert faults != TransportFaults() or fault == "clear", fault


def test_switch_parses_and_validates() -> None:
    faults = TransportFaults()
    faults.switch("lossy", "on")
    assert (faults.drop, faults.duplicate, faults.foreign, faults.bad_crc) == LOSSY_RATES
    faults.switch("line_noise", 1024)
    faults.switch("close_unknown_units", "yes")
    faults.switch("exception_code", "off")
    assert (faults.line_noise, faults.close_unknown_units, faults.exception_code) == (1024, True, None)
    faults.switch("lossy", "off")
    assert (faults.drop, faults.duplicate, faults.foreign, faults.bad_crc) == (0, 0, 0, 0)
    for fault, value in [("drop", "1.5"), ("line_noise", "2.5"), ("delay", "-1"), ("foreign", "many")]:
        with pytest.raises(ValueError, match=f"bad value for {fault}"):
            faults.switch(fault, value)
    with pytest.raises(ValueError, match="unknown fault"):
        faults.switch("asleep")
    faults.switch("clear")
    assert faults == TransportFaults()


def test_counter_fault_shows_wraps_steps_and_resets() -> None:
    """A device's counter: offset, width (wraps in whole steps), a fixed value, a torn spike, a reset."""
    fault = CounterFault(offset=4294967.0, modulus=4294967.296, step=0.001)
    assert fault.shown(0.2) == pytest.approx(4294967.2)
    assert fault.shown(0.3) == pytest.approx(0.004)  # wrapped
    fault.fixed = 0.0
    assert fault.shown(0.5) == 0.0
    fault.fixed, fault.spike = None, 65.536
    assert fault.shown(0.3) == pytest.approx(65.54)
    fault.reset(10.0, start=2.0)
    assert (fault.fixed, fault.spike) == (None, 0.0)
    assert fault.shown(11.0) == pytest.approx(3.0)


def test_plant_counter_faults_reach_only_their_device() -> None:
    """A counter fault changes what one device shows; the plant's state and other devices keep the truth;
    a daily counter's offset clears when the day changes."""
    plant = SimulatedPlant(start=datetime(2026, 6, 21, 23, 50))
    name, other = list(plant.devices)[:2]
    fault = plant.counter_fault(name, "pv_energy_today")
    fault.offset = 3.0
    true = plant.physics.state.pv_energy_today
    assert plant.shown_state(name).pv_energy_today == pytest.approx(true + 3.0)
    assert plant.shown_state(other).pv_energy_today == true
    plant.advance(20 * 60 / plant.physics.speed)
    assert fault.offset == 0.0
    with pytest.raises(KeyError):
        plant.counter_fault(name, "pv_power")
