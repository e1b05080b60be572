"""Fixtures shared by every test directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from unittest.mock import patch

import pytest
from hypothesis import settings

from .broker import Broker, Pki
from .plantkit.lan import TEST_HOSTS, ContactLog

# Property tests draw the same examples on every run (a suite must not fail by chance); run them with
# HYPOTHESIS_PROFILE=explore (and --hypothesis-seed=N to replay a run) to search new examples.
settings.register_profile("ci", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def entity_registry_enabled_by_default() -> Iterator[None]:
    """Enable entities that are disabled by default (phcc 0.13.236 lacks this core fixture)."""
    with patch("homeassistant.helpers.entity.Entity.entity_registry_enabled_default", True):
        yield


# --- a real Mosquitto (tests/broker.py), for the uplink and the cloud-sync tests ---------------------------


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki.create()


@pytest.fixture
def broker(tmp_path: Path, pki: Pki, socket_enabled: None) -> Iterator[Broker]:
    server = Broker(tmp_path / "broker", pki)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def contacts(socket_enabled: None) -> Iterator[ContactLog]:
    """Sockets may reach the 127.0.0.0/28 test hosts only (``plantkit.lan``); every contact is recorded."""
    log = ContactLog()
    log.allow(TEST_HOSTS)
    try:
        yield log
    finally:
        log.uninstall()
