"""Repository checks (hassfest/HACS stand-ins from scripts/validate_integration.py), and proof that each
check catches what it is for: every check runs on the real files and on a broken variant."""

from __future__ import annotations

import ast
import copy
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
COMPONENT_DIR = REPO_ROOT / "custom_components" / "sems"


def _load_validator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "validate_integration", REPO_ROOT / "scripts" / "validate_integration.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


validator = _load_validator()


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return _json(COMPONENT_DIR / "manifest.json")


@pytest.fixture(scope="module")
def en() -> dict[str, Any]:
    return _json(COMPONENT_DIR / "translations" / "en.json")


@pytest.fixture(scope="module")
def usage() -> Any:
    return validator.collect_translation_usage()


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


# --- (a) the library never needs Home Assistant -----------------------------------------------------------


def test_library_modules_import_nothing_from_home_assistant() -> None:
    assert validator.library_import_problems() == []


def test_library_import_check_finds_every_way_out(tmp_path: Path) -> None:
    library = _write(
        tmp_path / "plantkit",
        {
            "__init__.py": "",
            "direct.py": "import homeassistant.core\n",
            "sub/__init__.py": "",
            "sub/relative.py": "from ...const import DOMAIN\n",  # plantkit/sub -> plantkit -> the integration
            "absolute.py": "from custom_components.sems.coordinator import SemsCoordinator\n",
            "dynamic.py": "import importlib\nimportlib.import_module('homeassistant.helpers')\n",
            "fine.py": "from .sub import relative\nfrom ..plantkit import direct\nimport asyncio\n",
        },
    )
    problems = validator.library_import_problems(library)
    assert len(problems) == 4, problems
    for culprit in ("direct.py", "relative.py", "absolute.py", "dynamic.py"):
        assert any(culprit in problem for problem in problems), culprit


def test_library_imports_in_an_interpreter_where_home_assistant_cannot_load() -> None:
    assert validator.library_isolated_import_problems() == []


@pytest.mark.parametrize(
    ("library_files", "fails"),
    [
        ({"__init__.py": "from . import codec\n", "codec.py": "import json\n"}, False),
        ({"__init__.py": "", "codec.py": "import homeassistant.const\n"}, True),
        ({"__init__.py": "", "codec.py": "from .. import const\n"}, True),  # the integration's module
    ],
)
def test_isolated_import_check_catches_home_assistant(
    tmp_path: Path, library_files: dict[str, str], fails: bool
) -> None:
    files = {
        "custom_components/__init__.py": "",
        # Must never run: the library is imported as if shipped without the integration.
        "custom_components/sems/__init__.py": "raise RuntimeError('the integration was imported')\n",
        "custom_components/sems/const.py": "DOMAIN = 'sems'\n",
    }
    files |= {f"custom_components/sems/plantkit/{name}": text for name, text in library_files.items()}
    repo = _write(tmp_path, files)
    problems = validator.library_isolated_import_problems(repo_root=repo)
    assert bool(problems) is fails, problems


def test_library_is_typed(tmp_path: Path) -> None:
    assert validator.typed_problems() == []
    assert validator.typed_problems(tmp_path) != []


# --- the simulator states its register maps on its own ----------------------------------------------------

PROFILES_PACKAGE = "custom_components.sems.plantkit.profiles"


