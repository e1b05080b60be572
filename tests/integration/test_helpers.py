"""The integration's own small decisions: transport order, main device, names, poll interval."""

from __future__ import annotations

from datetime import timedelta

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.sems.const import CONF_POLL_PRESET, DOMAIN
from custom_components.sems.coordinator import poll_interval
from custom_components.sems.discovery import transport_choice
from custom_components.sems.plantkit.discovery import transport_candidates
from custom_components.sems.plantkit.model import DeviceIdentity, Role
from custom_components.sems.plantkit.transport import TransportType

INVERTER = DeviceIdentity(Role.INVERTER, "goodwe_et", 247, "GoodWe", "GW10K-ET", "S1", "1.0")


@pytest.mark.parametrize(
    ("host", "transport", "port", "expected"),
    [
        ("10.0.0.5", "auto", None, [(TransportType.TCP, 502), (TransportType.UDP, 8899)]),
        ("10.0.0.5", "auto", 1502, [(TransportType.TCP, 1502), (TransportType.UDP, 1502)]),
        ("/dev/ttyUSB0", "auto", None, [(TransportType.SERIAL, 0)]),
        ("/dev/ttyUSB0", "serial", 502, [(TransportType.SERIAL, 0)]),
        ("10.0.0.5", "udp", None, [(TransportType.UDP, 8899)]),
        ("10.0.0.5", "rtu-over-tcp", 4196, [(TransportType.RTU_OVER_TCP, 4196)]),
        ("gw.lan", "rtu-over-tcp", None, [(TransportType.RTU_OVER_TCP, 502)]),
    ],
)
def test_transport_candidates(
    host: str, transport: str, port: int | None, expected: list[tuple[TransportType, int]]
) -> None:
    """The form's transport ("auto" is plantkit's None) and port: the endpoints the probe tries, in order."""
    candidates = transport_candidates(host, transport_choice(transport), port)
    assert [(e.transport, e.port) for e in candidates] == expected
    assert {e.host for e in candidates} == {host}


@pytest.mark.parametrize(("options", "seconds"), [({}, 30), ({CONF_POLL_PRESET: "retired"}, 30)])
async def test_poll_interval_falls_back_to_normal(
    hass: HomeAssistant, options: dict[str, str], seconds: int
) -> None:
    """No preset, or one a later version dropped: the profile's default."""
    entry = MockConfigEntry(domain=DOMAIN, options=options)
    assert poll_interval(entry, [INVERTER]) == timedelta(seconds=seconds)
