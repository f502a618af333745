"""The repository explains itself: the files docs/architecture.md names exist, and nothing
sends a reader outside the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PATH = re.compile(r"`((?:ironworks|ironworks_agent|docs|tests|scripts|bench|deploy)/[\w./-]*)`")


def test_every_file_the_architecture_names_exists() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    named = {p for p in PATH.findall(text) if "widgets" not in p}  # the checklist's example
    assert len(named) > 40
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert missing == [], f"docs/architecture.md names files that do not exist: {missing}"


def test_nothing_sends_a_reader_outside_the_repository() -> None:
    files = subprocess.run(
        ["git", "ls-files", "*.py", "*.md", "*.toml", ".ci/run", "scripts/*"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    outside = [
        f"{name}:{i}"
        for name in files
        if not name.startswith("bench/")  # the benches' default path of the shared harness
        for i, line in enumerate((ROOT / name).read_text(errors="replace").splitlines(), 1)
        if "../shared" in line and name != "tests/unit/test_docs.py"
    ]
    assert outside == []
