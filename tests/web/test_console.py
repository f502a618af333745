"""The web console in a real browser: `npm run test:e2e` in web/ (web/e2e/console.e2e.mjs) drives
Debian's chromium headless against a live `ironworks serve` of this checkout.

Needs Node.js with npm and /usr/bin/chromium (scripts/system-packages.txt); without them the
test is skipped, except under CI=true, where it fails. The UI is built first if it is missing
(npm ci, npm run build; ./scripts/test and .ci/run build it beforehand). Screenshots land in
web/e2e-artifacts/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ironworks.api import console

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

pytestmark = pytest.mark.slow


def _missing() -> str | None:
    for program in ("node", "npm"):
        if shutil.which(program) is None:
            return f"{program} is not installed (Node.js 20 and npm build and drive the console)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing: apt-get install chromium (scripts/system-packages.txt)"
    return None


def _npm(*args: str) -> None:
    done = subprocess.run(["npm", *args], cwd=WEB, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"npm {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"


def test_console_in_chromium() -> None:
    why = _missing()
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser test: {why}")
        pytest.skip(why)
    if not (WEB / "node_modules").is_dir():
        _npm("ci", "--no-audit", "--no-fund")
    if not (console.DIST / "index.html").is_file():
        _npm("run", "build")
    program = Path(sys.executable).parent / "ironworks"
    env = {**os.environ, "IRONWORKS_CMD": str(program), "CHROMIUM": CHROMIUM}
    env.setdefault("PYTHONPATH", str(ROOT))  # the server imports this checkout
    done = subprocess.run(
        ["npm", "run", "--silent", "test:e2e"],
        cwd=WEB,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"the browser test failed:\n{done.stdout}\n{done.stderr[-6000:]}"
