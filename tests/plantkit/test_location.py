"""Meters the user places (``PlantClient.place_meters``): a meter that does not say where it measures
reads as the place the user chose, one that says so keeps its own place, and the choice is not stored
with the identity (its keeper, e.g. Home Assistant's options, holds it)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from custom_components.sems.plantkit.client import PlantClient
from custom_components.sems.plantkit.location import GRID_ONLY
from custom_components.sems.plantkit.model import MeterLocation, Quantity
from custom_components.sems.plantkit.profiles import identity_from_dict
from custom_components.sems.plantkit.transport import Endpoint, TransportType
from simulator.plant import SimulatedPlant

SDM630_KEY = "45678901_meter"
SDM120_KEY = "23456789_meter"


def gateway(plant: SimulatedPlant) -> PlantClient:
    endpoint = Endpoint("127.0.0.1", plant.port("eastron_gateway"), TransportType.RTU_OVER_TCP, timeout=1.0)
    return PlantClient(endpoint)


async def test_a_placed_meter_reads_as_its_place(plant: SimulatedPlant) -> None:
    client = gateway(plant)
    try:
        client.place_meters({SDM120_KEY: MeterLocation.PRODUCTION})
        await client.probe([1, 2])
        readings = {reading.identity.key: reading for reading in await client.read()}
    finally:
        await client.close()

    grid_meter, production_meter = readings[SDM630_KEY], readings[SDM120_KEY]
    assert grid_meter.identity.measures is MeterLocation.GRID  # not placed: counts as the grid
    assert production_meter.identity.measures is MeterLocation.PRODUCTION
    assert production_meter.values[Quantity.AC_POWER] == pytest.approx(plant.physics.state.grid_power, abs=1)
    assert not GRID_ONLY & production_meter.values.keys()
    assert grid_meter.values[Quantity.GRID_POWER] is not None
    assert "placed" not in production_meter.identity.to_dict()  # kept by whoever placed it


async def test_placements_follow_devices_set_later_and_spare_meters_that_locate_themselves(
    plant: SimulatedPlant,
) -> None:
    client = gateway(plant)
    try:
        await client.probe([1, 2])
        stored = [identity_from_dict(device.to_dict()) for device in client.devices]
        client.place_meters({SDM120_KEY: MeterLocation.BATTERY, "unknown_meter": MeterLocation.PRODUCTION})
        client.devices = stored  # e.g. from storage, after a restart
        assert {d.key: d.measures for d in client.devices} == {
            SDM630_KEY: MeterLocation.GRID,
            SDM120_KEY: MeterLocation.BATTERY,
        }
        assert client.placements == {
            SDM120_KEY: MeterLocation.BATTERY,
            "unknown_meter": MeterLocation.PRODUCTION,
        }
        client.place_meters({})
        assert all(device.placed is None for device in client.devices)
    finally:
        await client.close()

    located = replace(stored[0], location=MeterLocation.GRID)
    client.place_meters({located.key: MeterLocation.PRODUCTION})
    client.devices = [located]
    assert client.devices[0].measures is MeterLocation.GRID  # the device's own word wins
