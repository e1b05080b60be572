"""Uplink message schema v1: categories, topics, identifiers and the JSON payloads.

Every message the uplink publishes is built here and described by ``schema/v1.json`` (JSON Schema
2020-12, shipped with the library; the README documents it). Topics, all under one plant:

- ``sems/v1/<plant>/data/<category>``: one message per device, category and period (QoS 1, not retained);
- ``sems/v1/<plant>/consent``: the consent record (retained; an empty retained payload clears it);
- ``sems/v1/<plant>/status``: ``online``/``offline``/``withdrawn`` (retained; ``offline`` is the last will);
- ``sems/v1/<plant>/erase``: the erase request sent on withdrawal (QoS 1);
- ``sems/v1/<plant>/erase/ack``: the receiver's acknowledgement of an erase request.

A data message's ``msg_id`` is derived from plant, device, category and period end only, so a message sent
twice (after a lost acknowledgement, or from the outbox after a restart) carries the same id and a receiver
drops the copy. What a message never contains: location, host names, IP or MAC addresses, Home Assistant
names or ids, credentials. The input (``UplinkSample``) has no field that could carry them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from ..model import Quantity, device_key

SCHEMA: Final = "sems/v1"
TOPIC_ROOT: Final = "sems/v1"
SCHEMA_PATH: Final = Path(__file__).parent / "schema" / "v1.json"

# Period lengths a user may choose, in seconds. Fine-grained meter data shows when a home is empty, so the
# default is 5 minutes; 1 and 15 are offered.
RESOLUTIONS: Final = (60, 300, 900)
DEFAULT_RESOLUTION: Final = 300

# msg_id = UUIDv5(this namespace, "<plant>/<device>/<category>/<period end>"): stable across restarts.
_MSG_NAMESPACE: Final = uuid.UUID("5b0f3a56-6c1e-4f57-9a43-5e6d0c1a2b7d")
_PLANT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_PSEUDONYM_HEX: Final = 20  # 80 bits of HMAC-SHA256: unique within any plant, unlinkable to the serial


class Category(StrEnum):
    """What a user can consent to, each on its own; all are off until chosen (privacy policy §1.5, §1.6)."""

    ENERGY = "energy"  # production and consumption counters (kWh): running total and the period's delta
    POWER = "power"  # production and consumption power (W), PV string voltage and current
    BATTERY = "battery"  # battery power, state of charge/health, voltage, current, temperature, counters
    GRID = "grid"  # grid power, per-phase values, frequency, import/export counters
    STATUS = "status"  # device operating state, inverter temperature
    FAULTS = "faults"  # canonical fault codes active or seen in the period
    PLANT_PROFILE = "plant_profile"  # role, manufacturer, model and reported quantities of each device


# The plant as a whole (house load, net grid and battery, today's self-consumption, installed power) is
# sent as one more device of this role; its key within the plant is the role itself.
PLANT_ROLE: Final = "plant"


def sample_key(serial: str, role: str, instance: str | None = None) -> str:
    """The key of a sample's device within the plant (``model.device_key``; ``PLANT_ROLE`` for the plant)."""
    return PLANT_ROLE if role == PLANT_ROLE else device_key(serial, role, instance)


