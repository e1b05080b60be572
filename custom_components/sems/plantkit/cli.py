"""``sems``: probe, read and watch plant devices from a shell (``scripts/sems`` runs this module).

    sems probe --host 192.168.1.50
    sems read --host 192.168.1.60 --port 8899 --transport udp --json
    sems watch --host 192.168.1.60 --port 8899 --transport udp --interval 5

``read`` and ``watch`` show what Home Assistant and the cloud uplink show: the ``PlantMonitor``'s
snapshots, so energy counters pass the same glitch guard (a value it does not take is marked held) and
the plant's totals are included. Every failure of ``probe`` and ``read`` ends with one line on stderr and
a nonzero exit status, within ``--timeout`` seconds; ``watch`` reports a failed refresh on stderr and
goes on until interrupted or ``--count`` refreshes are done.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn, TextIO

from .client import PlantClient
from .exceptions import (
    ModbusExceptionError,
    NoDeviceAtUnitError,
    PlantConnectionError,
    PlantError,
    PlantTimeoutError,
    PlantUnavailableError,
    UnsupportedDeviceError,
)
from .model import QUANTITY_INFO, DeviceIdentity, Quantity
from .monitor import PlantMonitor
from .snapshot import DeviceSnapshot, PlantSnapshot, Sample, Source
from .transport.base import DEFAULT_PORTS, Endpoint, TransportType

EXIT_OK = 0
EXIT_ERROR = 1  # the device answered with something unusable
EXIT_USAGE = 2  # bad arguments (argparse's convention)
EXIT_UNREACHABLE = 3  # connection refused, timeout, nothing answered, no device at the unit ids
EXIT_UNSUPPORTED = 4  # something answered, but no profile knows it

DEFAULT_TIMEOUT = 10.0
# One request. Probing walks several unit ids and silent ones cost a timeout per attempt (GoodWe UDP
# retries three times), so a request gets a small share of the overall --timeout.
MAX_REQUEST_TIMEOUT = 1.0
DEFAULT_WATCH_INTERVAL = 10.0


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _ranged_int(name: str, low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text, 0)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, not {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{name} must be {low}..{high}, not {value}")
        return value

    return parse


def _seconds(name: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number of seconds, not {text!r}") from None
        if not 0.1 <= value <= 300:
            raise argparse.ArgumentTypeError(f"{name} must be 0.1..300 seconds, not {value:g}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and documentation)."""
    connection = _Parser(add_help=False)
    connection.add_argument("--host", required=True, help="device or gateway address (serial: device path)")
    connection.add_argument(
        "--port", type=_ranged_int("port", 1, 65535), help="TCP/UDP port (default: 502, udp 8899)"
    )
    connection.add_argument(
        "--transport",
        choices=[t.value for t in TransportType],
        default=TransportType.TCP.value,
        help="framing: Modbus TCP, RTU through a TCP gateway, GoodWe UDP, or a local serial port",
    )
    connection.add_argument(
        "--unit",
        type=_ranged_int("unit id", 0, 255),
        action="append",
        help="Modbus unit id to probe (repeat for several; default: the usual ids of each family)",
    )
    connection.add_argument(
        "--timeout",
        type=_seconds("timeout"),
        default=DEFAULT_TIMEOUT,
        help=f"give up after this many seconds in total (default {DEFAULT_TIMEOUT:g})",
    )
    connection.add_argument(
        "--request-timeout",
        type=_seconds("request timeout"),
        help=f"wait this long for one answer (default: --timeout/4, at most {MAX_REQUEST_TIMEOUT:g})",
    )
    connection.add_argument("--baudrate", type=_ranged_int("baudrate", 300, 921600), default=9600)
    connection.add_argument("--parity", choices=["N", "E", "O"], default="N")
    connection.add_argument("--json", action="store_true", help="print JSON instead of a table")
    connection.add_argument("-v", "--verbose", action="store_true", help="log protocol details to stderr")

    parser = _Parser(
        prog="sems",
        description="Find and read solar plant devices (every vendor in plantkit.profiles) over Modbus.",
        epilog="exit status: 0 ok, 1 bad answer, 2 bad arguments, 3 unreachable or no device at the unit ids,"
        " 4 unsupported device",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="{probe,read,watch}", parser_class=_Parser
    )
    commands.add_parser("probe", parents=[connection], help="identify the devices behind an endpoint")
    commands.add_parser("read", parents=[connection], help="probe, then read every device once")
    watch = commands.add_parser(
        "watch", parents=[connection], help="probe, then read every device again and again"
    )
    watch.add_argument(
        "--interval",
        type=_seconds("interval"),
        default=DEFAULT_WATCH_INTERVAL,
        help=f"seconds between refreshes (default {DEFAULT_WATCH_INTERVAL:g})",
    )
    watch.add_argument(
        "--count", type=_ranged_int("count", 1, 1_000_000), help="stop after this many refreshes"
    )
    return parser


