"""The permission table against the PRD's, and the password policy."""

from __future__ import annotations

import pytest

from ironworks.common.errors import InvalidInput
from ironworks.domain import policy
from ironworks.domain.policy import Cell, Role
from ironworks.services.auth import check_password, generate_password

# The PRD's permission table as printed (docs/permissions.md), one line per row: operations, then the cells
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
        ("Sh0rt!", "^the password must have at least 8 characters$"),
        ("alllowercase1", "three of"),
        ("Alice-Secret-1", "the password must not contain the user name$"),
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


# --- whose accounts a department admin manages (#15) ------------------------------------------

D1, D2 = 1, 2  # bob administers D1; D2 is another department
BOB = 10
ACCOUNTS = {  # name: (account, may bob manage it)
    "alice, member of a D1 project": (policy.Account(20, False, frozenset({D1}), None), True),
    "bob himself": (policy.Account(BOB, False, frozenset({D1}), None), True),
    "a peer admin of D1": (policy.Account(21, False, frozenset({D1}), 1), True),
    "carol, member in D2": (policy.Account(30, False, frozenset({D2}), None), False),
    "erin, member in D1 and D2": (policy.Account(31, False, frozenset({D1, D2}), BOB), False),
    "dan, admin of D2": (policy.Account(32, False, frozenset({D2}), None), False),
    "gus, created by bob, nowhere yet": (policy.Account(40, False, frozenset(), BOB), True),
    "fay, created by the admin, nowhere": (policy.Account(41, False, frozenset(), 1), False),
    "a cloud admin in D1": (policy.Account(1, True, frozenset({D1}), None), False),
}


@pytest.mark.parametrize("name", sorted(ACCOUNTS))
@pytest.mark.parametrize("role", list(Role))
def test_who_manages_which_account(role: Role, name: str) -> None:
    account, bob_may = ACCOUNTS[name]
    departments = frozenset({D1}) if role is Role.DEPT_ADMIN else frozenset()
    got = policy.manages_account(BOB, {role}, departments, account)
    expected = {Role.ADMIN: True, Role.DEPT_ADMIN: bob_may}.get(role, False)
    assert got is expected
