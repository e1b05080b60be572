"""Repository checks that stand in for hassfest and the HACS action, which cannot run here.

Run ``.venv/bin/python scripts/validate_integration.py`` for a report; ``tests/test_repo.py`` runs every
check in the test suite and proves each one catches what it is for. Every check returns a list of
problems (empty = fine) so the tests can feed them broken inputs.

What is checked (see each function):
- the library ``plantkit`` never imports Home Assistant or the integration around it,
- manifest.json as hassfest and HACS want it,
- every third-party import of the component is covered by a manifest requirement,
- hacs.json against the HACS schema,
- translations/en.json covers every key the code uses (flows, selectors, entities, exceptions, issues),
- icons.json, quality_scale.yaml (every rule decided; docs rules point at README sections), py.typed,
  valid JSON,
- HACS: the repository layout (one integration in custom_components/, hacs.json and README at the
  root, an OSI license, the README sections HACS users look for) and the brand images Home Assistant
  2026.3+ reads from ``custom_components/<domain>/brand/`` (HACS' brands check passes on
  ``brand/icon.png``; the sizes are those of home-assistant/brands).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path
from types import ModuleType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DOMAIN = "sems"
COMPONENT_DIR = REPO_ROOT / "custom_components" / DOMAIN
LIBRARY_NAME = "plantkit"
LIBRARY_DIR = COMPONENT_DIR / LIBRARY_NAME
COMPONENT_PACKAGE = f"custom_components.{DOMAIN}"
LIBRARY_PACKAGE = f"{COMPONENT_PACKAGE}.{LIBRARY_NAME}"

# hassfest's values (script/hassfest/manifest.py) and HA's loader (homeassistant/loader.py).
IOT_CLASSES = {"assumed_state", "calculated", "cloud_polling", "cloud_push", "local_polling", "local_push"}
INTEGRATION_TYPES = {"device", "entity", "hardware", "helper", "hub", "service", "system", "virtual"}
MANIFEST_REQUIRED = (
    "domain", "name", "codeowners", "config_flow", "documentation", "integration_type", "iot_class",
    "issue_tracker", "requirements", "version",
)  # fmt: skip

# hacs/integration custom_components/hacs/utils/validate.py: HACS_MANIFEST_JSON_SCHEMA (extra keys fail).
HACS_KEYS: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "content_in_root": bool,
    "zip_release": bool,
    "filename": str,
    "hide_default_branch": bool,
    "country": (str, list),
    "homeassistant": str,
    "hacs": str,
    "persistent_directory": str,
    "render_readme": bool,
}

# Integration Quality Scale rule ids (developers.home-assistant tiers.json, incl. the 2026-07 additions).
QUALITY_SCALE_RULES = frozenset(
    {
        # Bronze
        "action-setup", "appropriate-polling", "brands", "common-modules", "config-flow-test-coverage",
        "config-flow", "dependency-transparency", "docs-actions", "docs-conditions", "docs-triggers",
        "docs-high-level-description", "docs-installation-instructions", "docs-removal-instructions",
        "entity-event-setup", "entity-unique-id", "has-entity-name", "runtime-data", "test-before-configure",
        "test-before-setup", "unique-config-entry",
        # Silver
        "action-exceptions", "config-entry-unloading", "docs-configuration-parameters",
        "docs-installation-parameters", "entity-unavailable", "integration-owner", "log-when-unavailable",
        "parallel-updates", "reauthentication-flow", "test-coverage",
        # Gold
        "devices", "diagnostics", "discovery", "discovery-update-info", "docs-data-update", "docs-examples",
        "docs-known-limitations", "docs-supported-devices", "docs-supported-functions",
        "docs-troubleshooting", "docs-use-cases", "dynamic-devices", "entity-category", "entity-device-class",
        "entity-disabled-by-default", "entity-translations", "exception-translations", "icon-translations",
        "reconfiguration-flow", "repair-issues", "stale-devices",
        # Platinum
        "async-dependency", "inject-websession", "strict-typing",
    }
)  # fmt: skip
QUALITY_SCALE_STATUSES = {"done", "todo", "exempt"}
# A rule whose comment names a README section: 'README "Section"' (docs-* rules must).
README_SECTION = re.compile(r'README "([^"]+)"')

# home-assistant/brands' image rules: square icons of exactly these sizes, logos whose shortest side lies
# in these ranges; every image PNG, trimmed (the drawing touches the edges), transparency preferred.
BRAND_ICONS = {"icon.png": 256, "icon@2x.png": 512, "dark_icon.png": 256, "dark_icon@2x.png": 512}
BRAND_LOGOS = {
    "logo.png": (128, 256),
    "logo@2x.png": (256, 512),
    "dark_logo.png": (128, 256),
    "dark_logo@2x.png": (256, 512),
}
# GitHub's license keys HACS accepts (hacs/integration validate/license.py), by the text that names them.
OSI_LICENSES = {
    "Apache License": "apache-2.0",
    "MIT License": "mit",
    "GNU GENERAL PUBLIC LICENSE": "gpl",
    "GNU LESSER GENERAL PUBLIC LICENSE": "lgpl",
    "GNU AFFERO GENERAL PUBLIC LICENSE": "agpl-3.0",
    "Mozilla Public License": "mpl-2.0",
    "BSD 2-Clause": "bsd-2-clause",
    "BSD 3-Clause": "bsd-3-clause",
    "Boost Software License": "bsl-1.0",
    "Eclipse Public License": "epl-2.0",
    "The Unlicense": "unlicense",
    "CC0 1.0": "cc0-1.0",
}
# What a HACS user looks for in the README (hacs/documentation publish/include: "a readme with
# information about how to use it"): how to install, set up, fix and remove it.
README_SECTIONS = ("Installation", "Configuration", "Troubleshooting", "Removal", "Known limitations")

PLACEHOLDER = re.compile(r"\{(\w+)\}")


# --- the library stands alone ---------------------------------------------------------------------------


def library_import_problems(library_dir: Path = LIBRARY_DIR) -> list[str]:
    """Static check: no module of the library imports homeassistant or anything outside the library."""
    problems: list[str] = []
    for path in sorted(library_dir.rglob("*.py")):
        where = path.relative_to(library_dir.parent)
        package = [*LIBRARY_PACKAGE.split("."), *path.relative_to(library_dir).parts[:-1]]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            for target, line in _imported_names(node):
                if target.split(".")[0] == "homeassistant":
                    problems.append(f"{where}:{line} imports {target}")
                elif _inside(target, COMPONENT_PACKAGE) and not _inside(target, LIBRARY_PACKAGE):
                    problems.append(f"{where}:{line} imports {target}, which is outside the library")
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
                if node.level - 1 > len(package) or not _inside(target, LIBRARY_PACKAGE):
                    dots = "." * node.level
                    problems.append(
                        f"{where}:{node.lineno} imports {dots}{node.module or ''}, outside the library"
                    )
    return problems


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _imported_names(node: ast.AST) -> Iterator[tuple[str, int]]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name, node.lineno
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        yield node.module, node.lineno
    elif (
        isinstance(node, ast.Call)
        and _call_name(node) in {"import_module", "__import__"}
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        yield node.args[0].value, node.lineno


_ISOLATED_IMPORT = textwrap.dedent(
    """
    import importlib, importlib.abc, pkgutil, sys, types

    repo_root, package, library = sys.argv[1], sys.argv[2], sys.argv[3]

    class BlockHomeAssistant(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "homeassistant" or name.startswith("homeassistant."):
                raise ImportError("library imported " + name)
            return None

    sys.meta_path.insert(0, BlockHomeAssistant())
    sys.path.insert(0, repo_root)
    parent_name, _, leaf = package.rpartition(".")
    parent = importlib.import_module(parent_name)
    # The integration package without running its __init__ (that is the HA part): as if shipped alone.
    bare = types.ModuleType(package)
    bare.__path__ = [repo_root + "/" + package.replace(".", "/")]
    sys.modules[package] = bare
    setattr(parent, leaf, bare)
    root = importlib.import_module(library)
    for info in pkgutil.walk_packages(root.__path__, library + "."):
        importlib.import_module(info.name)
    outside = sorted(
        name for name in sys.modules
        if name.startswith(package + ".") and not (name == library or name.startswith(library + "."))
    )
    if outside or sys.modules[package] is not bare:
        raise SystemExit("library imported integration modules: " + ", ".join(outside))
    print("imported", sum(1 for name in sys.modules if name.startswith(library)), "library modules")
    """
)


def library_isolated_import_problems(
    repo_root: Path = REPO_ROOT,
    package: str = COMPONENT_PACKAGE,
    library: str = LIBRARY_PACKAGE,
    python: str = sys.executable,
) -> list[str]:
    """Runtime check: import every library module in a fresh interpreter where homeassistant cannot load.

    The interpreter is the caller's, which has Home Assistant installed, so only the blocker stops it.
    """
    # Without pytest-cov's variables: its .pth hook would start coverage in the child with other settings,
    # and the parent then fails to combine that data with its own.
    env = {name: value for name, value in os.environ.items() if not name.startswith("COV_CORE_")}
    result = subprocess.run(
        [python, "-c", _ISOLATED_IMPORT, str(repo_root), package, library],
        capture_output=True,
        text=True,
        cwd=repo_root,
        env=env,
        timeout=120,
        check=False,
    )
    if result.returncode == 0:
        return []
    lines = (result.stderr or result.stdout).strip().splitlines()
    return [f"importing {library} without Home Assistant failed: {lines[-1] if lines else result.returncode}"]


def typed_problems(library_dir: Path = LIBRARY_DIR) -> list[str]:
    """The library is PEP 561 typed."""
    return [] if (library_dir / "py.typed").is_file() else [f"{library_dir.name}/py.typed is missing"]


# --- manifest, requirements, hacs.json --------------------------------------------------------------------


def manifest_problems(manifest: Mapping[str, Any], component_dir: Path = COMPONENT_DIR) -> list[str]:
    """hassfest's and HACS's manifest rules for a custom integration."""
    from awesomeversion import AwesomeVersion, AwesomeVersionStrategy

    problems = [f"manifest.json: missing {key!r}" for key in MANIFEST_REQUIRED if key not in manifest]
    keys = list(manifest)
    expected_order = keys[:2] + sorted(keys[2:]) if keys[:2] == ["domain", "name"] else None
    if keys != expected_order:
        problems.append("manifest.json: keys must be sorted: domain, name, then alphabetically")
    if manifest.get("domain") != component_dir.name:
        problems.append(f"manifest.json: domain {manifest.get('domain')!r} != folder {component_dir.name!r}")
    version = manifest.get("version")
    if not isinstance(version, str) or AwesomeVersion(version).strategy not in {
        AwesomeVersionStrategy.CALVER,
        AwesomeVersionStrategy.SEMVER,
        AwesomeVersionStrategy.SIMPLEVER,
        AwesomeVersionStrategy.BUILDVER,
        AwesomeVersionStrategy.PEP440,
    }:
        problems.append(f"manifest.json: version {version!r} is not one Home Assistant's loader accepts")
    if manifest.get("iot_class") not in IOT_CLASSES:
        problems.append(f"manifest.json: iot_class {manifest.get('iot_class')!r} is not one of {IOT_CLASSES}")
    if manifest.get("integration_type") not in INTEGRATION_TYPES:
        problems.append(f"manifest.json: integration_type {manifest.get('integration_type')!r} is not valid")
    if manifest.get("config_flow") is not True:
        problems.append("manifest.json: config_flow must be true (set up through the UI)")
    if not (component_dir / "config_flow.py").is_file():
        problems.append("config_flow.py is missing")
    owners = manifest.get("codeowners")
    if not owners or not isinstance(owners, list) or not all(str(o).startswith("@") for o in owners):
        problems.append("manifest.json: codeowners must be a non-empty list of @github-names")
    for key in ("documentation", "issue_tracker"):
        if not str(manifest.get(key, "")).startswith("https://"):
            problems.append(f"manifest.json: {key} must be an https URL")
    problems.extend(_requirement_format_problems(manifest.get("requirements")))
    return problems


def _requirement_format_problems(requirements: object) -> list[str]:
    from packaging.requirements import InvalidRequirement, Requirement

    if not isinstance(requirements, list):
        return ["manifest.json: requirements must be a list"]
    problems: list[str] = []
    for text in requirements:
        try:
            Requirement(text)
        except InvalidRequirement:
            problems.append(f"manifest.json: requirement {text!r} does not parse")
            continue
        if " " in text:
            problems.append(f"manifest.json: requirement {text!r} contains a space (hassfest rejects it)")
    return problems


def requirement_coverage_problems(
    manifest: Mapping[str, Any], component_dir: Path = COMPONENT_DIR
) -> list[str]:
    """Every third-party import is a manifest requirement or installed with Home Assistant itself.

    Otherwise a user's install works only if something else happened to install the package.
    "Installed with Home Assistant" means its requirements, transitively, and the modules it stands in
    for: since 2026.9 Home Assistant requires probatio and registers it as ``voluptuous`` when it is
    imported (custom integrations keep ``import voluptuous``; voluptuous itself need not be installed).
    """
    from packaging.requirements import Requirement

    importlib.import_module("homeassistant")  # let it register the modules it stands in for
    provided = {_normalize(Requirement(text).name) for text in manifest.get("requirements", [])}
    provided |= installed_with("homeassistant")
    distributions = packages_distributions()
    problems: list[str] = []
    for path in sorted(component_dir.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for target, line in _imported_names(node):
                top = target.split(".")[0]
                if top in sys.stdlib_module_names or top in {"custom_components", "__future__"}:
                    continue
                names = {top}
                if (registered := sys.modules.get(top)) is not None:
                    names.add(registered.__name__.split(".")[0])  # e.g. voluptuous -> probatio
                dists = {_normalize(d) for name in names for d in distributions.get(name, [])}
                if not dists & provided:
                    problems.append(
                        f"{path.relative_to(component_dir)}:{line} imports {top} "
                        f"(distribution {', '.join(sorted(dists)) or 'not installed'}), not in requirements"
                    )
    return problems


def _normalize(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_with(distribution: str) -> set[str]:
    """The distribution and everything installing it brings (installed requirements, transitively,
    without extras); normalized names."""
    from packaging.requirements import Requirement

    found: set[str] = set()
    pending = [distribution]
    while pending:
        name = _normalize(pending.pop())
        if name in found:
            continue
        found.add(name)
        try:
            texts = requires(name) or []
        except PackageNotFoundError:
            continue
        for text in texts:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return found


def hacs_problems(hacs: Mapping[str, Any], tested_homeassistant: str) -> list[str]:
    """hacs.json against HACS's schema; the minimum HA version must not be newer than the tested one."""
    from awesomeversion import AwesomeVersion

    problems = [f"hacs.json: key {key!r} is not allowed by HACS" for key in hacs if key not in HACS_KEYS]
    for key, value in hacs.items():
        if key in HACS_KEYS and not isinstance(value, HACS_KEYS[key]):
            problems.append(f"hacs.json: {key} has the wrong type ({type(value).__name__})")
    if not isinstance(hacs.get("name"), str) or not hacs.get("name"):
        problems.append("hacs.json: name is required")
    if hacs.get("zip_release") and "filename" not in hacs:
        problems.append("hacs.json: zip_release needs filename")
    if hacs.get("content_in_root"):
        problems.append(
            "hacs.json: content_in_root must not be set: the integration is in custom_components/"
        )
    minimum = hacs.get("homeassistant")
    if minimum is not None and AwesomeVersion(str(minimum)) > AwesomeVersion(tested_homeassistant):
        problems.append(f"hacs.json: homeassistant {minimum} is newer than the tested {tested_homeassistant}")
    return problems


def tested_homeassistant_version(requirements_file: Path = REPO_ROOT / "requirements_test.txt") -> str:
    """The Home Assistant version the test stack pins."""
    match = re.search(r"^homeassistant==(\S+)", requirements_file.read_text(encoding="utf-8"), re.MULTILINE)
    if match is None:
        raise ValueError(f"no homeassistant pin in {requirements_file}")
    return match.group(1)


# --- translations ---------------------------------------------------------------------------------------


@dataclass
class StepUsage:
    """What one flow step shows: its form fields and description placeholders (None = not known)."""

    fields: set[str] | None = None
    placeholders: set[str] | None = field(default_factory=set)
    menu_options: set[str] | None = None


@dataclass
class FlowUsage:
    """The translation keys one flow class uses."""

    category: str  # "config" or "options"
    name: str
    steps: dict[str, StepUsage] = field(default_factory=dict)
    errors: set[str] = field(default_factory=set)
    aborts: set[str] = field(default_factory=set)
    progress: dict[str, set[str] | None] = field(default_factory=dict)  # progress_action -> placeholders
    title_placeholders: set[str] | None = None  # keys of context["title_placeholders"] (flow_title)
    unresolved: list[str] = field(default_factory=list)


@dataclass
class TranslationUsage:
    """Every translation key the component's code uses."""

    flows: list[FlowUsage] = field(default_factory=list)
    selectors: dict[str, set[str]] = field(default_factory=dict)  # selector translation_key -> options
    entities: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (platform, key) -> states
    # (platform, key) -> attribute -> states, from each platform's TRANSLATED_ATTRIBUTES declaration
    attributes: dict[tuple[str, str], dict[str, set[str]]] = field(default_factory=dict)
    devices: dict[str, set[str]] = field(default_factory=dict)  # device name key -> placeholders
    exceptions: dict[str, set[str] | None] = field(default_factory=dict)  # key -> placeholders
    issues: dict[str, tuple[set[str] | None, bool]] = field(
        default_factory=dict
    )  # key -> (placeholders, fixable)
    services: dict[str, set[str]] = field(default_factory=dict)  # service action -> its fields
    unresolved: list[str] = field(default_factory=list)


_CONFIG_FLOW_BASES = {"ConfigFlow"}
_OPTIONS_FLOW_BASES = {"OptionsFlow", "OptionsFlowWithConfigEntry", "OptionsFlowWithReload"}


def collect_translation_usage(component_dir: Path = COMPONENT_DIR) -> TranslationUsage:
    """Read the component's code (its AST, and the modules themselves for computed values)."""
    _ensure_importable()
    usage = TranslationUsage()
    for path in sorted(component_dir.glob("*.py")):
        name = COMPONENT_PACKAGE if path.stem == "__init__" else f"{COMPONENT_PACKAGE}.{path.stem}"
        module = importlib.import_module(name)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        resolver = _Resolver(module, path.name)
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = {_terminal_name(base) for base in node.bases}
                if bases & _CONFIG_FLOW_BASES:
                    usage.flows.append(_flow_usage(node, "config", resolver))
                elif bases & _OPTIONS_FLOW_BASES:
                    usage.flows.append(_flow_usage(node, "options", resolver))
            elif isinstance(node, ast.Call):
                _collect_call(node, resolver, usage)
    _collect_entity_descriptions(component_dir, usage)
    _collect_services(component_dir, usage)
    entity = importlib.import_module(f"{COMPONENT_PACKAGE}.entity")
    for key, placeholders in getattr(entity, "TRANSLATED_DEVICES", {}).items():
        usage.devices[str(key)] = {str(p) for p in placeholders}
    return usage


def _ensure_importable() -> None:
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))