# Every canonical quantity belongs to exactly one category (a test checks it), so a quantity added to the
# plant model cannot leave the LAN without a category the user consented to.
CATEGORY_QUANTITIES: Final[dict[Category, tuple[Quantity, ...]]] = {
    Category.ENERGY: (
        Quantity.PV_ENERGY_TOTAL,
        Quantity.AC_ENERGY_TOTAL,
        Quantity.PV_ENERGY_TODAY,
        Quantity.LOAD_ENERGY_TOTAL,
        Quantity.LOAD_ENERGY_CALCULATED,
        Quantity.SELF_CONSUMED_ENERGY_TODAY,
    ),
    Category.POWER: (
        Quantity.PV_POWER,
        Quantity.AC_POWER,
        Quantity.LOAD_POWER,
        Quantity.PV1_POWER,
        Quantity.PV2_POWER,
        Quantity.PV1_VOLTAGE,
        Quantity.PV1_CURRENT,
        Quantity.PV2_VOLTAGE,
        Quantity.PV2_CURRENT,
    ),
    Category.BATTERY: (
        Quantity.BATTERY_POWER,
        Quantity.BATTERY_SOC,
        Quantity.BATTERY_SOH,
        Quantity.BATTERY_VOLTAGE,
        Quantity.BATTERY_CURRENT,
        Quantity.BATTERY_TEMPERATURE,
        Quantity.BATTERY_CHARGE_ENERGY_TOTAL,
        Quantity.BATTERY_DISCHARGE_ENERGY_TOTAL,
        Quantity.BATTERY_CHARGE_ENERGY_CALCULATED,
        Quantity.BATTERY_DISCHARGE_ENERGY_CALCULATED,
    ),
    Category.GRID: (
        Quantity.GRID_POWER,
        Quantity.GRID_POWER_L1,
        Quantity.GRID_POWER_L2,
        Quantity.GRID_POWER_L3,
        Quantity.GRID_VOLTAGE_L1,
        Quantity.GRID_VOLTAGE_L2,
        Quantity.GRID_VOLTAGE_L3,
        Quantity.GRID_CURRENT_L1,
        Quantity.GRID_CURRENT_L2,
        Quantity.GRID_CURRENT_L3,
        Quantity.GRID_FREQUENCY,
        Quantity.GRID_IMPORT_ENERGY_TOTAL,
        Quantity.GRID_EXPORT_ENERGY_TOTAL,
        Quantity.GRID_IMPORT_ENERGY_CALCULATED,
        Quantity.GRID_EXPORT_ENERGY_CALCULATED,
    ),
    Category.STATUS: (Quantity.INVERTER_TEMPERATURE,),
    Category.FAULTS: (),
    Category.PLANT_PROFILE: (Quantity.INSTALLED_POWER,),
}
QUANTITY_CATEGORY: Final[dict[Quantity, Category]] = {
    quantity: category for category, quantities in CATEGORY_QUANTITIES.items() for quantity in quantities
}


class DeviceRef(StrEnum):
    """How a message names its device."""

    PSEUDONYM = "pseudonym"  # a keyed hash of the device key: stable, but the serial cannot be derived
    SERIAL = "serial"  # the device key itself (its serial, plus the role for batteries and meters)


class SyncState(StrEnum):
    """What the uplink of an entry is doing, as shown to the user."""

    OFF = "off"  # no consent: nothing is collected, no connection, no file
    ACTIVE = "active"  # consented: collecting, queueing and sending
    PAUSED = "paused"  # the settings changed since the consent: nothing is collected until confirmed
    ERROR = "error"  # consented, but the broker refuses or cannot be reached: queueing, not sending


@dataclass(frozen=True, slots=True, kw_only=True)
class UplinkSample:
    """One fresh reading of one device: the uplink's only input.

    ``values`` are keyed by ``Quantity`` values (``"pv_power"``) in the plant model's units (W, kWh, V, A, Hz,
    °C, %); None means the device did not report the value now. Only values read from the device count:
    a caller must not pass kept or substituted readings (e.g. after a failed poll), since power means are
    built from these samples. Energy quantities are running totals. ``at`` is an aware UTC datetime.
    ``faults`` are canonical fault codes (``plantkit.faults``), ``status`` a ``DeviceStatus`` value.
    """

    device_serial: str
    role: str
    manufacturer: str
    model: str
    at: datetime
    values: Mapping[str, float | None]
    status: str = "unknown"
    faults: Sequence[str] = ()
    instance: str | None = None  # tells apart devices of one role sharing a serial (``DeviceIdentity``)


