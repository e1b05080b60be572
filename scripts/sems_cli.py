"""Run plantkit's command line with plantkit as a top-level package, so Home Assistant is not loaded.

The component's folder goes at the end of ``sys.path``: it also holds Home Assistant platform modules
named like standard-library ones (``select.py``), which must not shadow them (asyncio imports ``select``).
"""

import runpy
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1] / "custom_components" / "sems"))
runpy.run_module("plantkit.cli", run_name="__main__", alter_sys=True)
