"""The MQTT destination: paho-mqtt 2.x over TLS, run in paho's own thread, reported to asyncio.

- **TLS always** (``mqtts://``), certificate verification on by default; a custom CA (PEM) replaces the
  system CAs; verification can be turned off only by an explicit setting (the integration then raises a
  repair warning). Username/password and/or a client certificate.
- **MQTT v5** with a persistent session (clean start off, session expiry 7 days); a broker that answers
  "unsupported protocol version" is spoken to in MQTT 3.1.1 (clean session off) instead.
- **QoS 1**; paho keeps unacknowledged messages and sends them again after a reconnect. Reconnects back off
  exponentially (1 s doubling to 5 min by default).
- **Never blocks the event loop:** the TLS context is built and the thread joined in an executor; the
  network runs in paho's thread; publishing only queues a packet. Everything paho reports (connected,
  refused, lost, acknowledged, message) reaches the ``DestinationListener`` on the event loop.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ipaddress
import re
import socket
import ssl
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from ..exceptions import (
    UplinkAuthError,
    UplinkConfigError,
    UplinkConnectionError,
    UplinkError,
    UplinkTlsError,
)

DEFAULT_PORT: Final = 8883
SESSION_EXPIRY: Final = 7 * 24 * 3600  # seconds the broker keeps our session (and queued acks) offline
KEEPALIVE: Final = 60
CONNECT_TIMEOUT: Final = 10.0
DEFAULT_BACKOFF: Final = (1, 300)  # first and longest wait between connection attempts, seconds
DEFAULT_INFLIGHT: Final = 100

_HOST_LABEL = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
_AUTH_REFUSALS = frozenset({134, 135, 140})  # bad user name or password, not authorised, bad auth method
_UNSUPPORTED_PROTOCOL = 132


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerSettings:
    """Where and how to connect. ``url`` is ``mqtts://host[:port]`` (port 8883 when left out)."""

    url: str
    username: str | None = None
    password: str | None = None
    ca_pem: str | None = None  # trusted CA certificates (PEM); None = the system's CAs
    verify: bool = True  # check the broker's certificate and host name
    client_cert_pem: str | None = None
    client_key_pem: str | None = None

    @property
    def address(self) -> tuple[str, int]:
        """Host and port from the URL; raises UplinkConfigError."""
        return parse_broker_url(self.url)


def parse_broker_url(url: str) -> tuple[str, int]:
    """``mqtts://host[:port]`` -> (host, port). Anything else (plain mqtt://, a path, credentials in the
    URL, a bad port) raises UplinkConfigError: data only leaves over TLS (privacy policy §4.3)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as err:
        raise UplinkConfigError(f"invalid broker URL: {err}") from err
    if parts.scheme != "mqtts":
        raise UplinkConfigError("the broker URL must start with mqtts:// (MQTT over TLS)")
    if not parts.hostname or parts.username or parts.password or parts.path not in ("", "/"):
        raise UplinkConfigError("the broker URL must be mqtts://host or mqtts://host:port")
    if parts.query or parts.fragment:
        raise UplinkConfigError("the broker URL must be mqtts://host or mqtts://host:port")
    if port == 0 or not _valid_host(parts.hostname):
        raise UplinkConfigError("the broker URL does not name a host and port that can be connected to")
    return parts.hostname, port or DEFAULT_PORT


def _valid_host(host: str) -> bool:
    """An IP address or a DNS name (IDNA): what paho's thread could resolve without an uncaught error."""
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(host)
        return True
    try:
        name = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = name.removesuffix(".").split(".")
    return len(name) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels)


def tls_context(settings: BrokerSettings) -> ssl.SSLContext:
    """The TLS context for ``settings`` (blocking: loads CA and key material; run it in an executor).

    A client certificate and key go through a private temporary directory that is deleted at once
    (``load_cert_chain`` only reads files).
    """
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=settings.ca_pem or None)
    except (ssl.SSLError, ValueError, TypeError) as err:  # TypeError: text that is not ASCII
        raise UplinkConfigError(f"the CA certificate is not a valid PEM certificate: {err}") from err
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not settings.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if settings.client_cert_pem or settings.client_key_pem:
        if not (settings.client_cert_pem and settings.client_key_pem):
            raise UplinkConfigError("a client certificate needs both the certificate and its key")
        try:
            with tempfile.TemporaryDirectory(prefix="sems-uplink-") as scratch:
                cert = Path(scratch) / "client.crt"
                key = Path(scratch) / "client.key"
                cert.write_text(settings.client_cert_pem)
                key.touch(mode=0o600)
                key.write_text(settings.client_key_pem)
                context.load_cert_chain(cert, key)
        except (OSError, ValueError) as err:  # ssl.SSLError is an OSError
            raise UplinkConfigError(f"the client certificate or key is not valid: {err}") from err
    return context


class DestinationListener(Protocol):
    """What the destination reports, always on the event loop."""

    def connection_changed(self, connected: bool, error: UplinkError | None) -> None:
        """Connected (error None), or not connected and why."""

    def acknowledged(self, mid: int, accepted: bool) -> None:
        """The broker acknowledged message ``mid``; ``accepted`` False when it refused it (MQTT v5)."""

    def received(self, topic: str, payload: bytes) -> None:
        """A message arrived on a subscribed topic."""


