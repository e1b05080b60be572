"""``python -m simulator``: serve the simulated plant on loopback, or switch faults in a running one.

python -m simulator [serve] [--speed 60] ...       serve every endpoint until interrupted
python -m simulator state                          what the running simulator serves and shows
python -m simulator fault ENDPOINT FAULT [VALUE]   transport fault: offline, drop_connection, delay,
                                                   exception_code, garbage, truncate, clear
python -m simulator device-fault NAME on|off       device fault (see DEVICE_FAULTS)
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
from datetime import datetime

from .control import CONTROL_PORT, ControlServer
from .faults import DEVICE_FAULTS
from .plant import ENDPOINTS, SimulatedPlant

DEFAULT_PORTS = {
    "goodwe_et_tcp": 15020,
    "goodwe_et_udp": 18899,
    "goodwe_dt_udp": 18900,
    "sunspec_tcp": 15021,
    "sdm630_tcp": 15022,
    "eastron_gateway": 15023,
}
TRANSPORT_FAULTS = ("offline", "drop_connection", "delay", "exception_code", "garbage", "truncate", "clear")


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
    sub.add_parser("state", help="show what the running simulator serves")
    fault = sub.add_parser("fault", help="switch a transport fault of one endpoint")
    fault.add_argument("endpoint", choices=[e.name for e in ENDPOINTS])
    fault.add_argument("fault", choices=TRANSPORT_FAULTS)
    fault.add_argument(
        "value", nargs="?", default="on", help="on/off, seconds for delay, code for exception_code"
    )
    device = sub.add_parser("device-fault", help="switch a device-level fault")
    device.add_argument("fault", choices=sorted(DEVICE_FAULTS))
    device.add_argument("state", choices=("on", "off"))
    return parser


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
    print(f"simulated plant at {args.speed:g}x speed, starting {start:%Y-%m-%d %H:%M}:", flush=True)
    for line in plant.describe():
        print("  " + line, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await control.stop()
        await plant.stop()


def _call(path: str, body: dict[str, object] | None = None) -> int:
    url = f"http://127.0.0.1:{CONTROL_PORT}{path}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # loopback only
            print(json.dumps(json.load(response), indent=2))
            return 0
    except urllib.error.HTTPError as err:
        print(f"simulate: {json.load(err).get('error', err)}", file=sys.stderr)
    except urllib.error.URLError as err:
        print(f"simulate: no simulator running on 127.0.0.1:{CONTROL_PORT} ({err})", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-"):
        argv.insert(0, "serve")
    args = _parser().parse_args(argv)
    if args.command == "state":
        return _call("/state")
    if args.command == "fault":
        return _call("/transport", {"endpoint": args.endpoint, "fault": args.fault, "value": args.value})
    if args.command == "device-fault":
        return _call("/device", {"fault": args.fault, "on": args.state})
    if not args.host.startswith("127."):
        _parser().error("the simulator only binds loopback addresses (127.0.0.0/8)")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
