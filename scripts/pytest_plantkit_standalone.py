"""pytest plugin: run the library tests as if plantkit were shipped without the integration.

``scripts/test`` loads it (``-p pytest_plantkit_standalone``) in a small venv that has no Home Assistant.
Importing ``custom_components.sems.plantkit`` normally executes
``custom_components/sems/__init__.py`` first, and that is the integration, which imports Home Assistant.
The library must not need it, so this plugin registers ``custom_components.sems`` as a bare package (its
``__path__`` only, ``__init__`` not run) before any test module is imported, and makes any import of
``homeassistant`` fail loudly instead of depending on whatever happens to be installed.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "custom_components.sems"


class _HomeAssistantBlocker(importlib.abc.MetaPathFinder):
    """Refuses ``homeassistant`` so a library test that pulls it in fails with a clear message."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == "homeassistant" or fullname.startswith("homeassistant."):
            raise ImportError(
                f"{fullname} imported in a standalone plantkit run: the library must not need it"
            )
        return None


def _register_bare_package() -> None:
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    import custom_components

    package = types.ModuleType(PACKAGE)
    package.__path__ = [str(REPO_ROOT / "custom_components" / "sems")]
    package.__package__ = PACKAGE
    sys.modules[PACKAGE] = package
    custom_components.sems = package  # type: ignore[attr-defined]


sys.meta_path.insert(0, _HomeAssistantBlocker())
_register_bare_package()