class _Client(mqtt.Client):
    """paho's client, remembering why the last connection attempt failed (paho reports no reason),
    whether the broker answered it (a broker that wants a client certificate may just hang up), and the
    socket of the attempt under way (``abort_attempt``)."""

    last_failure: BaseException | None = None
    answered = False
    _attempt: socket.socket | None = None

    def reconnect(self) -> MQTTErrorCode:
        self.answered = False
        try:
            return super().reconnect()
        except OSError as err:
            self.last_failure = err
            _close_abandoned_sockets(err)
            raise
        finally:
            attempt, self._attempt = self._attempt, None
            if attempt is not None:
                attempt.close()

    def _create_socket_connection(self) -> socket.socket:
        connection = super()._create_socket_connection()
        # A second handle of the connection: TLS takes the first one over (it detaches it).
        self._attempt = connection.dup()
        return connection

    def abort_attempt(self) -> None:
        """End a connection attempt under way (any thread): paho waits its keepalive (60 s) for a TLS
        handshake the other end never answers, and stopping would wait as long for paho's thread."""
        attempt = self._attempt
        if attempt is not None:
            with contextlib.suppress(OSError):
                attempt.shutdown(socket.SHUT_RDWR)


def _close_abandoned_sockets(err: BaseException) -> None:
    """paho leaves the socket of a failed TLS handshake open (only the exception's frames hold it)."""
    trace = err.__traceback__
    while trace is not None:
        for value in trace.tb_frame.f_locals.values():
            if isinstance(value, socket.socket):
                value.close()
        trace = trace.tb_next


class MqttDestination:
    """One broker connection for one client id; start, publish, stop."""

    def __init__(
        self,
        settings: BrokerSettings,
        *,
        client_id: str,
        listener: DestinationListener,
        will: tuple[str, bytes] | None = None,
        subscriptions: Sequence[str] = (),
        backoff: tuple[int, int] = DEFAULT_BACKOFF,
        max_inflight: int = DEFAULT_INFLIGHT,
    ) -> None:
        self.settings = settings
        self.client_id = client_id
        self.host, self.port = settings.address
        self._listener = listener
        self._will = will
        self._subscriptions = tuple(subscriptions)
        self._backoff = backoff
        self._max_inflight = max_inflight
        self._protocol = MQTTProtocolVersion.MQTTv5
        self._context: ssl.SSLContext | None = None
        self._client: _Client | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = False
        self._reports: collections.deque[tuple[Callable[..., None], tuple[Any, ...]]] = collections.deque()
        self._reports_lock = threading.Lock()
        self._wake_pending = False
        self.connected = False
        self.error: UplinkError | None = None

    async def start(self) -> None:
        """Begin connecting in the background (the listener hears the outcome); raises UplinkConfigError."""
        self._loop = asyncio.get_running_loop()
        self._context = await self._loop.run_in_executor(None, tls_context, self.settings)
        self._start_client()

    def _start_client(self) -> None:
        assert self._context is not None
        v5 = self._protocol is MQTTProtocolVersion.MQTTv5
        client = _Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=self._protocol,
            clean_session=None if v5 else False,
        )
        client.tls_set_context(self._context)
        if self.settings.username is not None:
            client.username_pw_set(self.settings.username, self.settings.password)
        if self._will is not None:
            client.will_set(self._will[0], self._will[1], qos=1, retain=True)
        client.reconnect_delay_set(*self._backoff)
        client.max_inflight_messages_set(self._max_inflight)
        client.connect_timeout = CONNECT_TIMEOUT
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        client.on_socket_open = _no_delay
        properties = None
        if v5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = SESSION_EXPIRY
        client.connect_async(
            self.host,
            self.port,
            KEEPALIVE,
            clean_start=False if v5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
            properties=properties,
        )
        self._client = client
        client.loop_start()

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int:
        """Queue a QoS 1 message; returns its mid (acknowledgements name it). Sent as soon as connected."""
        if self._client is None or self._stopped:
            raise UplinkConnectionError("the destination is not running")
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            raise UplinkConnectionError(f"publish failed: {mqtt.error_string(info.rc)}")
        return info.mid

    async def stop(self) -> None:
        """Disconnect cleanly (no last will) and end paho's thread."""
        self._stopped = True
        self.connected = False
        client, self._client = self._client, None
        if client is None:
            return
        client.disconnect()
        client.abort_attempt()
        await asyncio.get_running_loop().run_in_executor(None, client.loop_stop)

    # --- paho's thread -----------------------------------------------------------------------------------

    def _report(self, callback: Callable[..., None], *args: Any) -> None:
        """Queue a report for the event loop; one wake-up carries every report queued until it runs
        (a burst of acknowledgements is one loop callback, not hundreds)."""
        loop = self._loop
        if loop is None or self._stopped:
            return
        self._reports.append((callback, args))
        with self._reports_lock:
            if self._wake_pending:
                return
            self._wake_pending = True
        with contextlib.suppress(RuntimeError):  # the loop closed while paho still ran
            loop.call_soon_threadsafe(self._deliver)

    def _deliver(self) -> None:
        with self._reports_lock:
            self._wake_pending = False
        reports = self._reports
        while reports:
            callback, args = reports.popleft()
            if not self._stopped:
                callback(*args)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if isinstance(client, _Client):
            client.answered = True
        if not reason.is_failure:
            for topic in self._subscriptions:
                client.subscribe(topic, qos=1)
            self._report(self._connected, None)
            return
        if reason.value == _UNSUPPORTED_PROTOCOL and self._protocol is MQTTProtocolVersion.MQTTv5:
            client.disconnect()
            self._report(self._fall_back, client)
            return
        if reason.value in _AUTH_REFUSALS:
            client.disconnect()  # retrying the same credentials is pointless; wait for new ones
            self._report(self._connected, UplinkAuthError(f"the broker refused the credentials: {reason}"))
            return
        self._report(self._connected, UplinkConnectionError(f"the broker refused the connection: {reason}"))

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        failure = client.last_failure if isinstance(client, _Client) else None
        self._report(self._connected, classify(failure, self.host))

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if isinstance(client, _Client) and not client.answered:
            client.answered = True  # one report per attempt
            error = UplinkConnectionError(f"the broker closed the connection before accepting it ({reason})")
            self._report(self._connected, error)
            return
        self._report(self._disconnected, str(reason))

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason: ReasonCode, properties: Properties
    ) -> None:
        self._report(self._listener.acknowledged, mid, not reason.is_failure)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._report(self._listener.received, message.topic, bytes(message.payload))

    # --- event loop ----------------------------------------------------------------------------------

    def _connected(self, error: UplinkError | None) -> None:
        self.connected = error is None
        if error is None or not isinstance(self.error, UplinkAuthError):
            self.error = error
        self._listener.connection_changed(self.connected, error)

    def _disconnected(self, reason: str) -> None:
        if not self.connected:
            return  # a refused or failed attempt: already reported
        self.connected = False
        self.error = UplinkConnectionError(f"the connection to the broker was lost: {reason}")
        self._listener.connection_changed(False, self.error)

    def _fall_back(self, old: mqtt.Client) -> None:
        """The broker speaks MQTT 3.1.1 only: start over with it (nothing was sent on the v5 attempt)."""
        if self._stopped or old is not self._client:
            return
        self._protocol = MQTTProtocolVersion.MQTTv311
        self._client = None
        assert self._loop is not None
        # paho's thread ends by itself after the disconnect; join it off the loop, then start again.
        task = self._loop.run_in_executor(None, old.loop_stop)
        task.add_done_callback(lambda _: self._restart_after_fallback())

    def _restart_after_fallback(self) -> None:
        if not self._stopped:
            self._start_client()


