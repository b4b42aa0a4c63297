"""Build hook: a wheel (and `pip install .`) carries the built dashboard when npm is present.

Everything else about the package is in pyproject.toml. `build_py` builds `web/` with npm and
copies `web/dist` into the package as `src/dashboard`, where the server looks first
(src/api/routes/dashboard.py). Without npm, or with MINDWIRE_BUILD_DASHBOARD=0, the wheel has
no dashboard and `/` says how to build one. An editable install builds nothing here: it
serves `web/dist` from the source tree, which `make run` builds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

WEB = Path(__file__).resolve().parent / "web"
PACKAGED_DASHBOARD = Path("src", "dashboard")
"""Where the wheel carries `web/dist`, relative to the build's library folder."""


def _npm(npm: str, *args: str) -> None:
    result = subprocess.run(
        [npm, *args], cwd=WEB, capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode != 0:
        raise SystemExit(
            f"`npm {' '.join(args)}` in {WEB} failed (set MINDWIRE_BUILD_DASHBOARD=0 to build "
            f"without the dashboard):\n{result.stdout}\n{result.stderr}"
        )


def build_dashboard() -> Path | None:
    """`web/dist`, freshly built; None when there is nothing to build it with or from."""
    if os.environ.get("MINDWIRE_BUILD_DASHBOARD") == "0":
        print("MINDWIRE_BUILD_DASHBOARD=0: building without the dashboard")
        return None
    npm = shutil.which("npm")
    if npm is None:
        print("npm not found: building without the dashboard (install Node.js 20+ for /)")
        return None
    if not (WEB / "package.json").is_file():
        print(f"{WEB} is missing: building without the dashboard")
        return None
    _npm(npm, "ci", "--no-audit", "--no-fund")
    _npm(npm, "run", "build")
    return WEB / "dist"


class BuildPyWithDashboard(build_py):
    """`build_py`, then the built dashboard copied in as package data."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / PACKAGED_DASHBOARD
        shutil.rmtree(target, ignore_errors=True)  # never a stale page from an earlier build
        dist = build_dashboard()
        if dist is not None:
            shutil.copytree(dist, target)


setup(cmdclass={"build_py": BuildPyWithDashboard})
