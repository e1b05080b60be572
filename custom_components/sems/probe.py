"""Find the devices at a host for the config flow, trying each transport the user's choice allows."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from .const import PROBE_BUDGET, PROBE_TIMEOUT, TRANSPORT_AUTO
from .plantkit.client import PlantClient
from .plantkit.exceptions import (
    PlantConnectionError,
    PlantError,
    PlantProtocolError,
    PlantTimeoutError,
    UnsupportedDeviceError,
)
from .plantkit.model import DeviceIdentity
from .plantkit.transport import Endpoint, TransportType
from .plantkit.transport.base import DEFAULT_PORTS


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """Where the devices answered (with the runtime timeout, not the probe's) and what they are."""

    endpoint: Endpoint
    devices: list[DeviceIdentity]


def is_serial_path(host: str) -> bool:
    """True for a local serial device path (Linux /dev/... or a Windows COM port)."""
    return host.startswith("/dev/") or (host.upper().startswith("COM") and host[3:].isdigit())


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


async def async_probe(host: str, transport: str, port: int | None, unit_ids: list[int] | None) -> ProbeResult:
    """Probe each candidate until one has supported devices.

    Raises the most telling failure: something answered but is unsupported, before a timeout, before a
    refused connection.
    """
    failures: list[PlantError] = []
    for endpoint in transport_candidates(host, transport, port):
        # One retry: a silent unit id (a DT dongle asked for unit 247) then costs 2 timeouts, not 4.
        client = PlantClient(replace(endpoint, timeout=PROBE_TIMEOUT, retries=1))
        try:
            async with asyncio.timeout(PROBE_BUDGET):
                devices = await client.probe(unit_ids)
        except TimeoutError:
            failures.append(PlantTimeoutError(f"probing {endpoint} took longer than {PROBE_BUDGET} s"))
            continue
        except PlantError as err:
            failures.append(err)
            continue
        finally:
            await client.close()
        return ProbeResult(endpoint, devices)
    raise _most_telling(failures)


def _most_telling(failures: list[PlantError]) -> PlantError:
    for kind in (UnsupportedDeviceError, PlantProtocolError, PlantTimeoutError, PlantConnectionError):
        for failure in failures:
            if isinstance(failure, kind):
                return failure
    return failures[0]
