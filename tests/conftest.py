"""Fixtures shared by every test directory."""

from __future__ import annotations

from collections.abc import Iterator
from unittest.mock import patch

import pytest


@pytest.fixture
def entity_registry_enabled_by_default() -> Iterator[None]:
    """Enable entities that are disabled by default (phcc 0.13.236 lacks this core fixture)."""
    with patch("homeassistant.helpers.entity.Entity.entity_registry_enabled_default", True):
        yield
