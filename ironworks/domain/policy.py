"""Who may do what: the PRD's permission table, as data.

Rows are operations, columns the three kinds of caller the PRD distinguishes: the cloud admin
(role `admin`), a department admin (`dept_admin`), and a project admin or member (`project_admin`,
`member`: one column in the PRD). A cell is ALLOW, JOINED (only on resources of projects the
caller belongs to; a department admin belongs to every project of the departments they
administer) or DENY. The API enforces each endpoint through `decide`; scoping a list to the
caller's projects happens in the query (services), once.

The rows under "Ironworks" are ours: the PRD has no identity pages; a department admin manages
the projects and users of their department (DEPT), a project admin the members of their project.

PRD quirk kept visible: for "hosts: edit" and "hosts: NIC management" the PRD prints "✓ own only"
for the cloud admin; the admin can act on every host anyway, so the cell is ALLOW.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Cell(StrEnum):
    ALLOW = "allow"
    JOINED = "joined"  # only in projects the caller has joined
    DEPT = "dept"  # only in departments the caller administers
    DENY = "deny"


class Role(StrEnum):
    ADMIN = "admin"
    DEPT_ADMIN = "dept_admin"
    PROJECT_ADMIN = "project_admin"
    MEMBER = "member"


# The PRD's columns: project admin and member share one.
COLUMNS = ("admin", "dept_admin", "project")


def column(role: Role) -> str:
    return "project" if role in (Role.PROJECT_ADMIN, Role.MEMBER) else role.value


@dataclass(frozen=True)
class Rule:
    operation: str
    area: str  # the PRD's area, for the table printed in docs and tests
    text: str  # the PRD's words for the operation
    admin: Cell
    dept_admin: Cell
    project: Cell
    prd: bool = True  # a row of the PRD's table (False: Ironworks' own)

    def cell(self, role: Role) -> Cell:
        return getattr(self, column(role))


A, J, D, X = Cell.ALLOW, Cell.JOINED, Cell.DEPT, Cell.DENY

RULES: tuple[Rule, ...] = (
    Rule("network_scheme:update", "network config", "edit network scheme", A, X, X),
    Rule("switch:create", "network config", "add switch", A, X, X),
    Rule("switch:update", "network config", "edit switch", A, X, X),
    Rule("switch:delete", "network config", "delete switch", A, X, X),
    Rule("port:create", "nodes", "create port", A, X, X),
    Rule("port:update", "nodes", "edit port", A, X, X),
    Rule("port:delete", "nodes", "delete port", A, X, X),
    Rule("portgroup:create", "nodes", "create port group", A, X, X),
    Rule("portgroup:update", "nodes", "edit port group, add/remove its ports", A, X, X),
    Rule("portgroup:delete", "nodes", "delete port group", A, X, X),
    Rule("node:create", "nodes", "register", A, X, X),
    Rule("node:import", "nodes", "batch register", A, X, X),
    Rule("node:update", "nodes", "edit", A, X, X),
    Rule("node:delete", "nodes", "delete", A, X, X),
    Rule("node:power", "nodes", "power on, power off, reboot", A, X, X),
    Rule("node:maintenance", "nodes", "maintenance, end maintenance", A, X, X),
    Rule("node:export", "nodes", "export list", A, X, X),
    Rule("flavor:read", "flavors", "show (flavor management)", A, X, X),
    Rule("flavor:create", "flavors", "create", A, X, X),
    Rule("flavor:update", "flavors", "edit", A, X, X),
    Rule("flavor:delete", "flavors", "delete", A, X, X),
    Rule("host:read", "hosts", "show", A, J, J),
    Rule("host:create", "hosts", "create (batch)", A, J, J),
    Rule("host:update", "hosts", "edit", A, J, J),
    Rule("host:power", "hosts", "power on, power off, reboot", A, J, J),
    Rule("host:rebuild", "hosts", "rebuild", A, J, J),
    Rule("host:delete", "hosts", "delete", A, J, J),
    Rule("host:console", "hosts", "console", A, J, J),
    Rule("host:vnic", "hosts", "virtual NIC management", A, J, J),
    Rule("host:disk", "hosts", "disk management", A, J, J),
    Rule("host:floating_ip", "hosts", "floating IP management", A, J, J),
    Rule("host:nic", "hosts", "NIC management", A, J, J),
    Rule("host:export", "hosts", "export host list", A, J, J),
    Rule("monitoring:read", "monitoring", "view", A, J, J),
    Rule("alarm:read", "alarms", "view", A, J, J),
    Rule("loadbalancer:use", "load balancer", "use hosts as LB resources", A, J, J),
    Rule("billing:update", "billing", "set billing items", A, X, X),
    Rule("audit:read", "logs / audit", "view", A, J, J),
    Rule("audit:export", "logs / audit", "export", A, J, J),
    # --- Ironworks' own rows -----------------------------------------------------------------
    Rule("node:read", "nodes", "list and show nodes (the node API)", A, X, X, prd=False),
    Rule("node:vmedia", "nodes", "attach and detach virtual media", A, X, X, prd=False),
    Rule("flavor:choose", "flavors", "list the flavors a project may use", A, J, J, prd=False),
    Rule("department:create", "identity", "create department", A, X, X, prd=False),
    Rule("department:update", "identity", "edit department, its quota", A, X, X, prd=False),
    Rule("department:delete", "identity", "delete department", A, X, X, prd=False),
    Rule("department:read", "identity", "show departments", A, D, X, prd=False),
    Rule("project:create", "identity", "create project", A, D, X, prd=False),
    Rule("project:update", "identity", "edit project, its quota", A, D, X, prd=False),
    Rule("project:delete", "identity", "delete project", A, D, X, prd=False),
    Rule("project:read", "identity", "show projects", A, J, J, prd=False),
    Rule("user:create", "identity", "create user", A, D, X, prd=False),
    Rule("user:update", "identity", "edit user, reset password, unlock", A, D, X, prd=False),
    Rule("user:delete", "identity", "delete user", A, D, X, prd=False),
    Rule("user:read", "identity", "show users", A, D, X, prd=False),
    Rule("membership:update", "identity", "add or remove project members", A, D, X, prd=False),
    # Images: the PRD names deploy and business images but gives them no row. Everyone sees
    # the public ones, their projects' and those shared with their projects (scoped in the
    # query); a project's users manage its private and shared images (upload, import, share),
    # public images are the cloud admin's (services/images.py checks the image's owner).
    Rule("image:read", "images", "list, show and download images", A, J, J, prd=False),
    Rule("image:create", "images", "create an image", A, J, J, prd=False),
    Rule("image:update", "images", "edit, upload, import or share an image", A, J, J, prd=False),
    Rule("image:delete", "images", "delete an image", A, J, J, prd=False),
    Rule("license:update", "license", "install a license", A, X, X, prd=False),
    Rule("license:read", "license", "show the license", A, A, A, prd=False),
    # Tenant networking: the PRD's rows cover the scheme and switches (cloud admin only) and a
    # host's NICs; these are the networks and subnets NICs attach to. A project's users manage
    # their projects' networks and see the shared and external ones (scoped in the query);
    # shared, external and the cloud's own networks are the cloud admin's (services/networks.py).
    Rule("network_scheme:read", "network config", "list physical networks", A, A, A, prd=False),
    Rule("network:read", "network config", "list and show networks", A, J, J, prd=False),
    Rule("network:create", "network config", "create a network", A, J, J, prd=False),
    Rule("network:update", "network config", "edit a network", A, J, J, prd=False),
    Rule("network:delete", "network config", "delete a network", A, J, J, prd=False),
    Rule("subnet:read", "network config", "list and show subnets", A, J, J, prd=False),
    Rule("subnet:create", "network config", "create a subnet", A, J, J, prd=False),
    Rule("subnet:update", "network config", "edit a subnet", A, J, J, prd=False),
    Rule("subnet:delete", "network config", "delete a subnet", A, J, J, prd=False),
    Rule("switch:read", "network config", "list and show switches", A, X, X, prd=False),
    Rule("availability_zone:read", "hosts", "list availability zones", A, A, A, prd=False),
    Rule("metrics:read", "monitoring", "scrape the Prometheus metrics", A, X, X, prd=False),
    # Billing: the PRD's one row is "set billing items" (billing:update, above). Reading them
    # and the usage they price are ours: everyone sees the prices of the flavors they may use
    # (services/prices.py); usage and its cost are JOINED like hosts, and a department's whole
    # report is for its admins and the cloud admin (services/usage.py).
    Rule("billing:read", "billing", "show the prices of flavors", A, A, A, prd=False),
    Rule("usage:read", "billing", "view and export usage and its cost", A, J, J, prd=False),
    Rule("alarm:acknowledge", "alarms", "acknowledge an alarm", A, J, J, prd=False),
    # Ironic's named step lists (#14): what a deploy or a cleaning runs, the cloud admin's.
    Rule("deploy_template:read", "nodes", "list and show deploy templates", A, X, X, prd=False),
    Rule(
        "deploy_template:update",
        "nodes",
        "create, edit, delete deploy templates",
        A,
        X,
        X,
        prd=False,
    ),
    Rule("runbook:read", "nodes", "list and show runbooks", A, X, X, prd=False),
    Rule("runbook:update", "nodes", "create, edit, delete runbooks", A, X, X, prd=False),
)

BY_OPERATION = {r.operation: r for r in RULES}
assert len(BY_OPERATION) == len(RULES), "an operation is declared twice"


def rule(operation: str) -> Rule:
    try:
        return BY_OPERATION[operation]
    except KeyError:
        raise KeyError(f"no policy rule for operation {operation!r}") from None


def decide(operation: str, roles: set[Role]) -> Cell:
    """The most permissive cell among the caller's roles (ALLOW > DEPT/JOINED > DENY).

    JOINED and DEPT still need the resource's project or department checked against the
    caller's (services do that in the query)."""
    r = rule(operation)
    cells = {r.cell(role) for role in roles}
    for best in (Cell.ALLOW, Cell.DEPT, Cell.JOINED):
        if best in cells:
            return best
    return Cell.DENY


