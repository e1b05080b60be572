"""A real Mosquitto for the cloud-sync tests: TLS with a test CA, a password file, an ACL; plus a subscriber.

Used by the library tests (``tests/plantkit``) and the Home Assistant tests (``tests/integration``), so it
imports neither Home Assistant nor the integration. Everything stays on 127.0.0.1 and in a temporary
directory; the broker is a child process that every test stops (``stop`` in a ``finally``).

- ``Pki``: a CA, a server certificate for 127.0.0.1/localhost, a client certificate, and an unrelated CA
  (the "wrong CA" a user might paste), made with ``cryptography`` (EC P-256: fast).
- ``Broker``: ``mosquitto -c <conf>`` on a free port; accounts: the plant client (confined by the ACL to
  ``sems/v1/<plant>/#``) and ``cloud`` (the receiver: reads everything, may answer on ``…/erase/ack``).
  Persistence saves on every change, so a ``kill`` (SIGKILL) keeps sessions and queued messages.
- ``Subscriber``: the receiver's view, a paho client with a persistent session that records every message
  (topic, payload, retain flag) and can answer erase requests.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
HOST = "127.0.0.1"
PLANT = "plant-7"
PLANT_USER = "plant7"
PLANT_PASSWORD = "s3cret-plant7-pw"
CLOUD_USER = "cloud"
CLOUD_PASSWORD = "cloud-receiver-pw"


def _pem(obj: Any) -> str:
    if isinstance(obj, ec.EllipticCurvePrivateKey):
        return obj.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
    return str(obj.public_bytes(serialization.Encoding.PEM).decode())


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool = False,
    san: list[x509.GeneralName] | None = None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass(frozen=True)
class Pki:
    """PEM material of the test CA, the broker, a client, and an unrelated CA."""

    ca: str
    server_cert: str
    server_key: str
    client_cert: str
    client_key: str
    other_ca: str

    @classmethod
    def create(cls) -> Pki:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = _certificate("sems test CA", ca_key, None, ca_key, ca=True)
        server_key = ec.generate_private_key(ec.SECP256R1())
        server = _certificate(
            "sems test broker",
            server_key,
            ca,
            ca_key,
            san=[x509.IPAddress(ipaddress.ip_address(HOST)), x509.DNSName("localhost")],
        )
        client_key = ec.generate_private_key(ec.SECP256R1())
        client = _certificate(PLANT_USER, client_key, ca, ca_key)
        other_key = ec.generate_private_key(ec.SECP256R1())
        other = _certificate("somebody else's CA", other_key, None, other_key, ca=True)
        return cls(
            ca=_pem(ca),
            server_cert=_pem(server),
            server_key=_pem(server_key),
            client_cert=_pem(client),
            client_key=_pem(client_key),
            other_ca=_pem(other),
        )


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Broker:
    """Mosquitto on 127.0.0.1 with TLS (password listener, and a client-certificate listener)."""

    def __init__(
        self,
        directory: Path,
        pki: Pki,
        *,
        plant: str = PLANT,
        save_every_change: bool = True,
    ) -> None:
        self.directory = directory
        self.save_every_change = save_every_change
        self.pki = pki
        self.plant = plant
        self.port = free_port()
        self.cert_port = free_port()  # requires a client certificate; its CN is the user name
        self.process: subprocess.Popen[bytes] | None = None
        self.users = {PLANT_USER: PLANT_PASSWORD, CLOUD_USER: CLOUD_PASSWORD}
        self._write_config()

    @property
    def url(self) -> str:
        """The password listener as the integration's broker URL."""
        return f"mqtts://{HOST}:{self.port}"

    def _write_config(self) -> None:
        d = self.directory
        d.mkdir(parents=True, exist_ok=True)
        (d / "ca.crt").write_text(self.pki.ca)
        (d / "server.crt").write_text(self.pki.server_cert)
        (d / "server.key").write_text(self.pki.server_key)
        passwords = d / "passwords"
        passwords.write_text("")
        for user, password in self.users.items():
            subprocess.run([MOSQUITTO_PASSWD, "-b", str(passwords), user, password], check=True)
        (d / "acl").write_text(
            f"user {PLANT_USER}\n"
            f"topic readwrite sems/v1/{self.plant}/#\n\n"
            f"user {CLOUD_USER}\n"
            "topic read sems/v1/#\n"
            "topic write sems/v1/+/erase/ack\n"
        )
        (d / "data").mkdir(exist_ok=True)
        user = "root" if os.geteuid() == 0 else ""
        tls = f"cafile {d / 'ca.crt'}\ncertfile {d / 'server.crt'}\nkeyfile {d / 'server.key'}\n"
        (d / "mosquitto.conf").write_text(
            (f"user {user}\n" if user else "") + "per_listener_settings false\n"
            "allow_anonymous false\n"
            f"password_file {passwords}\n"
            f"acl_file {d / 'acl'}\n"
            "persistence true\n"
            f"persistence_location {d / 'data'}/\n"
            + ("autosave_interval 1\nautosave_on_changes true\n" if self.save_every_change else "")
            + "max_queued_messages 0\n"
            "max_inflight_messages 0\n"
            f"log_dest file {d / 'mosquitto.log'}\n"
            "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
            f"listener {self.port} {HOST}\n{tls}"
            f"listener {self.cert_port} {HOST}\n{tls}"
            "require_certificate true\nuse_identity_as_username true\n"
        )

    def start(self) -> None:
        """Start (or restart) the broker and wait until both ports accept connections."""
        assert self.process is None
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.directory / "mosquitto.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        for port in (self.port, self.cert_port):
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"mosquitto exited: {self.log()}")
                try:
                    with socket.create_connection((HOST, port), timeout=0.5):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: the broker dies mid-stream, as in a crash."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
            self.process = None

    def stop(self) -> None:
        """Terminate (idempotent); every test calls this in a finally."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
            self.process = None

    def log(self) -> str:
        """What mosquitto logged (for failure messages)."""
        path = self.directory / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""


@dataclass
class Received:
    """One message as the receiver saw it."""

    topic: str
    payload: bytes
    retain: bool

    def json(self) -> Any:
        return json.loads(self.payload)


@dataclass
class Subscriber:
    """The receiver: a paho client (user ``cloud``) recording everything under ``sems/v1/#``.

    ``answer_erase``: publish an erase acknowledgement for every erase request it receives.
    """

    broker: Broker
    answer_erase: bool = False
    client_id: str = "test-receiver"
    messages: list[Received] = field(default_factory=list)
    connected: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _client: mqtt.Client | None = None

    def start(self) -> None:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=MQTTProtocolVersion.MQTTv5
        )
        context = ssl.create_default_context(cadata=self.broker.pki.ca)
        client.tls_set_context(context)
        client.username_pw_set(CLOUD_USER, CLOUD_PASSWORD)
        client.reconnect_delay_set(1, 1)
        client.on_connect = self._on_connect
        client.on_disconnect = lambda *_: self.connected.clear()
        client.on_message = self._on_message
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 3600
        client.connect_async(HOST, self.broker.port, 30, clean_start=False, properties=properties)
        client.loop_start()
        self._client = client
        if not self.connected.wait(10):
            raise TimeoutError("the test receiver did not connect")

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if not reason.is_failure:
            client.subscribe("sems/v1/#", qos=1)
            self.connected.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        received = Received(message.topic, bytes(message.payload), bool(message.retain))
        with self._lock:
            self.messages.append(received)
        if self.answer_erase and message.topic.endswith("/erase") and message.payload:
            request = json.loads(message.payload)
            ack = {
                "schema": "sems/v1",
                "plant": request["plant"],
                "request_id": request["request_id"],
                "acknowledged_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            client.publish(f"{message.topic}/ack", json.dumps(ack), qos=1)

    def stop(self) -> None:
        """Disconnect and end paho's thread (idempotent)."""
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.messages)

    def on(self, suffix: str) -> list[Received]:
        """Messages whose topic ends with ``suffix`` (e.g. ``/status``)."""
        return [m for m in self.snapshot() if m.topic.endswith(suffix)]

    def data(self) -> list[Received]:
        """Data messages, in arrival order."""
        return [m for m in self.snapshot() if "/data/" in m.topic]

    async def wait_for(self, condition: Callable[[list[Received]], bool], seconds: float = 20) -> None:
        """Poll until ``condition(messages)`` holds (asyncio-friendly); TimeoutError after ``seconds``."""
        deadline = time.monotonic() + seconds
        while not condition(self.snapshot()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met; {len(self.snapshot())} messages received")
            await asyncio.sleep(0.05)


class SubscriberProcess:
    """The receiver in a process of its own (for load tests: its work must not count as ours).

    It writes the ``msg_id`` of every data message it receives, one per line, to ``out``.
    """

    def __init__(self, broker: Broker, out: Path) -> None:
        self.broker = broker
        self.out = out
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        ca = self.broker.directory / "ca.crt"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.broker", str(self.broker.port), str(ca), str(self.out)],
            cwd=Path(__file__).resolve().parent.parent,
        )
        deadline = time.monotonic() + 20
        while not self.out.exists():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the receiver process did not start")
            time.sleep(0.05)

    def ids(self) -> list[str]:
        """Every data msg_id received so far (copies included)."""
        return self.out.read_text().split()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