class _Resolver:
    """Turns an expression of the code into its value, evaluated in its module's namespace."""

    def __init__(self, module: ModuleType, filename: str) -> None:
        self.namespace = vars(module)
        self.filename = filename

    def value(self, node: ast.expr, local_assignments: Mapping[str, ast.expr] | None = None) -> Any:
        if isinstance(node, ast.Name) and local_assignments and node.id in local_assignments:
            return self.value(local_assignments[node.id], None)
        expression = ast.Expression(node)
        ast.fix_missing_locations(expression)
        # Our own code, evaluated in its own module: constants, enums, module-level lists and schemas.
        return eval(compile(expression, self.filename, "eval"), dict(self.namespace))

    def text(self, node: ast.expr, local_assignments: Mapping[str, ast.expr] | None = None) -> str | None:
        try:
            value = self.value(node, local_assignments)
        except Exception:
            return None
        return str(value) if isinstance(value, str) else None

    def where(self, node: ast.AST) -> str:
        return f"{self.filename}:{getattr(node, 'lineno', '?')}"


def _terminal_name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def _call_name(node: ast.Call) -> str:
    return _terminal_name(node.func)


def _keyword(node: ast.Call, name: str) -> ast.expr | None:
    return next((kw.value for kw in node.keywords if kw.arg == name), None)