def simulator_profile_imports(simulator_dir: Path = REPO_ROOT / "simulator") -> list[str]:
    """Imports of the integration's profiles anywhere in the simulator (its maps must not lean on them)."""
    problems: list[str] = []
    for path in sorted(simulator_dir.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets = [target for target, _ in validator._imported_names(node)]
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                # "from ...plantkit import profiles" names the package as an attribute
                targets += [f"{node.module}.{alias.name}" for alias in node.names]
            found = next((t for t in targets if f"{t}.".startswith(f"{PROFILES_PACKAGE}.")), None)
            if found is not None:
                problems.append(f"{path.relative_to(simulator_dir.parent)}:{node.lineno} imports {found}")
    return problems


def test_simulator_imports_nothing_from_the_profiles() -> None:
    assert simulator_profile_imports() == []


def test_simulator_profile_import_check_finds_every_way_in(tmp_path: Path) -> None:
    simulator = _write(
        tmp_path / "simulator",
        {
            "module.py": "from custom_components.sems.plantkit.profiles.goodwe import EtRun\n",
            "package.py": "from custom_components.sems.plantkit import profiles\n",
            "plain.py": "import custom_components.sems.plantkit.profiles.sunspec_models\n",
            "devices/dynamic.py": (
                "import importlib\nimportlib.import_module('custom_components.sems.plantkit.profiles')\n"
            ),
            "fine.py": "from custom_components.sems.plantkit.registers import DataType, encode\n",
        },
    )
    problems = simulator_profile_imports(simulator)
    assert len(problems) == 4, problems
    for culprit in ("module.py", "package.py", "plain.py", "dynamic.py"):
        assert any(culprit in problem for problem in problems), culprit


# --- test modules share helpers through helper modules, never through each other ------------------------


def imports_of_test_modules(tests_dir: Path = REPO_ROOT / "tests") -> list[str]:
    """Imports of a test module (``test_*.py``) anywhere under ``tests_dir``, relative or absolute, by
    ``from ... import``, ``import`` or ``importlib``: shared helpers belong in helper modules
    (``common.py``, ``lan.py``, ``conftest.py`` fixtures)."""
    root = tests_dir.parent
    problems: list[str] = []
    for path in sorted(tests_dir.rglob("*.py")):
        package = path.relative_to(root).parts[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets = [target for target, _ in validator._imported_names(node)]
            if isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else ()
                module = ".".join((*base, *([node.module] if node.module else [])))
                # "from . import test_x" and "from tests.x import test_y" name the module as an attribute
                targets = [module, *(f"{module}.{alias.name}" for alias in node.names)]
            for target in targets:
                file = root.joinpath(*target.split(".")).with_suffix(".py")
                if file.name.startswith("test_") and file.is_file():
                    problems.append(f"{path.relative_to(root)}:{node.lineno} imports {target}")
                    break
    return problems


def test_test_modules_import_no_other_test_module() -> None:
    assert imports_of_test_modules() == []


def test_test_module_import_check_finds_every_way_in(tmp_path: Path) -> None:
    tests = _write(
        tmp_path / "tests",
        {
            "__init__.py": "",
            "a/__init__.py": "",
            "a/test_one.py": "def helper() -> None: ...\n",
            "a/common.py": "def test_like_name() -> None: ...\n",
            "a/test_relative.py": "from .test_one import helper\n",
            "a/test_package.py": "from . import test_one\n",
            "b/__init__.py": "",
            "b/test_up.py": "from ..a.test_one import helper\n",
            "b/test_absolute.py": "from tests.a.test_one import helper\n",
            "b/test_plain.py": "import tests.a.test_one\n",
            "b/test_attribute.py": "from tests.a import test_one\n",
            "b/test_dynamic.py": "import importlib\nimportlib.import_module('tests.a.test_one')\n",
            "b/test_fine.py": (
                "from ..a.common import test_like_name\nfrom tests.a import common\nimport pytest\n"
            ),
        },
    )
    problems = imports_of_test_modules(tests)
    culprits = ("relative", "package", "up", "absolute", "plain", "attribute", "dynamic")
    assert len(problems) == len(culprits), problems
    for culprit in culprits:
        assert any(f"test_{culprit}.py" in problem for problem in problems), culprit


# --- (b) manifest.json ------------------------------------------------------------------------------------


def test_manifest(manifest: dict[str, Any]) -> None:
    assert validator.manifest_problems(manifest) == []


def _reordered(manifest: dict[str, Any]) -> dict[str, Any]:
    keys = list(manifest)
    return {key: manifest[key] for key in [keys[0], keys[-1], *keys[1:-1]]}


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (_reordered, "sorted"),
        (lambda m: m | {"domain": "sems_local"}, "folder"),
        (lambda m: m | {"version": "one point oh"}, "version"),
        (lambda m: {k: v for k, v in m.items() if k != "version"}, "missing 'version'"),
        (lambda m: m | {"iot_class": "local_pull"}, "iot_class"),
        (lambda m: m | {"integration_type": "plant"}, "integration_type"),
        (lambda m: m | {"config_flow": False}, "config_flow"),
        (lambda m: m | {"codeowners": []}, "codeowners"),
        (lambda m: m | {"documentation": "http://example.invalid"}, "documentation"),
        (lambda m: m | {"issue_tracker": ""}, "issue_tracker"),
        (lambda m: m | {"requirements": ["pysunspec2 == 1.3.7"]}, "space"),
        (lambda m: m | {"requirements": ["pysunspec2=1.3.7"]}, "does not parse"),
    ],
)
def test_manifest_check_catches(manifest: dict[str, Any], breakage: Any, expected: str) -> None:
    problems = validator.manifest_problems(breakage(dict(manifest)))
    assert any(expected in problem for problem in problems), problems


