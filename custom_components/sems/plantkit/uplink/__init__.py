"""plantkit.uplink: the opt-in cloud uplink (schema v1 messages over MQTT/TLS, durable outbox).

Home Assistant-free and asyncio-native like the rest of plantkit. The pieces:

- ``messages``: categories, topics, ``msg_id``, device pseudonyms and the payloads of schema v1
  (``schema/v1.json``);
- ``aggregate``: 1/5/15-minute periods of fresh samples (power mean/min/max, energy total and delta);
- ``consent``: what the user agreed to; nothing is collected without a consent covering the settings;
- ``outbox``: the SQLite outbox on disk (atomic, ordered, bounded by age and count, counted);
- ``mqtt``: the destination, paho-mqtt 2.x in its own thread, TLS, QoS 1, persistent session;
- ``engine``: ``Uplink`` ties them together; ``Withdrawal`` ends a consent with the receiver.

Input is ``UplinkSample`` (one fresh reading of one device); errors are ``UplinkError`` subclasses.
"""

from __future__ import annotations

from ..exceptions import (
    UplinkAuthError,
    UplinkConfigError,
    UplinkConnectionError,
    UplinkError,
    UplinkStorageError,
    UplinkTlsError,
)
from .consent import Consent, SyncTerms
from .engine import (
    Uplink,
    UplinkConfig,
    UplinkStatus,
    Withdrawal,
    WithdrawalOutcome,
    WithdrawalRequest,
    preview,
)
from .messages import (
    CATEGORY_QUANTITIES,
    DEFAULT_RESOLUTION,
    RESOLUTIONS,
    SCHEMA,
    SCHEMA_PATH,
    Category,
    DeviceRef,
    SyncState,
    Topics,
    UplinkSample,
    valid_plant_id,
)
from .mqtt import BrokerSettings, parse_broker_url, probe_broker
from .outbox import OutboxLimits, OutboxStats

__all__ = [
    "CATEGORY_QUANTITIES",
    "DEFAULT_RESOLUTION",
    "RESOLUTIONS",
    "SCHEMA",
    "SCHEMA_PATH",
    "BrokerSettings",
    "Category",
    "Consent",
    "DeviceRef",
    "OutboxLimits",
    "OutboxStats",
    "SyncState",
    "SyncTerms",
    "Topics",
    "Uplink",
    "UplinkAuthError",
    "UplinkConfig",
    "UplinkConfigError",
    "UplinkConnectionError",
    "UplinkError",
    "UplinkSample",
    "UplinkStatus",
    "UplinkStorageError",
    "UplinkTlsError",
    "Withdrawal",
    "WithdrawalOutcome",
    "WithdrawalRequest",
    "parse_broker_url",
    "preview",
    "probe_broker",
    "valid_plant_id",
]