# --- whose accounts a department admin manages (#15) ------------------------------------------


@dataclass(frozen=True)
class Account:
    """What the rule needs to know of a user account: db/tenancy.py reads it in SQL."""

    user_id: int
    is_admin: bool  # a cloud admin
    departments: frozenset[int]  # where every membership lies: projects joined, departments run
    created_by: int | None  # who created the account (None: the first admin, or before #15)


def manages_account(
    caller_id: int, roles: set[Role], caller_departments: frozenset[int], account: Account
) -> bool:
    """Whether the caller may see and change this account (user:read/update/delete, and adding
    it to a project).

    The cloud admin manages everyone. A department admin manages themselves, and a user who is
    no cloud admin and whose every membership lies inside the departments they administer; an
    account that belongs nowhere yet only if they created it. Adding an outsider to one of
    their projects would otherwise make the outsider theirs: reset the password, log in as
    them, see their department's hosts. Project admins and members manage no account (the
    table denies them user management before this rule is asked). For anyone outside the
    rule, the answer is the same 404 as for a user who does not exist: no name oracle.
    """
    if Role.ADMIN in roles:
        return True
    if Role.DEPT_ADMIN not in roles:
        return False
    if account.user_id == caller_id:
        return True
    if account.is_admin:
        return False
    if not account.departments:
        return account.created_by == caller_id
    return account.departments <= caller_departments