def _local_assignments(function: ast.AST) -> dict[str, ast.expr]:
    assignments: dict[str, ast.expr] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assignments[target.id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            assignments[node.target.id] = node.value
    return assignments


def _flow_usage(cls: ast.ClassDef, category: str, resolver: _Resolver) -> FlowUsage:
    usage = FlowUsage(category, cls.name)
    methods = {n.name for n in cls.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    for function in (n for n in cls.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)):
        local = _local_assignments(function)
        for node in ast.walk(function):
            if isinstance(node, ast.Call):
                _flow_call(node, usage, resolver, local, methods)
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                _flow_errors(node, usage, resolver, local)
                _flow_title(node, usage, resolver, local)
    return usage


def _flow_title(
    node: ast.Assign | ast.AnnAssign, usage: FlowUsage, resolver: _Resolver, local: dict[str, ast.expr]
) -> None:
    """``self.context["title_placeholders"] = {...}``: the flow shows ``flow_title`` with these keys."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    for target in targets:
        if (
            isinstance(target, ast.Subscript)
            and isinstance(target.value, ast.Attribute)
            and target.value.attr == "context"
            and isinstance(target.slice, ast.Constant)
            and target.slice.value == "title_placeholders"
            and node.value is not None
        ):
            usage.title_placeholders = _dict_keys(node.value, resolver, local)


def _flow_call(
    node: ast.Call, usage: FlowUsage, resolver: _Resolver, local: dict[str, ast.expr], methods: set[str]
) -> None:
    name = _call_name(node)
    if name in {"async_show_form", "async_show_menu"}:
        step_node = _keyword(node, "step_id")
        step_id = resolver.text(step_node, local) if step_node is not None else None
        if step_id is None:
            usage.unresolved.append(f"{resolver.where(node)}: step_id is not a constant")
            return
        step = usage.steps.setdefault(step_id, StepUsage())
        placeholders = _keyword(node, "description_placeholders")
        step.placeholders = _dict_keys(placeholders, resolver, local) if placeholders is not None else set()
        if name == "async_show_menu":
            options_node = _keyword(node, "menu_options")
            options = _evaluate(options_node, resolver, local) if options_node is not None else None
            step.menu_options = {str(o) for o in options} if options is not None else None
        else:
            schema = _keyword(node, "data_schema")
            step.fields = _schema_fields(schema, resolver, local) if schema is not None else set()
            if step.fields is None:
                usage.unresolved.append(f"{resolver.where(node)}: cannot tell the fields of step {step_id}")
    elif name == "async_show_progress":
        action = _keyword(node, "progress_action")
        key = resolver.text(action, local) if action is not None else None
        if key is None:
            usage.unresolved.append(f"{resolver.where(node)}: progress_action is not a constant")
            return
        placeholders = _keyword(node, "description_placeholders")
        usage.progress[key] = _dict_keys(placeholders, resolver, local) if placeholders is not None else set()
    elif name == "async_abort":
        reason = _keyword(node, "reason") or (node.args[0] if node.args else None)
        _add_resolved(usage.aborts, reason, resolver, local, usage.unresolved, node)
    elif name in {"_abort_if_unique_id_configured", "_async_abort_entries_match"}:
        usage.aborts.add("already_configured")
    elif name == "_abort_if_unique_id_mismatch":
        reason = _keyword(node, "reason")
        if reason is None:
            usage.aborts.add("unique_id_mismatch")
        else:
            _add_resolved(usage.aborts, reason, resolver, local, usage.unresolved, node)
    elif name == "async_update_reload_and_abort":
        reason = _keyword(node, "reason")
        if reason is not None:
            _add_resolved(usage.aborts, reason, resolver, local, usage.unresolved, node)
        else:  # Home Assistant picks the reason from the flow's source
            if any(m.startswith("async_step_reauth") for m in methods):
                usage.aborts.add("reauth_successful")
            if "async_step_reconfigure" in methods:
                usage.aborts.add("reconfigure_successful")
    elif name == "async_set_unique_id" and usage.category == "config":
        raise_on_progress = _keyword(node, "raise_on_progress")
        if not (isinstance(raise_on_progress, ast.Constant) and raise_on_progress.value is False):
            usage.aborts.add("already_in_progress")  # a second flow for the same device aborts with it


def _flow_errors(
    node: ast.Assign | ast.AnnAssign, usage: FlowUsage, resolver: _Resolver, local: dict[str, ast.expr]
) -> None:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    for target in targets:
        if (
            isinstance(target, ast.Subscript)
            and isinstance(target.value, ast.Name)
            and target.value.id == "errors"
            and node.value is not None
        ):
            _add_resolved(usage.errors, node.value, resolver, local, usage.unresolved, node)
        elif isinstance(target, ast.Name) and target.id == "errors" and isinstance(node.value, ast.Dict):
            for value in node.value.values:
                _add_resolved(usage.errors, value, resolver, local, usage.unresolved, node)


def _add_resolved(
    into: set[str],
    node: ast.expr | None,
    resolver: _Resolver,
    local: dict[str, ast.expr],
    unresolved: list[str],
    where: ast.AST,
) -> None:
    text = resolver.text(node, local) if node is not None else None
    if text is None and node is not None:
        returned = _returned_keys(node, resolver, local)
        if returned:
            into.update(returned)
            return
    if text is None:
        unresolved.append(f"{resolver.where(where)}: translation key is not a constant")
    else:
        into.add(text)


def _returned_keys(node: ast.expr, resolver: _Resolver, local: Mapping[str, ast.expr]) -> set[str]:
    """Keys a value can take when it comes from calls of the component's own functions (directly or run
    in an executor): the string constants those functions return. Empty when that cannot be told."""
    if isinstance(node, ast.Name) and node.id in local:
        node = local[node.id]
    keys: set[str] = set()
    for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
        target = call.args[0] if _call_name(call) == "async_add_executor_job" and call.args else call.func
        function = _evaluate(target, resolver, local) if isinstance(target, ast.Name) else None
        if not inspect.isfunction(function) or not function.__module__.startswith(COMPONENT_PACKAGE):
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
        for returned in (n.value for n in ast.walk(tree) if isinstance(n, ast.Return) and n.value):
            if not isinstance(returned, ast.Constant):
                return set()  # a computed key: cannot be told
            if isinstance(returned.value, str):
                keys.add(returned.value)
    return keys


def _evaluate(node: ast.expr, resolver: _Resolver, local: Mapping[str, ast.expr]) -> Any:
    try:
        return resolver.value(node, local)
    except Exception:
        return None


def _dict_keys(node: ast.expr, resolver: _Resolver, local: Mapping[str, ast.expr]) -> set[str] | None:
    if isinstance(node, ast.Name) and node.id in local:
        return _dict_keys(local[node.id], resolver, {})
    if isinstance(node, ast.Dict):
        keys = [resolver.text(key, local) if key is not None else None for key in node.keys]
        return None if None in keys else {k for k in keys if k is not None}
    value = _evaluate(node, resolver, local)
    return {str(k) for k in value} if isinstance(value, Mapping) else None


def _schema_fields(node: ast.expr, resolver: _Resolver, local: Mapping[str, ast.expr]) -> set[str] | None:
    """Field names of a voluptuous schema expression, following local names and suggested-value helpers."""
    import voluptuous as vol

    if isinstance(node, ast.Name) and node.id in local:
        return _schema_fields(local[node.id], resolver, {})
    if isinstance(node, ast.Call) and _call_name(node) == "add_suggested_values_to_schema" and node.args:
        return _schema_fields(node.args[0], resolver, local)
    if isinstance(node, ast.Call) and _call_name(node) == "Schema" and node.args:
        return _schema_fields(node.args[0], resolver, local)
    if isinstance(node, ast.Dict):
        names: set[str] = set()
        for key in node.keys:
            marker = key.args[0] if isinstance(key, ast.Call) and key.args else key
            text = resolver.text(marker, local) if marker is not None else None
            if text is None:
                return None
            names.add(text)
        return names
    value = _evaluate(node, resolver, local)
    if isinstance(value, vol.Schema) and isinstance(value.schema, Mapping):
        return {str(k.schema) if isinstance(k, vol.Marker) else str(k) for k in value.schema}
    return None


def _collect_call(node: ast.Call, resolver: _Resolver, usage: TranslationUsage) -> None:
    """Selectors, exceptions and repair issues anywhere in the component."""
    name = _call_name(node)
    key_node = _keyword(node, "translation_key")
    if key_node is None:
        return
    key = resolver.text(key_node)
    if name == "SelectSelectorConfig":
        options_node = _keyword(node, "options")
        options = _evaluate(options_node, resolver, {}) if options_node is not None else None
        if key is None or options is None:
            usage.unresolved.append(f"{resolver.where(node)}: selector key or options are not constants")
            return
        values = {str(o["value"]) if isinstance(o, Mapping) else str(o) for o in options}
        usage.selectors.setdefault(key, set()).update(values)
    elif name == "async_create_issue":
        if key is None:
            usage.unresolved.append(f"{resolver.where(node)}: issue translation_key is not a constant")
            return
        placeholders = _keyword(node, "translation_placeholders")
        fixable = _keyword(node, "is_fixable")
        usage.issues[key] = (
            _dict_keys(placeholders, resolver, {}) if placeholders is not None else set(),
            isinstance(fixable, ast.Constant) and fixable.value is True,
        )
    elif _keyword(node, "translation_domain") is not None:
        declared = _declared_exceptions()
        if key is None and declared:
            # A key chosen at run time from the module's declared ones (key -> placeholders).
            for name, placeholders in declared.items():
                previous = usage.exceptions.get(str(name), set())
                usage.exceptions[str(name)] = None if previous is None else previous | set(placeholders)
            return
        if key is None:
            usage.unresolved.append(f"{resolver.where(node)}: exception translation_key is not a constant")
            return
        placeholders = _keyword(node, "translation_placeholders")
        known = _dict_keys(placeholders, resolver, {}) if placeholders is not None else set()
        previous = usage.exceptions.get(key, set())
        usage.exceptions[key] = None if known is None or previous is None else previous | known


def _declared_exceptions() -> dict[str, tuple[str, ...]]:
    """Exception keys the component's modules declare in ``TRANSLATED_EXCEPTIONS`` (key -> placeholders),
    for exceptions whose key is chosen at run time."""
    declared: dict[str, tuple[str, ...]] = {}
    for name, module in list(sys.modules.items()):
        if name == COMPONENT_PACKAGE or name.startswith(f"{COMPONENT_PACKAGE}."):
            declared |= getattr(module, "TRANSLATED_EXCEPTIONS", {})
    return declared


def _collect_entity_descriptions(component_dir: Path, usage: TranslationUsage) -> None:
    """Entity descriptions the platform modules define, including computed ones (imported, not parsed)."""
    from homeassistant.helpers.entity import EntityDescription

    const = importlib.import_module(f"{COMPONENT_PACKAGE}.const")
    for platform in getattr(const, "PLATFORMS", []):
        module = importlib.import_module(f"{COMPONENT_PACKAGE}.{platform}")
        for key, attributes in getattr(module, "TRANSLATED_ATTRIBUTES", {}).items():
            usage.attributes[(str(platform), key)] = {a: {str(s) for s in v} for a, v in attributes.items()}
        for value in vars(module).values():
            for description in _descriptions_in(value, EntityDescription):
                if description.translation_key is None:
                    continue
                states = {str(o) for o in getattr(description, "options", None) or []}
                usage.entities.setdefault((str(platform), description.translation_key), set()).update(states)
        for node in ast.walk(ast.parse((component_dir / f"{platform}.py").read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "_attr_translation_key" for t in node.targets)
                and isinstance(node.value, ast.Constant)
            ):
                usage.entities.setdefault((str(platform), str(node.value.value)), set())


def _collect_services(component_dir: Path, usage: TranslationUsage) -> None:
    """Service actions in services.yaml: each needs a name and description, each field too; a select
    selector with a translation_key needs its options' texts."""
    import yaml

    path = component_dir / "services.yaml"
    services = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    for service, spec in (services or {}).items():
        fields = (spec or {}).get("fields") or {}
        usage.services[str(service)] = {str(name) for name in fields}
        for field_spec in fields.values():
            select = ((field_spec or {}).get("selector") or {}).get("select") or {}
            if "translation_key" in select:
                options = {str(o["value"]) if isinstance(o, Mapping) else str(o) for o in select["options"]}
                usage.selectors.setdefault(str(select["translation_key"]), set()).update(options)