def endpoint_from_args(args: argparse.Namespace) -> Endpoint:
    """The endpoint the arguments describe."""
    transport = TransportType(args.transport)
    port = args.port if args.port is not None else DEFAULT_PORTS[transport]
    request_timeout = args.request_timeout or min(MAX_REQUEST_TIMEOUT, args.timeout / 4)
    return Endpoint(
        host=args.host,
        port=port,
        transport=transport,
        timeout=request_timeout,
        baudrate=args.baudrate,
        parity=args.parity,
    )


async def run(args: argparse.Namespace, out: TextIO) -> int:
    """Probe (and read or watch) one endpoint.

    Raises the library's errors or TimeoutError at the deadline (``probe``, ``read``); ``watch`` raises
    only while probing and reports later failures on stderr.
    """
    client = PlantClient(endpoint_from_args(args))
    try:
        async with asyncio.timeout(args.timeout):
            devices = await client.probe(args.unit)
            if args.command == "probe":
                _print_identities(devices, out, as_json=args.json)
                return EXIT_OK
            if args.command == "read":
                # One failed read is the answer: nothing earlier to hold.
                snapshot = await _monitor(client, args, unavailable_after=1).refresh()
                _print_snapshot(snapshot, out, as_json=args.json)
                return EXIT_OK
        await _watch(_monitor(client, args), args, out)
        return EXIT_OK
    finally:
        await client.close()


def _monitor(client: PlantClient, args: argparse.Namespace, **kwargs: Any) -> PlantMonitor:
    interval = timedelta(seconds=getattr(args, "interval", DEFAULT_WATCH_INTERVAL))
    # Daily counters restart at the local midnight of the machine running the command.
    timezone = datetime.now().astimezone().tzinfo or UTC
    return PlantMonitor(client, name="the endpoint", timezone=timezone, poll_interval=interval, **kwargs)


async def _watch(monitor: PlantMonitor, args: argparse.Namespace, out: TextIO) -> None:
    """Refresh every ``--interval`` seconds, print each snapshot; a failure is one line on stderr."""
    loop = asyncio.get_running_loop()
    done = 0
    while args.count is None or done < args.count:
        started = loop.time()
        try:
            async with asyncio.timeout(args.timeout):
                snapshot = await monitor.refresh()
        except (PlantError, TimeoutError) as failure:
            _, message = describe_error(_cause(failure), monitor.client.endpoint, args.timeout)
            sys.stderr.write(f"sems: unavailable: {message}\n")
        else:
            if done and not args.json:
                out.write("\n")
            _print_snapshot(snapshot, out, as_json=args.json, stamped=True)
        out.flush()
        done += 1
        if args.count is None or done < args.count:
            await asyncio.sleep(max(0.0, args.interval - (loop.time() - started)))


def _print_identities(devices: Sequence[DeviceIdentity], out: TextIO, *, as_json: bool) -> None:
    if as_json:
        json.dump({"devices": [d.to_dict() for d in devices]}, out, indent=2)
        out.write("\n")
        return
    rows = [
        (
            str(d.role),
            d.profile,
            d.manufacturer,
            d.model,
            f"serial {d.serial}",
            f"firmware {d.firmware or '-'}",
            f"unit {d.unit_id}",
        )
        for d in devices
    ]
    _print_rows(rows, out)


def snapshot_json(snapshot: PlantSnapshot) -> dict[str, Any]:
    """The ``read --json`` shape: the plant's totals and each device's identity, status and values.

    ``values`` maps every quantity the device provides to its value (None: unknown now); ``held`` lists
    the quantities whose value was kept rather than taken from this read (a rejected glitch, a failed
    poll); ``rejected`` counts the energy readings the guard refused so far.
    """
    return {
        "taken_at": snapshot.taken_at.isoformat(),
        "asleep": snapshot.asleep,
        "plant": {
            "status": str(snapshot.status),
            "values": {
                str(q): snapshot.totals[q].value
                for q in _ordered(snapshot.total_quantities)
                if q in snapshot.totals
            },
        },
        "devices": [_device_json(device) for device in snapshot.devices.values()],
    }


def _device_json(device: DeviceSnapshot) -> dict[str, Any]:
    identity = device.identity.to_dict()
    del identity["details"]  # profile-private
    return {
        **identity,
        "status": str(device.status),
        "faults": _raw_faults(device),
        "values": {str(q): device.value(q) for q in _ordered(device.quantities)},
        "held": sorted(str(q) for q, sample in device.values.items() if sample.source is not Source.FRESH),
        "rejected": device.rejected,
    }


