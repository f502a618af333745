"""End-to-end tests: real QEMU VMs in network namespaces. They need root and QEMU, else skip.

Minimal version written with tests/e2e/test_lab.py; the e2e owner may replace it.
"""

from __future__ import annotations

import os
import shutil

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: needs root, QEMU and ipmitool (real VMs)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = [p for p in ("qemu-system-x86_64", "ipmitool", "ip") if shutil.which(p) is None]
    reason = None
    if os.geteuid() != 0:
        reason = "e2e tests need root"
    elif missing:
        reason = f"e2e tests need {', '.join(missing)}"
    if reason:
        for item in items:
            if "e2e" in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))
