"""Every language the integration ships says everything English says: the same keys, the same
placeholders in each text, nothing empty, and really translated (not English copied over)."""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from custom_components.sems.plantkit.profiles import VENDORS

REPO_ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = REPO_ROOT / "custom_components" / "sems" / "translations"
PLACEHOLDER = re.compile(r"\{(\w+)\}")
LANGUAGES = sorted(path.stem for path in TRANSLATIONS.glob("*.json") if path.stem != "en")
# Texts that are the same in every language: placeholders only, product and protocol names.
SAME_EVERYWHERE = re.compile(r"^(\{\w+\}|PV|Modbus TCP|[A-Z0-9 /-]+)$")


def _validator() -> Any:
    if "validate_integration" in sys.modules:
        return sys.modules["validate_integration"]
    spec = importlib.util.spec_from_file_location(
        "validate_integration", REPO_ROOT / "scripts" / "validate_integration.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


validator = _validator()


def load(language: str) -> dict[str, Any]:
    return json.loads((TRANSLATIONS / f"{language}.json").read_text(encoding="utf-8"))


def leaves(tree: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from leaves(value, f"{path}.{key}" if path else key)
    else:
        yield path, tree


def test_vietnamese_is_shipped() -> None:
    """Vietnamese: the home market of SEMS."""
    assert "vi" in LANGUAGES


@pytest.mark.parametrize("language", LANGUAGES)
def test_same_keys_and_placeholders_as_english(language: str) -> None:
    assert validator.language_problems(load("en"), load(language), language) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_really_translated(language: str) -> None:
    english = dict(leaves(load("en")))
    other = dict(leaves(load(language)))
    copied = [k for k, text in english.items() if other[k] == text and not SAME_EVERYWHERE.match(text)]
    assert copied == [], f"{language}: still English"


def test_the_check_catches_a_missing_key_and_a_lost_placeholder() -> None:
    en, vi = load("en"), load("vi")
    broken = copy.deepcopy(vi)
    del broken["config"]["error"]["timeout"]
    broken["config"]["error"]["no_device_at_unit"] = "Không có thiết bị."  # {unit} lost
    broken["issues"]["unreachable"]["description"] = broken["issues"]["unreachable"]["description"].replace(
        "**", ""
    )
    broken["config"]["abort"]["already_configured"] = " "
    broken["config"]["abort"]["extra"] = "Thừa"
    problems = validator.language_problems(en, broken, "vi")
    for expected in (
        "lacks config.error.timeout",
        "no_device_at_unit has placeholders",
        "emphasis",
        "empty",
        "abort.extra",
    ):
        assert any(expected in problem for problem in problems), expected


@pytest.mark.parametrize("language", ["en", *LANGUAGES])
def test_not_supported_names_every_vendor(language: str) -> None:
    """The "not supported" texts name every vendor the integration reads (Huawei was missing)."""
    config = load(language)["config"]
    for text in (config["error"]["not_supported"], config["abort"]["not_supported"]):
        missing = [vendor.name for vendor in VENDORS if vendor.name not in text.casefold()]
        assert missing == [], f"{language}: {text}"