def _descriptions_in(value: object, kind: type) -> Iterator[Any]:
    if isinstance(value, kind):
        yield value
    elif isinstance(value, Mapping):
        yield from (v for v in value.values() if isinstance(v, kind))
    elif isinstance(value, list | tuple):
        yield from (v for v in value if isinstance(v, kind))


def translation_problems(en: Mapping[str, Any], usage: TranslationUsage) -> list[str]:
    """Every key the code uses has English text, with the placeholders the code provides."""
    problems = list(usage.unresolved)
    for flow in usage.flows:
        problems.extend(flow.unresolved)
        problems.extend(_flow_problems(en, flow))
    for key, options in sorted(usage.selectors.items()):
        for option in sorted(options):
            if _get(en, "selector", key, "options", option) is None:
                problems.append(f"selector.{key}.options.{option} is missing")
    for (platform, key), states in sorted(usage.entities.items()):
        if _get(en, "entity", platform, key, "name") is None:
            problems.append(f"entity.{platform}.{key}.name is missing")
        for state in sorted(states):
            if _get(en, "entity", platform, key, "state", state) is None:
                problems.append(f"entity.{platform}.{key}.state.{state} is missing")
    for (platform, key), attributes in sorted(usage.attributes.items()):
        for attribute, states in sorted(attributes.items()):
            path = ("entity", platform, key, "state_attributes", attribute)
            # event_type is named by Home Assistant itself; its states are ours.
            if attribute != "event_type" and _get(en, *path, "name") is None:
                problems.append(f"{'.'.join(path)}.name is missing")
            for state in sorted(states):
                if _get(en, *path, "state", state) is None:
                    problems.append(f"{'.'.join(path)}.state.{state} is missing")
    for key, placeholders in sorted(usage.devices.items()):
        name = _get(en, "device", key, "name")
        if name is None:
            problems.append(f"device.{key}.name is missing")
        else:
            problems.extend(_placeholder_problems(f"device.{key}.name", [name], placeholders))
    for key, placeholders in sorted(usage.exceptions.items()):
        message = _get(en, "exceptions", key, "message")
        if message is None:
            problems.append(f"exceptions.{key}.message is missing")
        else:
            problems.extend(_placeholder_problems(f"exceptions.{key}.message", [message], placeholders))
    for service, fields in sorted(usage.services.items()):
        for part in ("name", "description"):
            if _get(en, "services", service, part) is None:
                problems.append(f"services.{service}.{part} is missing")
            for name in sorted(fields):
                if _get(en, "services", service, "fields", name, part) is None:
                    problems.append(f"services.{service}.fields.{name}.{part} is missing")
    for key, (placeholders, fixable) in sorted(usage.issues.items()):
        texts = [_get(en, "issues", key, part) for part in ("title", "description")]
        if texts[0] is None:
            problems.append(f"issues.{key}.title is missing")
        if texts[1] is None and not fixable:
            problems.append(f"issues.{key}.description is missing")
        problems.extend(_placeholder_problems(f"issues.{key}", [t for t in texts if t], placeholders))
    problems.extend(
        f"{path} uses a [%key:...%] reference, which only core resolves" for path in _references(en)
    )
    return problems


