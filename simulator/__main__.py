"""``python -m simulator``: serve the simulated plant on loopback until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from datetime import datetime

from .plant import ENDPOINTS, SimulatedPlant

DEFAULT_PORTS = {
    "goodwe_et_tcp": 15020,
    "goodwe_et_udp": 18899,
    "goodwe_dt_udp": 18900,
    "sunspec_tcp": 15021,
    "sdm630_tcp": 15022,
    "eastron_gateway": 15023,
}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="simulate", description="Serve the simulated solar plant.")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (127.0.0.0/8 only)")
    parser.add_argument("--speed", type=float, default=60.0, help="simulated seconds per wall second")
    parser.add_argument("--tick", type=float, default=1.0, help="wall seconds between plant updates")
    parser.add_argument("--start", help="simulated start time, ISO format (default: today 10:00)")
    parser.add_argument("--random-ports", action="store_true", help="let the OS pick free ports")
    parser.add_argument("--only", nargs="*", choices=[e.name for e in ENDPOINTS], help="endpoints to serve")
    args = parser.parse_args(argv)
    if not args.host.startswith("127."):
        parser.error("the simulator only binds loopback addresses (127.0.0.0/8)")
    return args


async def _run(args: argparse.Namespace) -> None:
    start = datetime.fromisoformat(args.start) if args.start else datetime.now().replace(hour=10, minute=0)
    plant = SimulatedPlant(
        host=args.host,
        speed=args.speed,
        start=start,
        endpoints=args.only,
        ports=None if args.random_ports else DEFAULT_PORTS,
    )
    await plant.start(tick=args.tick)
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
        await plant.stop()


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(_parse(argv)))


if __name__ == "__main__":
    main()
