"""Control channel of a running simulator: switch faults from ``scripts/simulate`` while the demo runs.

A tiny JSON-over-HTTP API on loopback (aiohttp comes with Home Assistant's stack):
  GET  /state                         -> endpoints, transport faults, device faults, plant values
  POST /transport {"endpoint", "fault", "value"}  -> set a TransportFaults field ("clear" clears all,
                                                     "lossy" on/off: the lossy-dongle preset)
  POST /device {"fault", "on"}        -> add/remove a device-level fault name in PlantState.faults
  POST /counter {"device", "counter", "fault"}  -> what a device shows for an energy counter
                                                   (``COUNTER_ACTIONS``; counter "all": every one)

Only its owner may use it. A web page open in the developer's browser can send requests to loopback
too, so every request needs the bearer token the simulator writes, with its port, to a control file
only the user can read (``write_control_file``); a request that comes from a web page (it carries an
``Origin`` or ``Sec-Fetch-Site: cross-site`` header), names another host (DNS rebinding) or posts
anything but JSON is refused before the token is even looked at.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from .faults import DEVICE_FAULTS, ENERGY_COUNTERS, CounterFault
from .plant import SimulatedPlant

CONTROL_PORT = 15099
# Where the control file lives unless told otherwise: the git-ignored state folder of scripts/develop.
DEFAULT_CONTROL_FILE = (
    Path(os.environ.get("SEMS_DEV_STATE") or Path(__file__).resolve().parent.parent / ".develop")
    / "simulator-control.json"
)
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# What ``POST /counter`` does to a device's counter: "zero" shows 0 (a boot), "stale" keeps showing what it
# shows now (a frozen cache), "reset" counts from 0 again from now on (a reset or a replaced device), "clear"
# shows the plant's value again.
COUNTER_ACTIONS = ("zero", "stale", "reset", "clear")


def write_control_file(path: Path, port: int, token: str) -> None:
    """Write the port and token for ``scripts/simulate`` (readable by the user only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an older file keeps its mode otherwise
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump({"port": port, "token": token}, file)


def read_control_file(path: Path) -> tuple[int, str]:
    """The port and token a running simulator wrote. Raises OSError or ValueError."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return int(data["port"]), str(data["token"])


def _on(value: Any) -> bool:
    """An on/off value as sent by scripts/simulate or a JSON client."""
    if isinstance(value, str):
        return value.lower() in ("1", "true", "on", "yes")
    return bool(value)


class ControlServer:
    """Serves the control API for one plant."""

    def __init__(
        self,
        plant: SimulatedPlant,
        host: str = "127.0.0.1",
        port: int = CONTROL_PORT,
        token: str | None = None,
    ) -> None:
        self.plant = plant
        self.host = host
        self.port = port
        self.token = token or secrets.token_urlsafe(32)
        app = web.Application(middlewares=[self._guard])
        app.router.add_get("/state", self._state)
        app.router.add_post("/transport", self._transport)
        app.router.add_post("/device", self._device)
        app.router.add_post("/counter", self._counter)
        self._runner = web.AppRunner(app)

    async def start(self) -> None:
        """Listen on loopback (``port`` 0: a free port, read back into ``port``)."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Refuse requests from web pages and requests without the token (see the module docstring)."""
        host = request.headers.get("Host", "")
        if "Origin" in request.headers or request.headers.get("Sec-Fetch-Site", "none") not in (
            "none",
            "same-origin",
        ):
            return web.json_response({"error": "cross-origin requests are refused"}, status=403)
        if host.rsplit(":", 1)[0] not in _LOOPBACK_NAMES:
            return web.json_response({"error": f"unexpected Host {host!r}"}, status=403)
        if request.method == "POST" and request.content_type != "application/json":
            return web.json_response({"error": "send JSON"}, status=415)
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
            return web.json_response(
                {"error": "missing or wrong token (see the simulator's control file)"}, status=401
            )
        return await handler(request)

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

    async def _counter(self, request: web.Request) -> web.Response:
        body = await request.json()
        device, counter, action = body.get("device"), body.get("counter"), body.get("fault")
        if device not in self.plant.devices:
            return web.json_response({"error": f"unknown device {device}"}, status=400)
        if counter != "all" and counter not in ENERGY_COUNTERS:
            return web.json_response({"error": f"unknown counter {counter}"}, status=400)
        if action not in COUNTER_ACTIONS:
            return web.json_response({"error": f"unknown counter fault {action}"}, status=400)
        shown = self.plant.shown_state(device)
        true = self.plant.physics.state
        for name in ENERGY_COUNTERS if counter == "all" else (str(counter),):
            fault = self.plant.counter_fault(device, name)
            if action == "zero":
                fault.fixed = 0.0
            elif action == "stale":
                fault.fixed = getattr(shown, name)
            elif action == "reset":
                self.plant.counter_faults[device][name] = CounterFault(offset=-getattr(true, name))
            else:
                self.plant.counter_faults[device][name] = CounterFault()
        self.plant.render()
        now = self.plant.shown_state(device)
        return web.json_response({name: getattr(now, name) for name in ENERGY_COUNTERS})
