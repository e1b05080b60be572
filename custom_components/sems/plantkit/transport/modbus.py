"""Modbus TCP, RTU over TCP and serial RTU through pymodbus (3.8.3 up to 3.13.x)."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable
from typing import Any

from pymodbus import FramerType
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from ..exceptions import (
    ModbusExceptionError,
    PlantConnectionError,
    PlantProtocolError,
    PlantTimeoutError,
)
from ..registers import RegisterKind
from .base import Endpoint, Transport, TransportType


def _unit_keyword() -> str:
    """pymodbus renamed ``slave=`` to ``device_id=`` in 3.10; support both."""
    parameters = inspect.signature(AsyncModbusTcpClient.read_holding_registers).parameters
    return "device_id" if "device_id" in parameters else "slave"


_UNIT_KEYWORD = _unit_keyword()


class _SurfacedErrorFilter(logging.Filter):
    """pymodbus logs exception replies and timeouts at ERROR; we raise both as typed exceptions.

    Probing, scanning and learning refused registers produce them by design, and the caller decides
    what the user sees (Home Assistant logs unavailability once), so they must not reach the log as errors.
    """

    SURFACED = ("Exception response", "No response received", "Failed to connect")

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.SURFACED)


logging.getLogger("pymodbus.logging").addFilter(_SurfacedErrorFilter())
type _Client = AsyncModbusTcpClient | AsyncModbusSerialClient


class ModbusTransport(Transport):
    """One pymodbus client per endpoint; our lock serializes requests, we reconnect on demand."""

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint)
        self._client: _Client | None = None
        self._lost = asyncio.Event()

    def _trace_connect(self, connected: bool) -> None:
        if not connected:
            self._lost.set()

    def _new_client(self) -> _Client:
        ep = self.endpoint
        # reconnect_delay=0: pymodbus must not reconnect in the background; the next read reconnects.
        # trace_connect tells us when the device closes the connection: pymodbus would otherwise keep
        # waiting for the reply of a request sent on a dead socket until every retry timed out.
        common: dict[str, Any] = {
            "timeout": ep.timeout,
            "retries": 1 if ep.retries is None else ep.retries,
            "reconnect_delay": 0,
            "trace_connect": self._trace_connect,
        }
        if ep.transport is TransportType.SERIAL:
            return AsyncModbusSerialClient(
                ep.host, framer=FramerType.RTU, baudrate=ep.baudrate, parity=ep.parity, **common
            )
        framer = FramerType.RTU if ep.transport is TransportType.RTU_OVER_TCP else FramerType.SOCKET
        return AsyncModbusTcpClient(ep.host, port=ep.port, framer=framer, **common)

    async def _connected(self) -> _Client:
        if self._client is not None and self._client.connected:
            return self._client
        await self.close()
        client = self._new_client()
        try:
            async with asyncio.timeout(self.endpoint.timeout + 1):
                connected = await client.connect()
        except (TimeoutError, OSError, ModbusException) as err:
            client.close()
            raise PlantConnectionError(f"cannot connect to {self.endpoint}: {err}") from err
        if not connected:
            client.close()
            raise PlantConnectionError(f"cannot connect to {self.endpoint}")
        self._lost.clear()
        self._client = client
        return client

    async def _read(self, unit_id: int, kind: RegisterKind, address: int, count: int) -> list[int]:
        client = await self._connected()
        read = client.read_holding_registers if kind is RegisterKind.HOLDING else client.read_input_registers
        unit: dict[str, Any] = {_UNIT_KEYWORD: unit_id}
        try:
            response = await self._unless_lost(read(address, count=count, **unit))
        except ConnectionException as err:
            await self.close()
            raise PlantConnectionError(f"{self.endpoint}: connection lost") from err
        except ModbusIOException as err:
            # A timeout leaves the stream in an unknown state (a late reply may still arrive): start over.
            await self.close()
            if isinstance(err.__cause__, asyncio.CancelledError):
                # pymodbus >= 3.9 turns the caller's cancellation into an IO error: keep it a cancellation.
                raise asyncio.CancelledError from err
            raise PlantTimeoutError(f"no valid reply from {self.endpoint} (unit {unit_id})") from err
        except ModbusException as err:
            await self.close()
            raise PlantProtocolError(f"{self.endpoint}: {err}") from err
        if response.isError():
            raise ModbusExceptionError(int(getattr(response, "exception_code", 0)))
        registers = list(response.registers)
        if len(registers) != count:
            raise PlantProtocolError(f"asked for {count} registers, got {len(registers)}")
        return registers

    async def _unless_lost[T](self, request: Awaitable[T]) -> T:
        """Await a pymodbus request, but give up as soon as the connection is lost."""
        task = asyncio.ensure_future(request)
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            if not task.done():
                task.cancel()
        if task.cancelled() or not task.done():
            await asyncio.gather(task, return_exceptions=True)
            await self.close()
            raise PlantConnectionError(f"{self.endpoint}: the device closed the connection")
        return task.result()

    async def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
