"""The permission table against the PRD's, and the password policy."""

from __future__ import annotations

import pytest

from ironworks.common.errors import InvalidInput
from ironworks.domain import policy
from ironworks.domain.policy import Cell, Role
from ironworks.services.identity import check_password, generate_password

# The PRD's table (../shared/prd/REQUIREMENTS.md), one line per row: operations, then the cells
# for cloud admin, department admin, project admin/user.
PRD = [
    ("network_scheme:update", "AXX"),
    ("switch:create switch:update switch:delete", "AXX"),
    ("port:create port:update port:delete", "AXX"),
    ("portgroup:create portgroup:update portgroup:delete", "AXX"),
    ("node:create node:import", "AXX"),
    ("node:update node:delete node:power node:maintenance node:export", "AXX"),
    ("flavor:read flavor:create flavor:update flavor:delete", "AXX"),
    ("host:read", "AJJ"),
    ("host:create", "AJJ"),
    ("host:update", "AJJ"),
    ("host:power host:rebuild host:delete host:console", "AJJ"),
    ("host:vnic host:disk host:floating_ip", "AJJ"),
    ("host:nic", "AJJ"),
    ("host:export", "AJJ"),
    ("monitoring:read", "AJJ"),
    ("alarm:read", "AJJ"),
    ("loadbalancer:use", "AJJ"),
    ("billing:update", "AXX"),
    ("audit:read audit:export", "AJJ"),
]
LETTER = {"A": Cell.ALLOW, "J": Cell.JOINED, "X": Cell.DENY}


def test_every_prd_row_is_in_the_table_as_printed() -> None:
    expected = {op: cells for ops, cells in PRD for op in ops.split()}
    prd_rules = {r.operation: r for r in policy.RULES if r.prd}
    assert set(prd_rules) == set(expected)
    for op, cells in expected.items():
        rule = prd_rules[op]
        assert (rule.admin, rule.dept_admin, rule.project) == tuple(LETTER[c] for c in cells), op


@pytest.mark.parametrize(
    ("roles", "operation", "cell"),
    [
        ({Role.MEMBER}, "host:create", Cell.JOINED),
        ({Role.MEMBER}, "node:create", Cell.DENY),
        ({Role.MEMBER, Role.ADMIN}, "node:create", Cell.ALLOW),
        ({Role.DEPT_ADMIN}, "project:create", Cell.DEPT),
        ({Role.PROJECT_ADMIN}, "project:create", Cell.DENY),
        (set(), "host:read", Cell.DENY),
    ],
)
def test_decide_takes_the_most_permissive_role(
    roles: set[Role], operation: str, cell: Cell
) -> None:
    assert policy.decide(operation, roles) is cell


def test_unknown_operation_is_a_bug_not_a_permission() -> None:
    with pytest.raises(KeyError, match="no policy rule"):
        policy.decide("node:teleport", {Role.ADMIN})


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Sh0rt!", "at least 8 characters"),
        ("alllowercase1", "three of"),
        ("Alice-Secret-1", "not containing the user name"),
    ],
)
def test_weak_passwords_are_refused_naming_the_rule(password: str, problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem) as e:
        check_password(password, "alice")
    assert e.value.field == "password"


def test_good_and_generated_passwords_pass() -> None:
    check_password("Corr3ct-Horse", "alice")
    check_password("correct horse 42", "alice")  # lower, digits, others
    for _ in range(20):
        check_password(generate_password(), "admin")


def test_the_table_prints_every_rule() -> None:
    from typer.testing import CliRunner

    from ironworks.cmd.main import app

    out = CliRunner().invoke(app, ["policy", "--markdown"])
    assert out.exit_code == 0, out.output
    lines = out.output.strip().splitlines()
    assert len(lines) == 2 + len(policy.RULES)
    assert "| hosts | `host:create` | create (batch) | ✓ | joined | joined |" in lines
    assert "| nodes | `node:create` | register | ✓ | ✗ | ✗ |" in lines
