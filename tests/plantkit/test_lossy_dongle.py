"""A lossy GoodWe Wi-Fi dongle shared with another client: replies dropped, duplicated late, preceded by
the other client's replies, or corrupted. Every simulated GoodWe device must still be identified and read
right in nearly every refresh, and a wrong value must never come out."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from custom_components.sems.plantkit.client import PlantClient
from custom_components.sems.plantkit.exceptions import PlantError
from custom_components.sems.plantkit.transport import Endpoint, TransportType
from simulator.plant import SimulatedPlant

GOODWE_UDP = ("goodwe_et_udp", "goodwe_dt_udp")
REFRESHES = 40  # per device
MIN_SUCCESS = 0.95
REQUEST_TIMEOUT = 0.1  # loopback answers in well under a millisecond; only lost replies wait this long


async def _refresh(endpoint: Endpoint, units: list[int]) -> list[dict[str, object]]:
    """What a fresh setup sees: identify, then read once (new client, as after a restart)."""
    async with PlantClient(endpoint) as client:
        identities = await client.probe(units)
        readings = await client.read()
    return [{"identity": i.to_dict()} for i in identities] + [r.to_json() for r in readings]


async def test_goodwe_devices_over_a_lossy_shared_dongle(plant: SimulatedPlant) -> None:
    expected: dict[str, list[dict[str, object]]] = {}
    endpoints: dict[str, Endpoint] = {}
    units: dict[str, list[int]] = {}
    for name in GOODWE_UDP:
        endpoints[name] = Endpoint("127.0.0.1", plant.port(name), TransportType.UDP, timeout=REQUEST_TIMEOUT)
        units[name] = [plant.devices[device].unit_id for device in plant.specs[name].devices]
        expected[name] = await _refresh(replace(endpoints[name], timeout=1.0), units[name])  # clean
        plant.server(name).faults.make_lossy()

    async def refreshes(name: str) -> int:
        right = 0
        for _ in range(REFRESHES):
            try:
                seen = await _refresh(endpoints[name], units[name])
            except PlantError:
                continue  # a clean failure: the poll fails, nothing is published
            assert seen == expected[name], f"{name}: a wrong value came through"
            right += 1
        return right

    right = dict(zip(GOODWE_UDP, await asyncio.gather(*map(refreshes, GOODWE_UDP)), strict=True))
    requests = {name: plant.server(name).count() for name in GOODWE_UDP}
    for name in GOODWE_UDP:
        rate = right[name] / REFRESHES
        served = f"{right[name]}/{REFRESHES} refreshes right ({rate:.0%}), {requests[name]} requests"
        print(f"lossy dongle {name}: {served}")
        assert rate >= MIN_SUCCESS, name
