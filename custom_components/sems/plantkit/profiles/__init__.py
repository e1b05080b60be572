"""Device profiles, in probing order (cheap, unambiguous signatures first)."""

from __future__ import annotations

from .base import Profile
from .eastron import EASTRON_PROFILES
from .goodwe import GOODWE_PROFILES
from .sunspec import SUNSPEC_PROFILES

PROFILES: tuple[Profile, ...] = (*SUNSPEC_PROFILES, *GOODWE_PROFILES, *EASTRON_PROFILES)
_BY_NAME = {profile.name: profile for profile in PROFILES}


def profile_by_name(name: str) -> Profile:
    """Look up a profile by the name stored in a ``DeviceIdentity``."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown profile {name!r}") from None