def _flow_problems(en: Mapping[str, Any], flow: FlowUsage) -> list[str]:
    problems: list[str] = []
    prefix = flow.category
    for step_id, step in sorted(flow.steps.items()):
        strings = _get(en, prefix, "step", step_id)
        if not isinstance(strings, Mapping):
            problems.append(f"{prefix}.step.{step_id} is missing ({flow.name})")
            continue
        for name in sorted(step.fields or ()):
            for part in ("data", "data_description"):
                if _get(strings, part, name) is None:
                    problems.append(f"{prefix}.step.{step_id}.{part}.{name} is missing")
        for option in sorted(step.menu_options or ()):
            if _get(strings, "menu_options", option) is None:
                problems.append(f"{prefix}.step.{step_id}.menu_options.{option} is missing")
        texts = [
            strings.get("title"),
            strings.get("description"),
            *dict(strings.get("data_description", {})).values(),
        ]
        problems.extend(
            _placeholder_problems(f"{prefix}.step.{step_id}", [t for t in texts if t], step.placeholders)
        )
    for error in sorted(flow.errors):
        if _get(en, prefix, "error", error) is None:
            problems.append(f"{prefix}.error.{error} is missing ({flow.name})")
    for abort in sorted(flow.aborts):
        if _get(en, prefix, "abort", abort) is None:
            problems.append(f"{prefix}.abort.{abort} is missing ({flow.name})")
    for action, placeholders in sorted(flow.progress.items()):
        text = _get(en, prefix, "progress", action)
        if text is None:
            problems.append(f"{prefix}.progress.{action} is missing ({flow.name})")
        else:
            problems.extend(_placeholder_problems(f"{prefix}.progress.{action}", [text], placeholders))
    if flow.title_placeholders is not None and flow.title_placeholders:
        title = _get(en, prefix, "flow_title")
        if title is None:
            problems.append(f"{prefix}.flow_title is missing ({flow.name})")
        else:
            problems.extend(_placeholder_problems(f"{prefix}.flow_title", [title], flow.title_placeholders))
    return problems


