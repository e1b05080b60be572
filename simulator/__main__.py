"""``python -m simulator``: serve the simulated plant on loopback, or switch faults in a running one.

python -m simulator [serve] [--speed 60] ...       serve every endpoint until interrupted
python -m simulator serve --discovery              ... and answer discovery like real devices (loopback):
                                                   the GoodWe dongle query on UDP 48899, and zeroconf
                                                   _modbus._tcp.local. for every Modbus TCP endpoint
python -m simulator state                          what the running simulator serves and shows
python -m simulator fault ENDPOINT FAULT [VALUE]   transport fault: offline, drop_connection, delay,
                                                   exception_code, refuse_writes (a code),
                                                   ignore_writes, garbage, truncate, clear; a lossy or
                                                   shared dongle: drop, duplicate, foreign, bad_crc (rates
                                                   0..1) or lossy (all four); line_noise (bytes),
                                                   close_unknown_units
python -m simulator device-fault NAME on|off       device fault (see DEVICE_FAULTS)
python -m simulator counter-fault DEVICE COUNTER F  what a device shows for an energy counter (or "all"):
                                                   zero (a boot), stale, reset (a reset or a replaced
                                                   device: counts from 0), clear
python -m simulator case FILE [--port N]           serve one field case (shared/field-cases/F*.json)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from custom_components.sems.plantkit.discovery import DONGLE_DISCOVERY_PORT, ProbeLimits, probe_once
from custom_components.sems.plantkit.model import DeviceIdentity, Role
from custom_components.sems.plantkit.transport import Endpoint, TransportType

from .control import (
    CONTROL_PORT,
    COUNTER_ACTIONS,
    DEFAULT_CONTROL_FILE,
    ControlServer,
    read_control_file,
    write_control_file,
)
from .discovery import AnnouncedDevice, DongleResponder, ZeroconfAnnouncer
from .faults import DEVICE_FAULTS, ENERGY_COUNTERS
from .field_case import FieldCase, field_case_server
from .plant import ENDPOINTS, SimulatedPlant

# How the simulator asks its own endpoints what to announce (loopback: patient, one retry).
ANNOUNCEMENT_PROBE = ProbeLimits(timeout=2.0, budget=30.0, retries=1)
DEFAULT_PORTS = {
    "goodwe_et_tcp": 15020,
    "goodwe_et_udp": 18899,
    "goodwe_dt_udp": 18900,
    "sunspec_tcp": 15021,
    "sdm630_tcp": 15022,
    "eastron_gateway": 15023,
    "goodwe_et20_tcp": 15024,
    "solaredge_tcp": 15025,
    "huawei_tcp": 15026,
}
TRANSPORT_FAULTS = (
    "offline",
    "drop_connection",
    "delay",
    "exception_code",
    "refuse_writes",
    "ignore_writes",
    "garbage",
    "truncate",
    "drop",
    "duplicate",
    "duplicate_delay",
    "foreign",
    "bad_crc",
    "line_noise",
    "close_unknown_units",
    "lossy",
    "clear",
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="simulate", description="The simulated solar plant.")
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="serve the plant (default)")
    serve.add_argument("--host", default="127.0.0.1", help="loopback address to bind (127.0.0.0/8 only)")
    serve.add_argument("--speed", type=float, default=60.0, help="simulated seconds per wall second")
    serve.add_argument("--tick", type=float, default=1.0, help="wall seconds between plant updates")
    serve.add_argument("--start", help="simulated start time, ISO format (default: today 10:00)")
    serve.add_argument("--random-ports", action="store_true", help="let the OS pick free ports")
    serve.add_argument("--only", nargs="*", choices=[e.name for e in ENDPOINTS], help="endpoints to serve")
    serve.add_argument(
        "--discovery",
        action="store_true",
        help="answer the GoodWe dongle query and announce Modbus TCP endpoints by zeroconf (loopback only)",
    )
    serve.add_argument(
        "--control-file",
        type=Path,
        default=DEFAULT_CONTROL_FILE,
        help="where the control API's port and token are written (default %(default)s)",
    )
    serve.add_argument(
        "--dongle-port",
        type=int,
        default=DONGLE_DISCOVERY_PORT,
        help="UDP port of the dongle query responder (default %(default)s)",
    )
    state = sub.add_parser("state", help="show what the running simulator serves")
    case = sub.add_parser("case", help="serve one field case (shared/field-cases/F*.json)")
    case.add_argument("file", help="the case file")
    case.add_argument("--host", default="127.0.0.1", help="loopback address to bind (127.0.0.0/8 only)")
    case.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    fault = sub.add_parser("fault", help="switch a transport fault of one endpoint")
    fault.add_argument("endpoint", choices=[e.name for e in ENDPOINTS])
    fault.add_argument("fault", choices=TRANSPORT_FAULTS)
    fault.add_argument(
        "value",
        nargs="?",
        default="on",
        help="on/off; seconds for delay and duplicate_delay; code for exception_code;"
        " a probability 0..1 for drop, duplicate, foreign, bad_crc; bytes for line_noise",
    )
    device = sub.add_parser("device-fault", help="switch a device-level fault")
    device.add_argument("fault", choices=sorted(DEVICE_FAULTS))
    device.add_argument("state", choices=("on", "off"))
    counter = sub.add_parser("counter-fault", help="change what a device shows for an energy counter")
    counter.add_argument("device", help="a simulated device (see `state`), e.g. goodwe_et")
    counter.add_argument("counter", choices=[*ENERGY_COUNTERS, "all"])
    counter.add_argument("fault", choices=COUNTER_ACTIONS)
    for command in (state, fault, device, counter):
        command.add_argument(
            "--control-file",
            type=Path,
            default=DEFAULT_CONTROL_FILE,
            help="the running simulator's control file (default %(default)s)",
        )
    return parser


async def _serve_case(args: argparse.Namespace) -> None:
    case = FieldCase.load(Path(args.file))
    server = field_case_server(case, args.host, args.port)
    await server.start()
    where = server.serial_path or f"{server.host}:{server.port}"
    print(f"{case.case_id}: {case.transport} at {where}, unit {case.unit}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


async def _serve(args: argparse.Namespace) -> None:
    start = datetime.fromisoformat(args.start) if args.start else datetime.now().replace(hour=10, minute=0)
    plant = SimulatedPlant(
        host=args.host,
        speed=args.speed,
        start=start,
        endpoints=args.only,
        ports=None if args.random_ports else DEFAULT_PORTS,
    )
    await plant.start(tick=args.tick)
    control = ControlServer(plant, port=0 if args.random_ports else CONTROL_PORT)
    await control.start()
    write_control_file(args.control_file, control.port, control.token)
    discovery = DiscoveryServices(plant, args.dongle_port) if args.discovery else None
    if discovery is not None:
        await discovery.start()
    print(f"simulated plant at {args.speed:g}x speed, starting {start:%Y-%m-%d %H:%M}:", flush=True)
    for line in [*plant.describe(), *(discovery.describe() if discovery is not None else [])]:
        print("  " + line, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        if discovery is not None:
            await discovery.stop()
        await control.stop()
        args.control_file.unlink(missing_ok=True)
        await plant.stop()


class DiscoveryServices:
    """What a real plant would answer to discovery, for the simulated one (all on the plant's loopback
    address): a GoodWe/Hi-Flying module answering the dongle query when a GoodWe UDP endpoint is served,
    and a zeroconf ``_modbus._tcp.local.`` service per Modbus TCP endpoint, with the TXT record of the
    main device found there (probed, so it says exactly what the integration will find)."""

    def __init__(self, plant: SimulatedPlant, dongle_port: int = DONGLE_DISCOVERY_PORT) -> None:
        self.plant = plant
        self.dongle_port = dongle_port
        self.responder: DongleResponder | None = None
        self.announcer: ZeroconfAnnouncer | None = None
        self.announced: list[AnnouncedDevice] = []

    async def start(self) -> None:
        """Start answering (after the plant's servers are up)."""
        try:
            if any(spec.framing == "udp" for spec in self.plant.specs.values()):
                self.responder = DongleResponder(self.plant.host, self.dongle_port)
                await self.responder.start()
            for name, spec in self.plant.specs.items():
                if spec.framing == "tcp":
                    self.announced.append(await self._announcement(name))
            if self.announced:
                self.announcer = ZeroconfAnnouncer(self.announced)
                await self.announcer.start()
        except BaseException:
            await self.stop()
            raise

    async def _announcement(self, name: str) -> AnnouncedDevice:
        units = [self.plant.devices[device].unit_id for device in self.plant.specs[name].devices]
        endpoint = Endpoint(self.plant.host, self.plant.port(name), TransportType.TCP)
        main = main_device(await probe_once(endpoint, ANNOUNCEMENT_PROBE, unit_ids=units, within=None))
        return AnnouncedDevice(
            endpoint.host, endpoint.port, main.manufacturer, main.model, main.serial, main.unit_id
        )

    async def stop(self) -> None:
        """Say goodbye on zeroconf and stop answering."""
        if self.announcer is not None:
            await self.announcer.stop()
            self.announcer = None
        if self.responder is not None:
            await self.responder.stop()
            self.responder = None

    def describe(self) -> list[str]:
        """One line per discovery service."""
        lines = []
        if self.responder is not None:
            lines.append(
                f"{'dongle query':16} {'udp':13} {self.responder.host}:{self.responder.port:<5}  "
                "answers WIFIKIT-214028-READ like a GoodWe dongle"
            )
        lines.extend(
            f"{'zeroconf':16} {'mdns':13} {device.host}:{device.port:<5}  "
            f"{device.manufacturer} {device.model} {device.serial} unit {device.unit_id}"
            for device in self.announced
        )
        return lines


def main_device(devices: Sequence[DeviceIdentity]) -> DeviceIdentity:
    """The device a zeroconf record names: the inverter, else a meter, else the first one."""
    for role in (Role.INVERTER, Role.METER):
        for device in devices:
            if device.role is role:
                return device
    return devices[0]


def _call(control_file: Path, path: str, body: dict[str, object] | None = None) -> int:
    try:
        port, token = read_control_file(control_file)
    except (OSError, ValueError, KeyError) as err:
        print(f"simulate: no running simulator's control file at {control_file} ({err})", file=sys.stderr)
        return 1
    url = f"http://127.0.0.1:{port}{path}"
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # loopback only
            print(json.dumps(json.load(response), indent=2))
            return 0
    except urllib.error.HTTPError as err:
        print(f"simulate: {json.load(err).get('error', err)}", file=sys.stderr)
    except urllib.error.URLError as err:
        print(f"simulate: no simulator running on 127.0.0.1:{port} ({err})", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv.insert(0, "serve")  # --help stays with the top parser: it lists every command
    args = _parser().parse_args(argv)
    if args.command == "case" and not args.host.startswith("127."):
        _parser().error("the simulator only binds loopback addresses (127.0.0.0/8)")
    if args.command == "case":
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve_case(args))
        return 0
    if args.command == "state":
        return _call(args.control_file, "/state")
    if args.command == "fault":
        body = {"endpoint": args.endpoint, "fault": args.fault, "value": args.value}
        return _call(args.control_file, "/transport", body)
    if args.command == "device-fault":
        return _call(args.control_file, "/device", {"fault": args.fault, "on": args.state})
    if args.command == "counter-fault":
        body = {"device": args.device, "counter": args.counter, "fault": args.fault}
        return _call(args.control_file, "/counter", body)
    if not args.host.startswith("127."):
        _parser().error("the simulator only binds loopback addresses (127.0.0.0/8)")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