def _no_delay(client: mqtt.Client, userdata: Any, sock: Any) -> None:
    """Send each packet at once: with Nagle's algorithm a burst of small QoS 1 publishes waits for the
    broker's delayed TCP acknowledgements (40 ms stalls)."""
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def classify(failure: BaseException | None, host: str) -> UplinkError:
    """The uplink error for a failed connection attempt."""
    if isinstance(failure, ssl.SSLCertVerificationError):
        return UplinkTlsError(f"the broker's certificate was not accepted: {failure.verify_message}")
    if isinstance(failure, ssl.SSLError):
        return UplinkTlsError(f"the TLS handshake failed: {getattr(failure, 'reason', None) or failure}")
    if isinstance(failure, socket.gaierror):
        return UplinkConnectionError(f"cannot resolve {host}")
    if isinstance(failure, TimeoutError):
        return UplinkConnectionError(f"{host} did not answer in time")
    if failure is None:
        return UplinkConnectionError(f"cannot connect to {host}")
    reason = failure.strerror if isinstance(failure, OSError) else None
    return UplinkConnectionError(f"cannot connect to {host}: {reason or failure}")


class _Probe:
    """Listener of a one-off connection test."""

    def __init__(self) -> None:
        self.outcome: asyncio.Future[UplinkError | None] = asyncio.get_running_loop().create_future()

    def connection_changed(self, connected: bool, error: UplinkError | None) -> None:
        if not self.outcome.done():
            self.outcome.set_result(error)

    def acknowledged(self, mid: int, accepted: bool) -> None:
        """Nothing is published."""

    def received(self, topic: str, payload: bytes) -> None:
        """Nothing is subscribed."""


async def probe_broker(settings: BrokerSettings, *, client_id: str) -> None:
    """Connect once and disconnect: the check before a configuration is accepted.

    Returns after the first attempt (bound the wait with ``asyncio.timeout``). Uses ``<client_id>-probe``
    so a running sync keeps its session. Raises UplinkConfigError (URL, certificates), UplinkTlsError,
    UplinkAuthError or UplinkConnectionError.
    """
    probe = _Probe()
    destination = MqttDestination(settings, client_id=f"{client_id}-probe", listener=probe)
    try:
        await destination.start()
        error = await probe.outcome
    finally:
        await destination.stop()
    if error is not None:
        raise error