def _placeholder_problems(where: str, texts: Iterable[str], provided: set[str] | None) -> list[str]:
    if provided is None:  # the code builds the placeholders dynamically: cannot compare
        return []
    used = {name for text in texts for name in PLACEHOLDER.findall(str(text))}
    return [f"{where} uses {{{name}}}, which the code does not provide" for name in sorted(used - provided)]


def _get(tree: Mapping[str, Any], *path: str) -> Any:
    node: Any = tree
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _references(tree: Any, path: str = "") -> Iterator[str]:
    if isinstance(tree, Mapping):
        for key, value in tree.items():
            yield from _references(value, f"{path}.{key}" if path else str(key))
    elif isinstance(tree, str) and "[%key:" in tree:
        yield path


def language_problems(en: Mapping[str, Any], other: Mapping[str, Any], language: str) -> list[str]:
    """Another language says everything English says: the same keys, each text non-empty with the same
    placeholders and markdown emphasis."""
    english, translated = dict(_leaves(en)), dict(_leaves(other))
    problems = [f"{language}.json lacks {key}" for key in sorted(set(english) - set(translated))]
    problems += [
        f"{language}.json has {key}, which en.json has not" for key in sorted(set(translated) - set(english))
    ]
    for key in sorted(set(english) & set(translated)):
        text, theirs = str(english[key]), translated[key]
        if not isinstance(theirs, str) or not theirs.strip():
            problems.append(f"{language}.json: {key} is empty")
        elif set(PLACEHOLDER.findall(theirs)) != set(PLACEHOLDER.findall(text)):
            problems.append(f"{language}.json: {key} has placeholders {sorted(PLACEHOLDER.findall(theirs))}")
        elif theirs.count("**") != text.count("**"):
            problems.append(f"{language}.json: {key} lost its **emphasis**")
    return problems


