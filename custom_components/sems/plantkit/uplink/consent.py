"""Consent: what the user agreed to send, where, how often; nothing is collected without a covering one.

``SyncTerms`` is what a user chooses (destination, plant id, categories, resolution, device reference);
``Consent`` is the record of agreeing to exactly those terms under one schema version. A consent covers
only its own terms: a change of destination, categories, resolution, device reference or schema leaves the
sync paused until the user agrees again (privacy policy §1.1, consent before collection).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .messages import (
    DEFAULT_RESOLUTION,
    RESOLUTIONS,
    SCHEMA,
    Category,
    DeviceRef,
    consent_payload,
    valid_plant_id,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncTerms:
    """What leaves the LAN, to where, how often. ``categories`` are sorted, without duplicates."""

    destination: str  # the broker URL, mqtts://host:port
    plant: str
    categories: tuple[Category, ...]
    resolution: int = DEFAULT_RESOLUTION
    device_ref: DeviceRef = DeviceRef.PSEUDONYM

    @classmethod
    def create(
        cls,
        *,
        destination: str,
        plant: str,
        categories: Iterable[Category | str],
        resolution: int = DEFAULT_RESOLUTION,
        device_ref: DeviceRef | str = DeviceRef.PSEUDONYM,
    ) -> SyncTerms:
        """Normalised terms; raises ValueError for an unknown category, resolution or plant id."""
        if not valid_plant_id(plant):
            raise ValueError(f"invalid plant id {plant!r}")
        if int(resolution) not in RESOLUTIONS:
            raise ValueError(f"resolution {resolution} is not one of {RESOLUTIONS}")
        chosen = tuple(sorted({Category(category) for category in categories}))
        return cls(
            destination=destination,
            plant=plant,
            categories=chosen,
            resolution=int(resolution),
            device_ref=DeviceRef(device_ref),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "destination": self.destination,
            "plant": self.plant,
            "categories": [str(category) for category in self.categories],
            "resolution": self.resolution,
            "device_ref": str(self.device_ref),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SyncTerms:
        """The inverse of ``to_dict``; raises KeyError/TypeError/ValueError when malformed."""
        return cls.create(
            destination=str(data["destination"]),
            plant=str(data["plant"]),
            categories=data["categories"],
            resolution=int(data["resolution"]),
            device_ref=str(data["device_ref"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Consent:
    """The record of agreeing to ``terms``: when, by whom (kept locally only), under which schema."""

    consent_id: str
    granted_at: datetime
    terms: SyncTerms
    schema: str = SCHEMA
    user_id: str | None = None  # the Home Assistant user; shown in diagnostics, never published
    user_name: str | None = None

    @classmethod
    def grant(
        cls, terms: SyncTerms, *, at: datetime, user_id: str | None = None, user_name: str | None = None
    ) -> Consent:
        """A new consent (a fresh id) to ``terms`` under the current schema."""
        return cls(
            consent_id=str(uuid.uuid4()), granted_at=at, terms=terms, user_id=user_id, user_name=user_name
        )

    def covers(self, terms: SyncTerms) -> bool:
        """True when this consent was given for exactly these terms and the current schema."""
        return self.schema == SCHEMA and self.terms == terms

    def payload(self) -> dict[str, Any]:
        """The retained record published on ``…/consent`` (no user, no destination)."""
        return consent_payload(
            plant=self.terms.plant,
            consent_id=self.consent_id,
            granted_at=self.granted_at,
            categories=self.terms.categories,
            resolution=self.terms.resolution,
            device_ref=self.terms.device_ref,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (stored with the config entry, shown in diagnostics)."""
        return {
            "consent_id": self.consent_id,
            "granted_at": self.granted_at.isoformat(),
            "schema": self.schema,
            "user_id": self.user_id,
            "user_name": self.user_name,
            **self.terms.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Consent:
        """The inverse of ``to_dict``; raises KeyError/TypeError/ValueError when malformed."""
        granted_at = datetime.fromisoformat(str(data["granted_at"]))
        if granted_at.tzinfo is None:
            raise ValueError("granted_at has no time zone")
        return cls(
            consent_id=str(data["consent_id"]),
            granted_at=granted_at,
            terms=SyncTerms.from_dict(data),
            schema=str(data["schema"]),
            user_id=data.get("user_id"),
            user_name=data.get("user_name"),
        )
