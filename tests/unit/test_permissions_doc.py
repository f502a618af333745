"""docs/permissions.md is the permission table as it is in domain/policy.py."""

from __future__ import annotations

from pathlib import Path

from ironworks.domain import policy
from ironworks.domain.policy_doc import WORDS, markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"


def test_the_checked_in_document_is_the_generated_one() -> None:
    assert DOC.read_text(encoding="utf-8") == markdown(), (
        "docs/permissions.md differs from domain/policy.py: run scripts/permissions"
    )


def test_every_rule_is_a_row() -> None:
    text = markdown()
    for rule in policy.RULES:
        cells = " | ".join(WORDS[c] for c in (rule.admin, rule.dept_admin, rule.project))
        assert f"| `{rule.operation}` | {rule.text} | {cells} |" in text