# --- icons, quality scale, JSON -------------------------------------------------------------------------


def icon_problems(icons: Mapping[str, Any], en: Mapping[str, Any]) -> list[str]:
    """hassfest's icon rules: mdi: icons, no state icon equal to the default, only known entity keys."""
    problems = [
        f"icons.json: {path} = {value!r} does not start with 'mdi:'"
        for path, value in _leaves(icons)
        if not str(value).startswith("mdi:")
    ]
    for platform, entities in dict(icons.get("entity", {})).items():
        for key, entry in dict(entities).items():
            if _get(en, "entity", platform, key) is None:
                problems.append(f"icons.json: entity.{platform}.{key} has no translation (unused icon)")
            default = entry.get("default")
            for state, icon in dict(entry.get("state", {})).items():
                if icon == default:
                    problems.append(f"icons.json: entity.{platform}.{key}.state.{state} repeats the default")
    return problems


def _leaves(tree: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(tree, Mapping):
        for key, value in tree.items():
            yield from _leaves(value, f"{path}.{key}" if path else str(key))
    else:
        yield path, tree


def quality_scale_problems(text: str, readme: str | None = None) -> list[str]:
    """quality_scale.yaml lists exactly the rules, each done or exempt with a comment (none left todo);
    with the README, a docs-* rule that is done names a README section that exists."""
    import yaml

    data = yaml.safe_load(text)
    rules = data.get("rules") if isinstance(data, Mapping) else None
    if not isinstance(rules, Mapping):
        return ["quality_scale.yaml: no 'rules' mapping"]
    problems = [
        f"quality_scale.yaml: rule {r} is missing" for r in sorted(QUALITY_SCALE_RULES - rules.keys())
    ]
    problems += [f"quality_scale.yaml: {r} is not a rule" for r in sorted(rules.keys() - QUALITY_SCALE_RULES)]
    for rule, value in rules.items():
        status = value.get("status") if isinstance(value, Mapping) else value
        if status not in QUALITY_SCALE_STATUSES:
            problems.append(f"quality_scale.yaml: {rule} has status {status!r}")
        if isinstance(value, Mapping):
            extra = set(value) - {"status", "comment"}
            if extra:
                problems.append(f"quality_scale.yaml: {rule} has unknown keys {sorted(extra)}")
            if "comment" in value and not str(value["comment"] or "").strip():
                problems.append(f"quality_scale.yaml: {rule} has an empty comment")
        if status == "exempt" and not (
            isinstance(value, Mapping) and str(value.get("comment") or "").strip()
        ):
            problems.append(f"quality_scale.yaml: {rule} is exempt without a comment saying why")
        if status == "todo":
            problems.append(f"quality_scale.yaml: {rule} is still todo (decide: done, or exempt and why)")
        if readme is not None and status == "done" and str(rule).startswith("docs-"):
            comment = str(value.get("comment") or "") if isinstance(value, Mapping) else ""
            sections = README_SECTION.findall(comment)
            if not sections:
                problems.append(f'quality_scale.yaml: {rule} names no README "section"')
            headings = {line.lstrip("#").strip() for line in readme.splitlines() if line.startswith("#")}
            problems += [
                f'quality_scale.yaml: {rule} names README "{name}", which has no such section'
                for name in sections
                if name not in headings
            ]
    return problems


def json_problems(component_dir: Path = COMPONENT_DIR) -> list[str]:
    """Every JSON file parses (hassfest's json plugin)."""
    problems: list[str] = []
    for path in sorted(component_dir.rglob("*.json")):
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except ValueError as err:
            problems.append(f"{path.relative_to(component_dir)}: {err}")
    return problems


def structure_problems(component_dir: Path = COMPONENT_DIR) -> list[str]:
    """Files HACS/hassfest expect, and hassfest's config_schema rule."""
    problems: list[str] = []
    for name in ("manifest.json", "__init__.py", "translations/en.json", "icons.json", "quality_scale.yaml"):
        if not (component_dir / name).is_file():
            problems.append(f"{name} is missing")
    if (component_dir / "strings.json").exists():
        problems.append("strings.json: custom integrations ship translations/en.json only")
    init = component_dir / "__init__.py"
    if init.is_file():
        tree = ast.parse(init.read_text(encoding="utf-8"))
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        assigned = {
            t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)
        }
        if "async_setup" in defined and "CONFIG_SCHEMA" not in assigned:
            problems.append("__init__.py: async_setup needs CONFIG_SCHEMA (hassfest config_schema)")
    return problems