def test_every_third_party_import_is_a_requirement(manifest: dict[str, Any]) -> None:
    assert validator.requirement_coverage_problems(manifest) == []
    without_pyserial = manifest | {
        "requirements": [r for r in manifest["requirements"] if "pyserial" not in r]
    }
    problems = validator.requirement_coverage_problems(without_pyserial)
    assert problems
    assert all("imports serial" in problem for problem in problems)


# --- (c) hacs.json ----------------------------------------------------------------------------------------


def test_hacs_json() -> None:
    hacs = _json(REPO_ROOT / "hacs.json")
    tested = validator.tested_homeassistant_version()
    assert validator.hacs_problems(hacs, tested) == []
    assert (REPO_ROOT / "README.md").is_file()  # HACS shows it (render_readme)
    assert any("domains" in p for p in validator.hacs_problems(hacs | {"domains": ["sensor"]}, tested))
    assert any("newer" in p for p in validator.hacs_problems(hacs | {"homeassistant": "2099.1.0"}, tested))
    assert any("type" in p for p in validator.hacs_problems(hacs | {"render_readme": "yes"}, tested))
    assert any("name" in p for p in validator.hacs_problems({"render_readme": True}, tested))


# --- (d) translations -------------------------------------------------------------------------------------


def test_translations_cover_every_key_the_code_uses(en: dict[str, Any], usage: Any) -> None:
    assert validator.translation_problems(en, usage) == []


def test_translation_usage_is_found(usage: Any) -> None:
    """The collector sees the flows, selectors and entities (an empty collection would prove nothing)."""
    categories = {flow.category for flow in usage.flows}
    assert categories == {"config", "options"}
    config = next(flow for flow in usage.flows if flow.category == "config")
    assert "user" in config.steps
    assert config.steps["user"].fields
    assert config.errors
    assert "already_configured" in config.aborts
    assert usage.selectors
    assert len(usage.entities) >= 10
    assert usage.exceptions


