"""Transport faults of the simulator switched by name, as the control API and scripts/simulate do."""

from __future__ import annotations

import pytest

from simulator.__main__ import TRANSPORT_FAULTS
from simulator.faults import LOSSY_RATES, TransportFaults


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