# --- HACS: layout and brand images ----------------------------------------------------------------------


def hacs_layout_problems(repo_root: Path = REPO_ROOT) -> list[str]:
    """The repository as HACS wants an integration's: hacs.json and an information file at the root, one
    integration in custom_components/ named after its manifest domain, an OSI license, a README with
    the sections users look for."""
    problems: list[str] = []
    if not (repo_root / "hacs.json").is_file():
        problems.append("hacs.json is missing at the repository root")
    readme = next((p for p in repo_root.iterdir() if p.name.lower() in {"readme", "readme.md"}), None)
    if readme is None:
        problems.append("README.md is missing at the repository root (HACS' information check)")
    else:
        headings = {
            line.lstrip("#").strip().split(" (")[0] for line in readme.read_text("utf-8").splitlines()
        }
        problems += [f'README.md has no "{name}" section' for name in README_SECTIONS if name not in headings]
    integrations = sorted(
        path for path in (repo_root / "custom_components").glob("*/manifest.json") if path.is_file()
    )
    if len(integrations) != 1:
        problems.append(f"custom_components/ must hold exactly one integration, found {len(integrations)}")
    for manifest in integrations:
        domain = json.loads(manifest.read_text(encoding="utf-8")).get("domain")
        if manifest.parent.name != domain:
            problems.append(f"custom_components/{manifest.parent.name} does not match its domain {domain!r}")
    license_file = next((p for p in repo_root.glob("LICENSE*") if p.is_file()), None)
    text = license_file.read_text(encoding="utf-8", errors="replace")[:2000] if license_file else ""
    if not any(name in text for name in OSI_LICENSES):
        problems.append("LICENSE is missing or not an OSI license HACS recognizes")
    hacs = repo_root / "hacs.json"
    if hacs.is_file() and json.loads(hacs.read_text(encoding="utf-8")).get("zip_release"):
        problems.append("hacs.json: zip_release is set but no release archive is built")
    return problems


def brand_problems(component_dir: Path = COMPONENT_DIR) -> list[str]:
    """brand/ as Home Assistant 2026.3+ reads it (and HACS' brands check): icon.png at least, known
    names only, each image a PNG of the brands repository's size, trimmed to its drawing."""
    from PIL import Image

    brand = component_dir / "brand"
    if not (brand / "icon.png").is_file():
        return ["brand/icon.png is missing (HACS' brands check; Home Assistant 2026.3+ shows it)"]
    problems: list[str] = []
    for path in sorted(brand.iterdir()):
        name = path.name
        if name not in BRAND_ICONS and name not in BRAND_LOGOS:
            problems.append(f"brand/{name}: not an image name Home Assistant reads")
            continue
        with Image.open(path) as image:
            if image.format != "PNG":
                problems.append(f"brand/{name}: not a PNG")
                continue
            if image.mode not in {"RGBA", "RGB", "LA", "P"}:
                problems.append(f"brand/{name}: colour mode {image.mode}")
            width, height = image.size
            if name in BRAND_ICONS and (width, height) != (BRAND_ICONS[name],) * 2:
                problems.append(f"brand/{name}: {width}x{height}, must be {BRAND_ICONS[name]} square")
            if name in BRAND_LOGOS:
                low, high = BRAND_LOGOS[name]
                if not low <= min(width, height) <= high:
                    problems.append(f"brand/{name}: shortest side {min(width, height)} not in {low}-{high}")
            box = image.getchannel("A").getbbox() if image.mode == "RGBA" else (0, 0, width, height)
            if box is None or not ((box[0], box[2]) == (0, width) or (box[1], box[3]) == (0, height)):
                problems.append(f"brand/{name}: not trimmed (empty border around the drawing)")
    for name in ("icon.png", "logo.png"):
        hidpi = name.replace(".png", "@2x.png")
        if (brand / hidpi).is_file() and not (brand / name).is_file():
            problems.append(f"brand/{hidpi} without brand/{name}")
    return problems


# --- running everything ---------------------------------------------------------------------------------


def _load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def all_problems() -> dict[str, list[str]]:
    """Every check against the repository as it is."""
    results: dict[str, list[str]] = {
        "structure": structure_problems(),
        "json": json_problems(),
        "library imports": library_import_problems(),
        "library alone": library_isolated_import_problems(),
        "py.typed": typed_problems(),
    }
    manifest = _load_json(COMPONENT_DIR / "manifest.json")
    results["manifest"] = manifest_problems(manifest)
    results["requirements"] = requirement_coverage_problems(manifest)
    results["hacs.json"] = hacs_problems(_load_json(REPO_ROOT / "hacs.json"), tested_homeassistant_version())
    en = _load_json(COMPONENT_DIR / "translations" / "en.json")
    results["translations"] = translation_problems(en, collect_translation_usage())
    results["languages"] = [
        problem
        for path in sorted((COMPONENT_DIR / "translations").glob("*.json"))
        if path.stem != "en"
        for problem in language_problems(en, _load_json(path), path.stem)
    ]
    icons = COMPONENT_DIR / "icons.json"
    results["icons"] = icon_problems(_load_json(icons), en) if icons.is_file() else ["icons.json is missing"]
    scale = COMPONENT_DIR / "quality_scale.yaml"
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    results["quality scale"] = (
        quality_scale_problems(scale.read_text(encoding="utf-8"), readme) if scale.is_file() else ["missing"]
    )
    results["hacs layout"] = hacs_layout_problems()
    results["brand"] = brand_problems()
    return results


def main() -> int:
    """Print every problem; exit 1 if there is any."""
    failed = False
    for check, problems in all_problems().items():
        print(f"{'ok  ' if not problems else 'FAIL'} {check}")
        for problem in problems:
            print(f"       {problem}")
        failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