def _raw_faults(device: DeviceSnapshot) -> list[str]:
    """The vendor codes behind the device's active faults, sorted (what an installer looks up)."""
    return sorted(code for fault in device.faults or () for code in fault.raw)


def _ordered(quantities: frozenset[Quantity]) -> list[Quantity]:
    """Quantities in the catalogue's order (stable output)."""
    return [quantity for quantity in QUANTITY_INFO if quantity in quantities]


def _print_snapshot(snapshot: PlantSnapshot, out: TextIO, *, as_json: bool, stamped: bool = False) -> None:
    if as_json:
        if stamped:  # one JSON document per line, for a reader that follows the stream
            out.write(json.dumps(snapshot_json(snapshot)) + "\n")
        else:
            json.dump(snapshot_json(snapshot), out, indent=2)
            out.write("\n")
        return
    if stamped:
        out.write(
            f"{snapshot.taken_at.astimezone():%Y-%m-%d %H:%M:%S}{' (asleep)' if snapshot.asleep else ''}\n"
        )
    for index, device in enumerate(snapshot.devices.values()):
        ident = device.identity
        if index:
            out.write("\n")
        out.write(
            f"{ident.role} {ident.manufacturer} {ident.model} (serial {ident.serial}, unit {ident.unit_id},"
            f" profile {ident.profile}): {device.status}\n"
        )
        rows = _value_rows(device.values, device.quantities)
        if device.faults:
            rows.append(("  faults", ", ".join(_raw_faults(device)), "", ""))
        _print_rows(rows, out, right_align={1})
    if snapshot.totals:
        out.write(f"\nplant: {snapshot.status}\n")
        _print_rows(_value_rows(snapshot.totals, snapshot.total_quantities), out, right_align={1})


def _value_rows(values: Mapping[Quantity, Sample], quantities: frozenset[Quantity]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for quantity in _ordered(quantities):
        sample = values.get(quantity)
        value = None if sample is None else sample.value
        source = "" if sample is None or sample.source is Source.FRESH else f"({sample.source})"
        rows.append((f"  {quantity}", _format_value(value), str(QUANTITY_INFO[quantity].unit), source))
    return rows


def _format_value(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"


def _print_rows(rows: Sequence[Sequence[str]], out: TextIO, right_align: set[int] | None = None) -> None:
    if not rows:
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if right_align and i in right_align else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        out.write("  ".join(cells).rstrip() + "\n")


def describe_error(err: BaseException, endpoint: Endpoint, timeout: float) -> tuple[int, str]:
    """Exit status and the one-line message for a failure."""
    if isinstance(err, TimeoutError):
        return EXIT_UNREACHABLE, f"no complete answer from {endpoint} within {timeout:g} s"
    if isinstance(err, UnsupportedDeviceError):
        cause = _root_cause(err)
        reason = f" (last answer: {_one_line(cause)})" if cause is not err else ""
        return EXIT_UNSUPPORTED, f"{_one_line(err)}{reason}"
    if isinstance(err, NoDeviceAtUnitError):
        return EXIT_UNREACHABLE, _one_line(err)  # "no device at unit N at <endpoint>: <why>"
    if isinstance(err, PlantTimeoutError):
        return EXIT_UNREACHABLE, f"{_one_line(err)} (timeout)"
    if isinstance(err, PlantConnectionError | OSError):
        return EXIT_UNREACHABLE, _one_line(err)
    if isinstance(err, ModbusExceptionError):
        return EXIT_ERROR, f"{endpoint} answered with {_one_line(err)}"
    return EXIT_ERROR, _one_line(err)


def _cause(err: BaseException) -> BaseException:
    """What failed: the monitor's "unavailable" says only that polls failed, its cause says why."""
    if isinstance(err, PlantUnavailableError) and isinstance(err.__cause__, PlantError):
        return err.__cause__
    return err


def _root_cause(err: BaseException) -> BaseException:
    """The innermost library error behind ``err`` (what the device actually said)."""
    while isinstance(err.__cause__, PlantError):
        err = err.__cause__
    return err


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text or type(err).__name__


def _configure_logging(verbose: bool) -> None:
    # Libraries may log on their own; unless asked for, keep stderr to our one line.
    root = logging.getLogger()
    if verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    elif not root.handlers:
        root.addHandler(logging.NullHandler())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (never raises SystemExit)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    _configure_logging(args.verbose)
    endpoint = endpoint_from_args(args)
    try:
        return asyncio.run(run(args, sys.stdout))
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): nothing to report. Park stdout so the final flush is quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except (PlantError, TimeoutError, OSError) as failure:
        status, message = describe_error(_cause(failure), endpoint, args.timeout)
        sys.stderr.write(f"sems: error: {message}\n")
        return status
    except KeyboardInterrupt:
        sys.stderr.write("sems: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
