"""The simulated plant: one physics model, several devices, each endpoint on its own loopback port."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from .device import SimDevice
from .faults import DAILY_COUNTERS, ENERGY_COUNTERS, CounterFault
from .physics import PlantConfig, PlantPhysics, PlantState
from .server import SimServer


@dataclass(frozen=True, slots=True)
class EndpointSpec:
    """One simulated endpoint: framing and the devices (by name) behind it."""

    name: str
    framing: str
    devices: tuple[str, ...]
    description: str
    sleeps_at_night: bool = False  # PV-only inverters power down without sun and stop answering


def _device_factories() -> dict[str, Callable[[], SimDevice]]:
    # Imported here so a missing optional device module fails loudly only when the plant is built.
    from .devices.eastron import Sdm120Sim, Sdm630Sim
    from .devices.goodwe import GoodWeDtSim, GoodWeEt20Sim, GoodWeEtSim
    from .devices.huawei import HuaweiSun2000Sim
    from .devices.sunspec import SolarEdgeInverterSim, SunSpecInverterSim, SunSpecMeterSim

    # Every device has its own serial number; an endpoint pair shares one only when both serve the same
    # device (the GoodWe ET over Modbus TCP and over UDP).
    return {
        "goodwe_et": GoodWeEtSim,
        "goodwe_et20": GoodWeEt20Sim,
        "goodwe_dt": GoodWeDtSim,
        "sunspec_inverter": SunSpecInverterSim,
        "sunspec_meter": SunSpecMeterSim,
        "solaredge_inverter": SolarEdgeInverterSim,
        "sdm630": Sdm630Sim,
        "sdm630_gateway": lambda: Sdm630Sim(unit_id=1, serial=45678901),
        "sdm120": lambda: Sdm120Sim(unit_id=2),
        "huawei_sun2000": HuaweiSun2000Sim,
    }


ENDPOINTS: tuple[EndpointSpec, ...] = (
    EndpointSpec("goodwe_et_tcp", "tcp", ("goodwe_et",), "GoodWe ET hybrid + battery + meter, Modbus TCP"),
    EndpointSpec("goodwe_et_udp", "udp", ("goodwe_et",), "the same GoodWe ET over UDP (AA55 framing)"),
    EndpointSpec(
        "goodwe_dt_udp", "udp", ("goodwe_dt",), "GoodWe DT PV inverter over UDP (AA55 framing)", True
    ),
    EndpointSpec(
        "sunspec_tcp", "tcp", ("sunspec_inverter", "sunspec_meter"), "SunSpec inverter + battery, meter"
    ),
    EndpointSpec("sdm630_tcp", "tcp", ("sdm630",), "Eastron SDM630 meter, Modbus TCP"),
    EndpointSpec(
        "eastron_gateway",
        "rtu-over-tcp",
        ("sdm630_gateway", "sdm120"),
        "SDM630 + SDM120 behind an RTU gateway",
    ),
    EndpointSpec(
        "goodwe_et20_tcp",
        "tcp",
        ("goodwe_et20",),
        "GoodWe GW20K-ET (745 platform: 64-bit meter totals) + battery + meter, Modbus TCP",
    ),
    EndpointSpec(
        "solaredge_tcp",
        "tcp",
        ("solaredge_inverter",),
        "SolarEdge inverter with one meter shown as Export+Import and Production meters",
    ),
    EndpointSpec(
        "huawei_tcp",
        "tcp",
        ("huawei_sun2000",),
        "Huawei SUN2000 hybrid + LUNA2000 battery + power meter, Modbus TCP like the SDongle",
    ),
)


class SimulatedPlant:
    """Builds and serves every simulated endpoint; devices render from one shared physics model."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        speed: float = 1.0,
        start: datetime | None = None,
        config: PlantConfig | None = None,
        endpoints: Sequence[str] | None = None,
        ports: dict[str, int] | None = None,
    ) -> None:
        self.host = host
        self.physics = PlantPhysics(config, start=start, speed=speed)
        factories = _device_factories()
        specs = [e for e in ENDPOINTS if endpoints is None or e.name in endpoints]
        self.specs = {spec.name: spec for spec in specs}
        self.devices: dict[str, SimDevice] = {}
        for spec in specs:
            for device_name in spec.devices:
                if device_name not in self.devices:
                    self.devices[device_name] = factories[device_name]()
        self.servers = {
            spec.name: SimServer(
                [self.devices[d] for d in spec.devices], spec.framing, host, (ports or {}).get(spec.name, 0)
            )
            for spec in specs
        }
        for server in self.servers.values():
            server.on_write = self.commanded
        # Energy counters a device shows wrongly (device name -> PlantState field -> fault).
        self.counter_faults: dict[str, dict[str, CounterFault]] = {}
        self._ticker: asyncio.Task[None] | None = None
        self.render()

    def render(self) -> None:
        """Write the current plant state into every device's registers (its counter faults applied)."""
        state = self.physics.state
        for name, device in self.devices.items():
            device.render(self.shown_state(name))
        for name, spec in self.specs.items():
            if spec.sleeps_at_night:
                self.servers[name].faults.asleep = state.pv_power <= 0

    def commanded(self, device: SimDevice) -> None:
        """A client wrote a device's registers: the plant follows its controls at once."""
        device.command(self.physics.state)
        self.physics.recompute()
        self.render()

    def advance(self, wall_seconds: float) -> None:
        """Move the plant forward (times ``speed``) and re-render."""
        day = self.physics.state.now.date()
        self.physics.advance(wall_seconds)
        if self.physics.state.now.date() != day:  # devices restart their daily counters from 0
            for faults in self.counter_faults.values():
                for name in DAILY_COUNTERS:
                    if name in faults:
                        faults[name].offset = 0.0
        self.render()

    def counter_fault(self, device: str, counter: str) -> CounterFault:
        """The fault of one device's energy counter (a ``PlantState`` field in ``ENERGY_COUNTERS``), made
        on first use; change it, then ``render()`` or ``advance()``. Raises KeyError for an unknown name."""
        if device not in self.devices or counter not in ENERGY_COUNTERS:
            raise KeyError(f"{device} {counter}")
        return self.counter_faults.setdefault(device, {}).setdefault(counter, CounterFault())

    def shown_state(self, device: str) -> PlantState:
        """The plant state as one device shows it: its energy counters through their faults."""
        state = self.physics.state
        faults = self.counter_faults.get(device)
        if not faults:
            return state
        return replace(state, **{name: fault.shown(getattr(state, name)) for name, fault in faults.items()})

    def server(self, name: str) -> SimServer:
        """The server of one endpoint."""
        return self.servers[name]

    def port(self, name: str) -> int:
        """The port an endpoint listens on (after ``start``)."""
        return self.servers[name].port

    async def start(self, tick: float | None = None) -> None:
        """Start every server; with ``tick`` the plant advances by itself every ``tick`` seconds."""
        for server in self.servers.values():
            await server.start()
        if tick:
            self._ticker = asyncio.create_task(self._tick(tick))

    async def stop(self) -> None:
        """Stop ticking and every server."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        for server in self.servers.values():
            await server.stop()

    async def _tick(self, tick: float) -> None:
        while True:
            await asyncio.sleep(tick)
            self.advance(tick)

    def describe(self) -> list[str]:
        """One line per endpoint: what is served where (printed by scripts/simulate)."""
        lines = []
        for name, spec in self.specs.items():
            server = self.servers[name]
            units = ", ".join(f"unit {self.devices[d].unit_id} {d}" for d in spec.devices)
            lines.append(
                f"{name:16} {spec.framing:13} {self.host}:{server.port:<5}  {units}  ({spec.description})"
            )
        return lines
