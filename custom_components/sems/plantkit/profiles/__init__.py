"""The vendor registry: one line per vendor, in probing order (cheap, unambiguous signatures first).

Adding a vendor is its folder under ``profiles/`` (register tables, faults, identification and discovery
hints) plus one line here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from ..faults import FaultSource
from ..model import DeviceIdentity, legacy_details
from . import eastron, goodwe, huawei, sunspec
from .base import Profile, Vendor

VENDORS: tuple[Vendor, ...] = (
    sunspec.VENDOR,
    goodwe.VENDOR,
    eastron.VENDOR,
    huawei.VENDOR,
)

PROFILES: tuple[Profile, ...] = tuple(profile for vendor in VENDORS for profile in vendor.profiles)
FAULT_SOURCES: tuple[FaultSource, ...] = tuple(
    source for vendor in VENDORS for source in vendor.fault_sources
)
_BY_NAME = {profile.name: profile for profile in PROFILES}


async def prepare_stored(items: Iterable[Mapping[str, Any]]) -> None:
    """Run the ``prepare`` hook of each profile the stored identities name (SunSpec reads its model files
    in a worker thread), so ``identity_from_dict`` can then restore them without blocking the event loop.

    Unknown or missing profile names are skipped: ``identity_from_dict`` reports them.
    """
    names = {str(item.get("profile")) for item in items if isinstance(item, Mapping)}
    for name in sorted(names & _BY_NAME.keys()):
        await _BY_NAME[name].prepare()


def identity_from_dict(data: Mapping[str, Any]) -> DeviceIdentity:
    """A stored identity (``DeviceIdentity.to_dict``) with its profile's typed details.

    Raises KeyError for an unknown profile, ValueError/TypeError for malformed data.
    """
    profile = profile_by_name(str(data["profile"]))
    identity = DeviceIdentity.from_dict(data, profile.details_from(data.get("details")))
    if identity.rated_power is None and (rated := legacy_details(data.get("details")).get("rated_power")):
        identity = dataclasses.replace(identity, rated_power=int(rated))  # stored by 0.1 among the details
    return identity


def profile_by_name(name: str) -> Profile:
    """Look up a profile by the name stored in a ``DeviceIdentity``."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown profile {name!r}") from None
