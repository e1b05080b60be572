"""The integration's JSON/YAML files agree with the code (what hassfest would check, and more)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from custom_components.sems.config_flow import CONNECTION_SCHEMA, TRANSPORT_CHOICES
from custom_components.sems.const import PollPreset
from custom_components.sems.plantkit.model import Quantity
from custom_components.sems.sensor import STATUS_OPTIONS

COMPONENT = Path(__file__).parents[2] / "custom_components" / "sems"
FLOW_ERRORS = {
    "cannot_connect",
    "timeout",
    "not_supported",
    "invalid_host",
    "invalid_port",
    "invalid_unit",
    "unknown",
}
# already_in_progress: async_set_unique_id aborts a second flow for the same device.
# not_supported / cannot_connect: a discovered device that answers as nothing known / does not answer.
FLOW_ABORTS = {
    "already_configured",
    "already_in_progress",
    "reconfigure_successful",
    "different_device",
    "not_supported",
    "cannot_connect",
}
# Every rule id of the Integration Quality Scale (developers.home-assistant, hassfest ALL_RULES, 2026-08).
QUALITY_RULES = {
    "action-setup", "appropriate-polling", "brands", "common-modules", "config-flow-test-coverage",
    "config-flow", "dependency-transparency", "docs-actions", "docs-conditions", "docs-triggers",
    "docs-high-level-description", "docs-installation-instructions", "docs-removal-instructions",
    "entity-event-setup", "entity-unique-id", "has-entity-name", "runtime-data", "test-before-configure",
    "test-before-setup", "unique-config-entry", "action-exceptions", "config-entry-unloading",
    "docs-configuration-parameters", "docs-installation-parameters", "entity-unavailable",
    "integration-owner", "log-when-unavailable", "parallel-updates", "reauthentication-flow",
    "test-coverage", "devices", "diagnostics", "discovery", "discovery-update-info", "docs-data-update",
    "docs-examples", "docs-known-limitations", "docs-supported-devices", "docs-supported-functions",
    "docs-troubleshooting", "docs-use-cases", "dynamic-devices", "entity-category", "entity-device-class",
    "entity-disabled-by-default", "entity-translations", "exception-translations", "icon-translations",
    "reconfiguration-flow", "repair-issues", "stale-devices", "async-dependency", "inject-websession",
    "strict-typing",
}  # fmt: skip


def load_json(name: str) -> dict[str, Any]:
    return json.loads((COMPONENT / name).read_text(encoding="utf-8"))


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"{(\w+)}", text))


def test_manifest() -> None:
    """hassfest's custom-integration rules: key order, version, requirements our two HA targets accept."""
    manifest = load_json("manifest.json")
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    assert manifest["domain"] == COMPONENT.name == "sems"
    assert manifest["config_flow"] is True
    assert manifest["iot_class"] == "local_polling"
    assert manifest["integration_type"] == "hub"
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    assert manifest["codeowners"]
    assert "pymodbus>=3.8.3,<3.14" in manifest["requirements"]


def test_config_translations_cover_the_flow() -> None:
    """Every form field has a label and a description; every error and abort has text."""
    config = load_json("translations/en.json")["config"]
    fields = {str(key) for key in CONNECTION_SCHEMA.schema}
    for step in ("user", "reconfigure"):
        assert set(config["step"][step]["data"]) == fields
        assert set(config["step"][step]["data_description"]) == fields
    assert set(config["error"]) == FLOW_ERRORS
    assert set(config["abort"]) == FLOW_ABORTS


def test_options_and_selector_translations() -> None:
    strings = load_json("translations/en.json")
    init = strings["options"]["step"]["init"]
    assert set(init["data"]) == set(init["data_description"]) == {"poll_preset", "unavailable_after"}
    assert placeholders(init["description"] + init["data_description"]["poll_preset"]) == {
        "normal",
        "fast",
        "gentle",
        "dongle_safe",
    }
    assert set(strings["selector"]["transport"]["options"]) == set(TRANSPORT_CHOICES)
    assert set(strings["selector"]["poll_preset"]["options"]) == {str(p) for p in PollPreset}


def test_entity_translations() -> None:
    """A name for every canonical quantity and the status sensor, and a text for every status."""
    sensors = load_json("translations/en.json")["entity"]["sensor"]
    assert set(sensors) == {str(q) for q in Quantity} | {"status"}
    assert all(sensor["name"] for sensor in sensors.values())
    assert set(sensors["status"]["state"]) == set(STATUS_OPTIONS)


def test_exception_and_issue_translations() -> None:
    strings = load_json("translations/en.json")
    assert placeholders(strings["exceptions"]["cannot_connect"]["message"]) == {"endpoint", "error"}
    assert placeholders(strings["exceptions"]["communication_error"]["message"]) == {"error"}
    issue = strings["issues"]["cloud_entry"]
    assert placeholders(issue["title"] + issue["description"]) == {"title"}


def test_icons() -> None:
    """hassfest's icon rules; names checked against the frontend's icon list when it is installed."""
    icons = load_json("icons.json")["entity"]["sensor"]
    translated = set(load_json("translations/en.json")["entity"]["sensor"])
    assert set(icons) <= translated
    names = [icon["default"] for icon in icons.values()]
    for key, icon in icons.items():
        for state, state_icon in icon.get("state", {}).items():
            assert state in STATUS_OPTIONS, (key, state)
            assert state_icon != icon["default"], (key, state)
            names.append(state_icon)
    assert all(name.startswith("mdi:") for name in names)

    hass_frontend = pytest.importorskip("hass_frontend")
    icon_list = Path(hass_frontend.__file__).parent / "static" / "mdi" / "iconList.json"
    known = {icon["name"] for icon in json.loads(icon_list.read_text())}
    assert {name.removeprefix("mdi:") for name in names} <= known


def test_quality_scale() -> None:
    """Every rule is listed once; exemptions say why."""
    rules = yaml.safe_load((COMPONENT / "quality_scale.yaml").read_text())["rules"]
    assert set(rules) == QUALITY_RULES
    for rule, value in rules.items():
        status = value if isinstance(value, str) else value["status"]
        assert status in ("done", "todo", "exempt"), rule
        if status == "exempt":
            assert value["comment"], rule