@dataclass(frozen=True, slots=True)
class Topics:
    """The MQTT topics of one plant."""

    plant: str

    @property
    def base(self) -> str:
        """``sems/v1/<plant>``."""
        return f"{TOPIC_ROOT}/{self.plant}"

    def data(self, category: Category | str) -> str:
        """Where the readings of one category go."""
        return f"{self.base}/data/{category}"

    @property
    def consent(self) -> str:
        """The retained consent record."""
        return f"{self.base}/consent"

    @property
    def status(self) -> str:
        """The retained online/offline/withdrawn state (the last will says offline)."""
        return f"{self.base}/status"

    @property
    def erase(self) -> str:
        """Erase requests."""
        return f"{self.base}/erase"

    @property
    def erase_ack(self) -> str:
        """The receiver's acknowledgements of erase requests."""
        return f"{self.base}/erase/ack"


def valid_plant_id(plant: str) -> bool:
    """1-64 letters, digits, ``_``, ``.`` or ``-``, starting with a letter or digit (no wildcard, no /)."""
    return bool(_PLANT_ID.fullmatch(plant))


def timestamp(moment: datetime) -> str:
    """``2026-06-21T12:05:00Z``: UTC, whole seconds (the schema's timestamp format)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def msg_id(plant: str, device: str, category: Category | str, period_end: datetime | str) -> str:
    """The deterministic id of a data message (a UUIDv5): the same period is always the same message.

    ``period_end`` is a datetime or its ``timestamp`` text.
    """
    end = period_end if isinstance(period_end, str) else timestamp(period_end)
    return str(uuid.uuid5(_MSG_NAMESPACE, f"{plant}/{device}/{category}/{end}"))


def device_reference(ref: str, mode: DeviceRef, key: bytes) -> str:
    """How messages name a device (``ref``: its key within the plant, ``model.device_key``): a keyed hash
    of it (default), or the key itself.

    ``key`` is the entry's secret (never sent); the same key gives the same pseudonym, so the receiver can
    follow a device over time without learning its serial.
    """
    if mode is DeviceRef.SERIAL:
        return ref
    return hmac.new(key, ref.encode(), hashlib.sha256).hexdigest()[:_PSEUDONYM_HEX]


def dumps(payload: Mapping[str, Any]) -> bytes:
    """The wire form of every payload: compact UTF-8 JSON."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def consent_payload(
    *,
    plant: str,
    consent_id: str,
    granted_at: datetime,
    categories: Sequence[Category],
    resolution: int,
    device_ref: DeviceRef,
) -> dict[str, Any]:
    """The retained consent record as published: what was agreed, when; no user, no destination."""
    return {
        "schema": SCHEMA,
        "plant": plant,
        "consent_id": consent_id,
        "granted_at": timestamp(granted_at),
        "categories": sorted(str(category) for category in categories),
        "resolution_s": resolution,
        "device_ref": str(device_ref),
    }


def status_payload(plant: str, state: str) -> dict[str, Any]:
    """``online``, ``offline`` (the last will) or ``withdrawn``."""
    return {"schema": SCHEMA, "plant": plant, "state": state}


def erase_payload(
    *, plant: str, request_id: str, requested_at: datetime, consent_id: str | None
) -> dict[str, Any]:
    """Ask the receiver to erase everything it holds from this plant (privacy policy §5.3)."""
    return {
        "schema": SCHEMA,
        "plant": plant,
        "request_id": request_id,
        "requested_at": timestamp(requested_at),
        "consent_id": consent_id,
        "scope": "plant",
    }


def erase_ack_payload(*, plant: str, request_id: str, acknowledged_at: datetime) -> dict[str, Any]:
    """What a receiver publishes on ``…/erase/ack`` once it has erased the data (for receivers and tests)."""
    return {
        "schema": SCHEMA,
        "plant": plant,
        "request_id": request_id,
        "acknowledged_at": timestamp(acknowledged_at),
    }


def acknowledged_request(payload: bytes) -> str | None:
    """The request id an erase acknowledgement names; None for anything that is not one."""
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        return None
    request_id = data.get("request_id")
    return request_id if isinstance(request_id, str) else None
