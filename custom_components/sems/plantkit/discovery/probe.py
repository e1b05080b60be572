"""Probe for devices: the one probe-and-close helper, candidates tried in turn, and what "automatic" tries.

Every discovery path ends here: a short-lived ``PlantClient`` with the probe's own request timeout and
retries identifies what answers, and its connection is closed again whatever happened. The endpoints in
a ``Found`` carry the runtime settings, not the probe's.
"""

from __future__ import annotations

import asyncio
import os
import posixpath
import re
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..client import PlantClient
from ..exceptions import (
    NoDeviceAtUnitError,
    PlantConnectionError,
    PlantError,
    PlantProtocolError,
    PlantTimeoutError,
    UnsupportedDeviceError,
)
from ..model import DeviceIdentity
from ..profiles.base import Profile
from ..transport import Endpoint, TransportType
from ..transport.base import DEFAULT_PORTS
from .settings import DEFAULT_SETTINGS, DiscoverySettings, ProbeLimits


@dataclass(frozen=True, slots=True)
class Found:
    """Devices identified at one endpoint. ``endpoint`` carries runtime settings, not the probe's."""

    endpoint: Endpoint
    devices: tuple[DeviceIdentity, ...]

    @property
    def host(self) -> str:
        """Address of the endpoint."""
        return self.endpoint.host

    @property
    def port(self) -> int:
        """Port of the endpoint."""
        return self.endpoint.port

    @property
    def transport(self) -> TransportType:
        """Framing the devices answered in."""
        return self.endpoint.transport

    @property
    def unit_ids(self) -> tuple[int, ...]:
        """Unit ids with at least one device, ascending."""
        return tuple(sorted({device.unit_id for device in self.devices}))


async def probe_once(
    endpoint: Endpoint,
    limits: ProbeLimits,
    *,
    unit_ids: Sequence[int] | None = None,
    profiles: Sequence[Profile] | None = None,
    within: float | None,
) -> list[DeviceIdentity]:
    """Identify what answers at ``endpoint`` (``PlantClient.probe``) with ``limits``' request timeout and
    retries, then close the connection.

    ``unit_ids`` None asks the client's usual ids; ``profiles`` None tries every profile. Raises what
    the probe raises, and ``PlantTimeoutError`` when ``within`` seconds (None: no limit) run out first.
    """
    probing = replace(endpoint, timeout=limits.timeout, retries=limits.retries)
    client = PlantClient(probing, profiles=profiles)
    try:
        async with asyncio.timeout(within):
            return await client.probe(unit_ids)
    except TimeoutError as err:
        raise PlantTimeoutError(f"probing {endpoint} took longer than {within:g} s") from err
    finally:
        await client.close()


@dataclass(frozen=True, slots=True)
class ProbeCandidate:
    """One way a device might answer."""

    endpoint: Endpoint
    unit_ids: tuple[int, ...] | None = None  # None: the client's usual ids
    profiles: tuple[Profile, ...] | None = None  # None: every profile


async def probe_candidates(candidates: Sequence[ProbeCandidate], limits: ProbeLimits) -> Found:
    """Probe each candidate in turn until one has supported devices.

    Requests wait ``limits.timeout``; all candidates together get at most ``limits.budget`` seconds. A
    refused connection rules out later candidates on the same port and framing. Raises the most telling
    failure: something answered but is unsupported, before a gateway's "no device at unit N", before a
    timeout, before a refused connection.
    """
    failures: list[PlantError] = []
    refused: set[tuple[int, TransportType]] = set()
    deadline = time.monotonic() + limits.budget
    for candidate in candidates:
        endpoint = candidate.endpoint
        if (endpoint.port, endpoint.transport) in refused:
            continue
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            failures.append(PlantTimeoutError(f"no time left to probe {endpoint}"))
            break
        try:
            devices = await probe_once(
                endpoint, limits, unit_ids=candidate.unit_ids, profiles=candidate.profiles, within=remaining
            )
        except PlantConnectionError as err:
            if not isinstance(err, PlantTimeoutError):
                refused.add((endpoint.port, endpoint.transport))
            failures.append(err)
            continue
        except PlantError as err:
            failures.append(err)
            continue
        return Found(endpoint, tuple(devices))
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


async def probe_host(
    host: str,
    transport: TransportType | None,
    port: int | None,
    unit_ids: Sequence[int] | None,
    settings: DiscoverySettings = DEFAULT_SETTINGS,
) -> Found:
    """Find the devices at an address the user gave, trying each framing ``transport`` allows
    (``transport_candidates``; None: automatic), with ``settings.probe``'s limits."""
    units = tuple(unit_ids) if unit_ids else None
    candidates = [ProbeCandidate(e, units) for e in transport_candidates(host, transport, port)]
    return await probe_candidates(candidates, settings.probe)


async def still_answers(
    endpoint: Endpoint,
    unit_ids: Sequence[int] | None,
    serial: str,
    settings: DiscoverySettings = DEFAULT_SETTINGS,
) -> bool:
    """Whether the device with ``serial`` still answers at ``endpoint`` (a short probe without retries,
    within ``settings.announced``'s budget)."""
    limits = replace(settings.announced, retries=0)
    try:
        devices = await probe_once(endpoint, limits, unit_ids=unit_ids, within=limits.budget)
    except PlantError:
        return False
    return any(device.serial == serial for device in devices)


def transport_candidates(host: str, transport: TransportType | None, port: int | None) -> list[Endpoint]:
    """Endpoints to try, in order.

    Automatic (None) takes a serial port's path as serial; otherwise it tries Modbus TCP first (one
    connect tells whether anything listens, and it is the faster, loss-free protocol), then GoodWe's UDP
    framing, which only Wi-Fi/LAN dongles speak. Without a port each framing uses its usual one (502,
    8899); with a port both are tried on it.
    """
    if transport is None:
        if is_serial_path(host):
            return [Endpoint(host, 0, TransportType.SERIAL)]
        return [
            Endpoint(host, port or DEFAULT_PORTS[TransportType.TCP], TransportType.TCP),
            Endpoint(host, port or DEFAULT_PORTS[TransportType.UDP], TransportType.UDP),
        ]
    if transport is TransportType.SERIAL:
        return [Endpoint(host, 0, transport)]
    return [Endpoint(host, port or DEFAULT_PORTS[transport], transport)]


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