def _receive(port: int, ca: Path, out: Path) -> None:
    """``python -m tests.broker PORT CA OUT``: the body of ``SubscriberProcess``."""
    with out.open("a", buffering=1) as lines:

        def on_message(client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
            if "/data/" in message.topic:
                lines.write(json.loads(message.payload)["msg_id"] + "\n")

        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="receiver-process")
        client.tls_set_context(ssl.create_default_context(cafile=str(ca)))
        client.username_pw_set(CLOUD_USER, CLOUD_PASSWORD)
        client.on_connect = lambda c, *_: (c.subscribe("sems/v1/#", qos=1), out.touch())
        client.on_message = on_message
        client.connect(HOST, port)
        signal.signal(signal.SIGTERM, lambda *_: client.disconnect())
        client.loop_forever()


SCHEMA_FILE = Path(__file__).resolve().parent.parent / "custom_components/sems/plantkit/uplink/schema/v1.json"


def schema_validator(kind: str | None = None) -> Any:
    """A jsonschema validator of ``schema/v1.json``, or of one of its message kinds (``data``, ...)."""
    import jsonschema

    schema = json.loads(SCHEMA_FILE.read_text())
    if kind is not None:
        schema = {key: value for key, value in schema.items() if key != "oneOf"} | {"$ref": f"#/$defs/{kind}"}
    return jsonschema.Draft202012Validator(schema)


def check_published(messages: list[Received], forbidden: Iterator[str] | list[str] = ()) -> None:
    """Every payload valid against the schema (an empty retained consent clears it) and free of
    ``forbidden`` strings; raises AssertionError naming the first bad message."""
    validators: dict[str, Any] = {}
    banned = [text for text in forbidden if text]
    for message in messages:
        if not message.payload:
            assert message.topic.endswith("/consent"), message
            continue
        if message.topic.endswith("/erase/ack"):
            kind = "erase_ack"
        elif "/data/" in message.topic:
            kind = "data"
        else:
            kind = message.topic.rsplit("/", 1)[1]
        payload = message.json()
        validator = validators.get(kind) or validators.setdefault(kind, schema_validator(kind))
        errors = list(validator.iter_errors(payload))
        assert not errors, (message.topic, payload, [e.message for e in errors])
        text = message.payload.decode()
        for word in banned:
            assert word.casefold() not in text.casefold(), (word, message.topic, text)


if __name__ == "__main__":
    _receive(int(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
