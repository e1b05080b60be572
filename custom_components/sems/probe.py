"""Find the devices at a host for the config flow, trying each transport the user's choice allows."""

from __future__ import annotations

import asyncio
import os
import posixpath
import re
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .const import PROBE_BUDGET, PROBE_TIMEOUT, TRANSPORT_AUTO
from .plantkit.client import PlantClient
from .plantkit.exceptions import (
    NoDeviceAtUnitError,
    PlantConnectionError,
    PlantError,
    PlantProtocolError,
    PlantTimeoutError,
    UnsupportedDeviceError,
)
from .plantkit.model import DeviceIdentity
from .plantkit.profiles.base import Profile
from .plantkit.transport import Endpoint, TransportType
from .plantkit.transport.base import DEFAULT_PORTS


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """Where the devices answered (with the runtime timeout, not the probe's) and what they are."""

    endpoint: Endpoint
    devices: list[DeviceIdentity]


# Names serial ports have on Linux and macOS: ttyS0, ttyUSB0, ttyACM0, ttyAMA0, ttyXRUSB0..., a pseudo
# terminal (socat's virtual ports), cu./tty. on macOS, Bluetooth's rfcomm. Not tty/tty0 (the console).
_SERIAL_NAME = re.compile(r"tty[A-Za-z]+[0-9]*|(cu|tty)\.[\w.-]+|rfcomm[0-9]+")
_SERIAL_LINKS = ("/dev/serial/by-id/", "/dev/serial/by-path/")  # udev's stable names of USB adapters
_WINDOWS_PORT = re.compile(r"COM[0-9]+", re.IGNORECASE)


def is_serial_path(host: str) -> bool:
    """True when ``host`` names a serial port by its form: a Windows COM port, or a normalized path in
    /dev with a serial port's name (``_SERIAL_NAME``), a pseudo terminal /dev/pts/N, or a udev link in
    /dev/serial/. Nothing is looked up; ``serial_port_problem`` checks the file itself."""
    if _WINDOWS_PORT.fullmatch(host):
        return True
    if not host.startswith("/dev/") or posixpath.normpath(host) != host:  # no "..", "//" or "/./"
        return False
    folder, name = posixpath.split(host)
    if host.startswith(_SERIAL_LINKS):
        return bool(name)
    if folder == "/dev/pts":
        return name.isdigit()
    return folder == "/dev" and _SERIAL_NAME.fullmatch(name) is not None


def serial_port_problem(path: str) -> str | None:
    """Why ``path`` cannot be a serial port: "invalid_serial_port" when it is not a serial path, or the
    file it leads to (links followed) is no character device with a serial port's name (``/dev/null``,
    ``/dev/watchdog``). A path that does not exist passes: an unplugged adapter is the probe's to report.

    Blocking (it looks at the file system): run it in an executor.
    """
    if not is_serial_path(path):
        return "invalid_serial_port"
    if _WINDOWS_PORT.fullmatch(path):
        return None
    try:
        real = os.path.realpath(path, strict=True)
        mode = os.stat(real).st_mode
    except OSError:
        return None
    if not stat.S_ISCHR(mode) or not is_serial_path(real) or real.startswith(_SERIAL_LINKS):
        return "invalid_serial_port"
    return None


def transport_candidates(host: str, transport: str, port: int | None) -> list[Endpoint]:
    """Endpoints to try, in order.

    "auto" tries Modbus TCP first (one connect tells whether anything listens, and it is the faster,
    loss-free protocol), then GoodWe's UDP framing, which only Wi-Fi/LAN dongles speak. Without a port
    each framing uses its usual one (502, 8899); with a port both are tried on it.
    """
    if transport == TRANSPORT_AUTO:
        if is_serial_path(host):
            return [Endpoint(host, 0, TransportType.SERIAL)]
        return [
            Endpoint(host, port or DEFAULT_PORTS[TransportType.TCP], TransportType.TCP),
            Endpoint(host, port or DEFAULT_PORTS[TransportType.UDP], TransportType.UDP),
        ]
    kind = TransportType(transport)
    if kind is TransportType.SERIAL:
        return [Endpoint(host, 0, kind)]
    return [Endpoint(host, port or DEFAULT_PORTS[kind], kind)]


@dataclass(frozen=True, slots=True)
class ProbeCandidate:
    """One way a device might answer."""

    endpoint: Endpoint
    unit_ids: tuple[int, ...] | None = None  # None: the library's usual ids
    profiles: tuple[Profile, ...] | None = None  # None: every profile


async def async_probe(host: str, transport: str, port: int | None, unit_ids: list[int] | None) -> ProbeResult:
    """Find the devices the user pointed at, trying each transport their choice allows."""
    units = tuple(unit_ids) if unit_ids else None
    candidates = [ProbeCandidate(e, units) for e in transport_candidates(host, transport, port)]
    return await probe_candidates(candidates, request_timeout=PROBE_TIMEOUT, budget=PROBE_BUDGET)


async def probe_candidates(
    candidates: Sequence[ProbeCandidate], *, request_timeout: float, budget: float
) -> ProbeResult:
    """Probe each candidate in turn until one has supported devices.

    Requests wait ``request_timeout``; all candidates together get at most ``budget`` seconds. A refused
    connection rules out later candidates on the same port and framing. Raises the most telling
    failure: something answered but is unsupported, before a gateway's "no device at unit N", before a
    timeout, before a refused connection.
    """
    failures: list[PlantError] = []
    refused: set[tuple[int, TransportType]] = set()
    deadline = time.monotonic() + budget
    for candidate in candidates:
        endpoint = candidate.endpoint
        if (endpoint.port, endpoint.transport) in refused:
            continue
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            failures.append(PlantTimeoutError(f"no time left to probe {endpoint}"))
            break
        # One retry: a silent unit id (a DT dongle asked for unit 247) then costs 2 timeouts, not 4.
        probing = replace(endpoint, timeout=request_timeout, retries=1)
        client = PlantClient(probing, profiles=candidate.profiles)
        try:
            async with asyncio.timeout(remaining):
                devices = await client.probe(candidate.unit_ids)
        except TimeoutError:
            failures.append(PlantTimeoutError(f"probing {endpoint} took longer than {budget:g} s"))
            continue
        except PlantConnectionError as err:
            if not isinstance(err, PlantTimeoutError):
                refused.add((endpoint.port, endpoint.transport))
            failures.append(err)
            continue
        except PlantError as err:
            failures.append(err)
            continue
        finally:
            await client.close()
        return ProbeResult(endpoint, devices)
    raise _most_telling(failures or [PlantConnectionError("nothing to probe")])


def _most_telling(failures: list[PlantError]) -> PlantError:
    for kind in (
        UnsupportedDeviceError,
        PlantProtocolError,
        NoDeviceAtUnitError,
        PlantTimeoutError,
        PlantConnectionError,
    ):
        for failure in failures:
            if isinstance(failure, kind):
                return failure
    return failures[0]
