"""The vendor registry: one line per vendor, in probing order (cheap, unambiguous signatures first).

Adding a vendor is its folder under ``profiles/`` (register tables, faults, identification and discovery
hints) plus one line here.
"""

from __future__ import annotations

from . import eastron, goodwe, sunspec
from .base import Profile, Vendor

VENDORS: tuple[Vendor, ...] = (
    sunspec.VENDOR,
    goodwe.VENDOR,
    eastron.VENDOR,
)

PROFILES: tuple[Profile, ...] = tuple(profile for vendor in VENDORS for profile in vendor.profiles)
_BY_NAME = {profile.name: profile for profile in PROFILES}


def profile_by_name(name: str) -> Profile:
    """Look up a profile by the name stored in a ``DeviceIdentity``."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown profile {name!r}") from None
