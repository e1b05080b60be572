"""Control channel of a running simulator: switch faults from ``scripts/simulate`` while the demo runs.

A tiny JSON-over-HTTP API on loopback (aiohttp comes with Home Assistant's stack):
  GET  /state                         -> endpoints, transport faults, device faults, plant values
  POST /transport {"endpoint", "fault", "value"}  -> set a TransportFaults field ("clear" clears all,
                                                     "lossy" on/off: the lossy-dongle preset)
  POST /device {"fault", "on"}        -> add/remove a device-level fault name in PlantState.faults
"""

from __future__ import annotations

import dataclasses
from typing import Any

from aiohttp import web

from .faults import DEVICE_FAULTS
from .plant import SimulatedPlant

CONTROL_PORT = 15099


def _on(value: Any) -> bool:
    """An on/off value as sent by scripts/simulate or a JSON client."""
    if isinstance(value, str):
        return value.lower() in ("1", "true", "on", "yes")
    return bool(value)


class ControlServer:
    """Serves the control API for one plant."""

    def __init__(self, plant: SimulatedPlant, host: str = "127.0.0.1", port: int = CONTROL_PORT) -> None:
        self.plant = plant
        self.host = host
        self.port = port
        app = web.Application()
        app.router.add_get("/state", self._state)
        app.router.add_post("/transport", self._transport)
        app.router.add_post("/device", self._device)
        self._runner = web.AppRunner(app)

    async def start(self) -> None:
        """Listen on loopback."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()

    async def stop(self) -> None:
        """Stop listening."""
        await self._runner.cleanup()

    async def _state(self, request: web.Request) -> web.Response:
        state = self.plant.physics.state
        return web.json_response(
            {
                "time": state.now.isoformat(),
                "endpoints": {
                    name: {"port": server.port, "faults": dataclasses.asdict(server.faults)}
                    for name, server in self.plant.servers.items()
                },
                "device_faults": sorted(state.faults),
                "values": {
                    k: v
                    for k, v in dataclasses.asdict(state).items()
                    if isinstance(v, int | float) and not isinstance(v, bool)
                },
            }
        )

    async def _transport(self, request: web.Request) -> web.Response:
        body = await request.json()
        endpoint, fault = body.get("endpoint"), body.get("fault")
        if endpoint not in self.plant.servers:
            return web.json_response({"error": f"unknown endpoint {endpoint}"}, status=400)
        faults = self.plant.servers[endpoint].faults
        try:
            faults.switch(str(fault), body.get("value", True))
        except ValueError as err:
            return web.json_response({"error": str(err)}, status=400)
        return web.json_response(dataclasses.asdict(faults))

    async def _device(self, request: web.Request) -> web.Response:
        body = await request.json()
        fault = body.get("fault")
        if fault not in DEVICE_FAULTS:
            return web.json_response({"error": f"unknown device fault {fault}"}, status=400)
        faults = self.plant.physics.state.faults
        if _on(body.get("on", True)):
            faults.add(fault)
        else:
            faults.discard(fault)
        self.plant.render()
        return web.json_response(sorted(faults))