def _leaf_paths(tree: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _leaf_paths(value, (*path, key))
    else:
        yield path


def _without(tree: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    broken = copy.deepcopy(tree)
    node = broken
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return broken


def _optional(path: tuple[str, ...]) -> bool:
    """Step titles and descriptions may be left out: the frontend then shows none."""
    return len(path) == 4 and path[1] == "step" and path[3] in {"title", "description"}


def test_every_translation_is_needed_and_its_removal_is_caught(en: dict[str, Any], usage: Any) -> None:
    """Removing any required string makes the check fail; a string whose removal goes unnoticed is unused."""
    unused = []
    for path in _leaf_paths(en):
        if _optional(path):
            continue
        if not validator.translation_problems(_without(en, path), usage):
            unused.append(".".join(path))
    assert unused == [], "en.json keys no code uses (or the check misses them)"


def test_translation_placeholders_must_be_provided(en: dict[str, Any], usage: Any) -> None:
    key = sorted(usage.exceptions)[0]
    broken = copy.deepcopy(en)
    broken["exceptions"][key]["message"] += " ({not_provided})"
    problems = validator.translation_problems(broken, usage)
    assert any("not_provided" in problem for problem in problems), problems


def test_translations_must_not_use_core_references(en: dict[str, Any], usage: Any) -> None:
    broken = copy.deepcopy(en)
    broken["config"]["abort"]["already_configured"] = "[%key:common::config_flow::abort::already_configured%]"
    assert any("[%key" in problem for problem in validator.translation_problems(broken, usage))


# --- (e) icons.json, (f) quality_scale.yaml, structure ---------------------------------------------------


def test_icons(en: dict[str, Any]) -> None:
    icons = _json(COMPONENT_DIR / "icons.json")
    assert validator.icon_problems(icons, en) == []
    platform, entities = next(iter(icons["entity"].items()))
    key = next(iter(entities))
    broken = copy.deepcopy(icons)
    broken["entity"][platform][key]["default"] = "hass:flash"
    assert any("mdi:" in p for p in validator.icon_problems(broken, en))
    broken = copy.deepcopy(icons)
    broken["entity"][platform]["no_such_sensor"] = {"default": "mdi:flash"}
    assert any("no_such_sensor" in p for p in validator.icon_problems(broken, en))
    broken = copy.deepcopy(icons)
    broken["entity"][platform][key]["state"] = {"on": broken["entity"][platform][key]["default"]}
    assert any("repeats" in p for p in validator.icon_problems(broken, en))


def test_quality_scale() -> None:
    text = (COMPONENT_DIR / "quality_scale.yaml").read_text(encoding="utf-8")
    assert validator.quality_scale_problems(text) == []


def test_quality_scale_check_catches() -> None:
    rules = sorted(validator.QUALITY_SCALE_RULES)
    complete = dict.fromkeys(rules, "done")

    def problems(rules_map: dict[str, Any]) -> list[str]:
        import yaml

        return validator.quality_scale_problems(yaml.safe_dump({"rules": rules_map}))

    assert problems(complete) == []
    assert any(rules[0] in p for p in problems(dict.fromkeys(rules[1:], "done")))
    assert any("not-a-rule" in p for p in problems(complete | {"not-a-rule": "done"}))
    assert any("without a comment" in p for p in problems(complete | {rules[0]: "exempt"}))
    assert any("without a comment" in p for p in problems(complete | {rules[0]: {"status": "exempt"}}))
    assert problems(complete | {rules[0]: {"status": "exempt", "comment": "no such thing here"}}) == []
    assert any("status" in p for p in problems(complete | {rules[0]: "finished"}))


def test_quality_scale_is_fully_decided_and_docs_rules_point_at_the_readme() -> None:
    import yaml

    rules = sorted(validator.QUALITY_SCALE_RULES)
    readme = "# SEMS\n## Configuration\n"

    def problems(rules_map: dict[str, Any]) -> list[str]:
        return validator.quality_scale_problems(yaml.safe_dump({"rules": rules_map}), readme)

    complete: dict[str, Any] = {
        rule: {"status": "done", "comment": 'README "Configuration"'} for rule in rules
    }
    assert problems(complete) == []
    assert any("todo" in p for p in problems(complete | {rules[0]: "todo"}))
    docs = next(rule for rule in rules if rule.startswith("docs-"))
    assert any("names no README" in p for p in problems(complete | {docs: "done"}))
    missing = {"status": "done", "comment": 'README "No such part"'}
    assert any("No such part" in p for p in problems(complete | {docs: missing}))


# The quality-scale rules this repository can check, and the tests that check them.
CHECKED_RULES = {
    "diagnostics": [
        "tests/integration/test_diagnostics.py::test_diagnostics",
        "tests/integration/test_diagnostics.py::test_diagnostics_of_an_entry_retrying_setup",
        "tests/integration/test_diagnostics.py::test_diagnostics_of_an_unloaded_entry",
        "tests/integration/test_diagnostics.py::test_diagnostics_of_a_foreign_entry",
    ],
    "dynamic-devices": [
        "tests/integration/test_dynamic_devices.py::test_a_meter_switched_on_later_gets_its_entities",
    ],
    "stale-devices": [
        "tests/integration/test_init.py::test_stale_devices_are_removed",
        "tests/integration/test_dynamic_devices.py::test_a_meter_taken_away_is_unavailable_removable_and_found_again",
    ],
    "reconfiguration-flow": [
        "tests/integration/test_config_flow.py::test_reconfigure_keeps_entities",
        "tests/integration/test_config_flow.py::test_reconfigure_different_device",
        "tests/integration/test_config_flow.py::test_reconfigure_error_then_recovery",
    ],
    "repair-issues": [
        "tests/integration/test_availability.py::test_repair_issue_after_long_outage_and_gone_on_recovery",
        "tests/integration/test_availability.py::test_repair_issue_removed_on_unload",
        "tests/integration/test_init.py::test_cloud_entry_raises_repair_issue_quietly",
    ],
    "entity-category": [
        "tests/integration/test_sensor.py::test_secondary_quantities_disabled_and_diagnostic",
        "tests/integration/test_faults.py::test_problem_sensors_per_role",
    ],
    "icon-translations": ["tests/test_repo.py::test_every_entity_key_has_an_icon_or_a_device_class"],
    "strict-typing": ["tests/test_repo.py::test_strict_typing"],
    "brands": ["tests/test_repo.py::test_brand_images"],
}


@pytest.mark.parametrize("rule", sorted(CHECKED_RULES))
def test_checkable_rules_are_done_and_checked(rule: str) -> None:
    import yaml

    rules = yaml.safe_load((COMPONENT_DIR / "quality_scale.yaml").read_text(encoding="utf-8"))["rules"]
    value = rules[rule]
    assert (value["status"] if isinstance(value, dict) else value) == "done"
    for test in CHECKED_RULES[rule]:
        path, name = test.split("::")
        tree = ast.parse((REPO_ROOT / path).read_text(encoding="utf-8"))
        defined = {
            node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        assert name in defined, test


def test_every_entity_key_has_an_icon_or_a_device_class(usage: Any) -> None:
    """Icons come from icons.json by translation key; a key without one must have a device class,
    whose icon Home Assistant shows."""
    icons = _json(COMPONENT_DIR / "icons.json")["entity"]
    with_class: set[tuple[str, str]] = set()
    for platform in ("sensor", "binary_sensor", "event"):
        module = importlib.import_module(f"custom_components.sems.{platform}")
        for value in vars(module).values():
            values = value.values() if isinstance(value, dict) else [value]
            for description in values:
                if getattr(description, "device_class", None) and getattr(
                    description, "translation_key", None
                ):
                    with_class.add((platform, description.translation_key))
    missing = [
        f"{platform}.{key}"
        for platform, key in usage.entities
        if key not in icons.get(platform, {}) and (platform, key) not in with_class
    ]
    assert missing == []


def test_strict_typing() -> None:
    """mypy --strict covers the whole component (scripts/test runs it), the library ships py.typed, and
    every entry function takes the typed SemsConfigEntry."""
    import tomllib

    mypy = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert mypy["strict"] is True
    assert "custom_components/sems" in mypy["files"]
    assert validator.typed_problems() == []
    entry_functions = {
        "async_setup_entry",
        "async_unload_entry",
        "async_remove_entry",
        "async_remove_config_entry_device",
        "async_get_config_entry_diagnostics",
        "async_get_options_flow",
    }
    checked = 0
    for path in sorted(COMPONENT_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in entry_functions:
                annotations = [ast.unparse(a.annotation) for a in node.args.args if a.annotation is not None]
                assert "SemsConfigEntry" in annotations, f"{path.name}:{node.lineno} {node.name}"
                checked += 1
    assert checked >= 6


def test_brand_images(tmp_path: Path) -> None:
    """The brand images exist as Home Assistant 2026.3+ and HACS read them, are what scripts/brand.py
    draws, and the check catches wrong ones."""
    assert validator.brand_problems() == []
    brand = _load_script("brand")
    for name, image in brand.images().items():
        with Image.open(COMPONENT_DIR / "brand" / name) as shipped:
            assert shipped.size == image.size, name
            assert shipped.convert("RGBA").tobytes() == image.convert("RGBA").tobytes(), name

    component = tmp_path / "sems"
    assert validator.brand_problems(component)  # no brand folder at all
    (component / "brand").mkdir(parents=True)
    Image.new("RGBA", (200, 200), (1, 2, 3, 255)).save(component / "brand" / "icon.png")
    Image.new("RGBA", (600, 100), (1, 2, 3, 255)).save(component / "brand" / "logo.png")
    Image.new("RGBA", (100, 100), (1, 2, 3, 255)).save(component / "brand" / "favicon.png")
    padded = Image.new("RGBA", (512, 512))
    padded.paste((1, 2, 3, 255), (50, 50, 460, 460))
    padded.save(component / "brand" / "icon@2x.png")
    problems = validator.brand_problems(component)
    assert any("icon.png: 200x200" in p for p in problems)
    assert any("logo.png: shortest side 100" in p for p in problems)
    assert any("favicon.png" in p for p in problems)
    assert any("icon@2x.png: not trimmed" in p for p in problems)


def test_hacs_layout(tmp_path: Path) -> None:
    assert validator.hacs_layout_problems() == []
    repo = _write(
        tmp_path,
        {
            "README.md": "# X\n## Installation (HACS)\n## Configuration\n",
            "LICENSE": "All rights reserved.",
            "custom_components/one/manifest.json": json.dumps({"domain": "one"}),
            "custom_components/two/manifest.json": json.dumps({"domain": "other"}),
        },
    )
    problems = validator.hacs_layout_problems(repo)
    assert any("hacs.json is missing" in p for p in problems)
    assert any('no "Troubleshooting" section' in p for p in problems)
    assert any("exactly one integration" in p for p in problems)
    assert any("does not match its domain" in p for p in problems)
    assert any("OSI license" in p for p in problems)


def _load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "scripts" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_component_structure_and_json(tmp_path: Path) -> None:
    assert validator.structure_problems() == []
    assert validator.json_problems() == []
    assert validator.structure_problems(tmp_path)
    _write(tmp_path, {"bad.json": "{'single': 'quotes'}"})
    assert validator.json_problems(tmp_path)


# --- the front door ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "script",
    [
        "scripts/setup",
        "scripts/test",
        "scripts/test-latest-ha",
        "scripts/develop",
        "scripts/browser-test",
        ".ci/run",
    ],
)
def test_scripts_are_executable_bash(script: str) -> None:
    path = REPO_ROOT / script
    assert os.access(path, os.X_OK), f"{script} is not executable"
    assert path.read_text(encoding="utf-8").startswith("#!/usr/bin/env bash\n")
    subprocess.run(["bash", "-n", str(path)], check=True)


def test_readme_names_the_versions_tested() -> None:
    """The README says which Home Assistant is the minimum (hacs.json) and which ones the suite ran on:
    the one running now must be named, so bumping either stack without the README fails on that stack."""
    from homeassistant.const import __version__ as running

    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    minimum = ".".join(_json(REPO_ROOT / "hacs.json")["homeassistant"].split(".")[:2])
    assert f"Home Assistant {minimum} or newer is required" in readme
    assert running in readme


def test_readme_starts_with_the_two_commands() -> None:
    head = (REPO_ROOT / "README.md").read_text(encoding="utf-8")[:2500]
    assert "scripts/develop" in head
    assert "scripts/test" in head


def test_icon_names_exist_in_the_frontend() -> None:
    """A misspelt mdi: name shows no icon at all; the installed frontend lists every valid one."""
    hass_frontend = pytest.importorskip("hass_frontend")
    icon_list = Path(hass_frontend.__file__).parent / "static" / "mdi" / "iconList.json"
    known = {icon["name"] for icon in json.loads(icon_list.read_text(encoding="utf-8"))}
    names: set[str] = set()
    for entities in _json(COMPONENT_DIR / "icons.json")["entity"].values():
        for icon in entities.values():
            names.add(icon["default"])
            names.update(icon.get("state", {}).values())
    assert names
    assert {name.removeprefix("mdi:") for name in names} - known == set()
