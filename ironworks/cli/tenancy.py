"""`ironworks department|project|user ...`: who belongs where (cloud and department admins)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from ironworks.cli.groups import department_app, project_app, user_app
from ironworks.cli.i18n import _
from ironworks.cli.output import say, show, show_list
from ironworks.cli.runtime import DEFAULT_URL, JsonOpt, UrlOpt, cloud, guard

QuotaHosts = Annotated[int | None, typer.Option("--quota-hosts", help=_("Hosts at most."))]
QuotaNodes = Annotated[int | None, typer.Option("--quota-nodes", help=_("Nodes at most."))]
QuotaCores = Annotated[int | None, typer.Option("--quota-cores", help=_("CPU cores at most."))]
QuotaRam = Annotated[int | None, typer.Option("--quota-ram-mb", help=_("Memory (MiB) at most."))]
QuotaFloatingIps = Annotated[
    int | None, typer.Option("--quota-floating-ips", help=_("Floating IPs at most."))
]


def _quotas(
    hosts: int | None,
    nodes: int | None,
    cores: int | None = None,
    ram_mb: int | None = None,
    floating_ips: int | None = None,
) -> dict[str, Any]:
    pairs = (
        ("quota_hosts", hosts),
        ("quota_nodes", nodes),
        ("quota_cores", cores),
        ("quota_ram_mb", ram_mb),
        ("quota_floating_ips", floating_ips),
    )
    return {k: v for k, v in pairs if v is not None}


@department_app.command("list")
@guard
def department_list(url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False) -> None:
    """Departments (all, or those you administer)."""
    with cloud(url) as c:
        show_list(
            c.list_of("departments"),
            ("name", "projects", "admins", "quota_hosts", "quota_nodes", "uuid"),
            as_json,
        )


@department_app.command("create")
@guard
def department_create(
    name: str,
    quota_hosts: QuotaHosts = None,
    quota_nodes: QuotaNodes = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Create a department (cloud admin)."""
    with cloud(url) as c:
        show(c.create("departments", {"name": name, **_quotas(quota_hosts, quota_nodes)}), as_json)


@department_app.command("set")
@guard
def department_set(
    name: str,
    quota_hosts: QuotaHosts = None,
    quota_nodes: QuotaNodes = None,
    quota_cores: QuotaCores = None,
    quota_ram_mb: QuotaRam = None,
    quota_floating_ips: QuotaFloatingIps = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Set a department's quotas."""
    body = _quotas(quota_hosts, quota_nodes, quota_cores, quota_ram_mb, quota_floating_ips)
    with cloud(url) as c:
        show(c.update("departments", name, body), as_json)


@department_app.command("admin")
@guard
def department_admin(
    name: str,
    user: str,
    remove: Annotated[bool, typer.Option("--remove", help=_("Take the role instead."))] = False,
    url: UrlOpt = DEFAULT_URL,
) -> None:
    """Make a user admin of a department (or --remove)."""
    with cloud(url) as c:
        c.set_department_admin(name, user, not remove)
    done = (
        _("{user} is no longer an admin of {dept}") if remove else _("{user} is an admin of {dept}")
    )
    say(done.format(user=user, dept=name))


@department_app.command("delete")
@guard
def department_delete(name: str, url: UrlOpt = DEFAULT_URL) -> None:
    """Delete an empty department."""
    with cloud(url) as c:
        c.delete("departments", name)
    say(_("deleted department {name}").format(name=name))


@project_app.command("list")
@guard
def project_list(url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False) -> None:
    """Projects (all, or those you belong to)."""
    with cloud(url) as c:
        show_list(
            c.list_of("projects"),
            ("name", "department", "members", "quota_hosts", "quota_nodes", "uuid"),
            as_json,
        )


@project_app.command("create")
@guard
def project_create(
    name: str,
    department: Annotated[str, typer.Option("--department")],
    quota_hosts: QuotaHosts = None,
    quota_nodes: QuotaNodes = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Create a project in a department."""
    body = {"name": name, "department": department, **_quotas(quota_hosts, quota_nodes)}
    with cloud(url) as c:
        show(c.create("projects", body), as_json)


@project_app.command("set")
@guard
def project_set(
    name: str,
    quota_hosts: QuotaHosts = None,
    quota_nodes: QuotaNodes = None,
    quota_cores: QuotaCores = None,
    quota_ram_mb: QuotaRam = None,
    quota_floating_ips: QuotaFloatingIps = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Set a project's quotas."""
    body = _quotas(quota_hosts, quota_nodes, quota_cores, quota_ram_mb, quota_floating_ips)
    with cloud(url) as c:
        show(c.update("projects", name, body), as_json)


@project_app.command("member")
@guard
def project_member(
    name: str,
    user: str,
    role: Annotated[str, typer.Option("--role", help="member | project_admin")] = "member",
    remove: Annotated[bool, typer.Option("--remove")] = False,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Add a user to a project with a role, change the role, or --remove them."""
    with cloud(url) as c:
        show(c.set_member(name, user, None if remove else role), as_json)


@project_app.command("delete")
@guard
def project_delete(name: str, url: UrlOpt = DEFAULT_URL) -> None:
    """Delete a project."""
    with cloud(url) as c:
        c.delete("projects", name)
    say(_("deleted project {name}").format(name=name))


@user_app.command("list")
@guard
def user_list(url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False) -> None:
    """Users (all, or those of your departments)."""
    with cloud(url) as c:
        show_list(
            c.list_of("users"),
            ("name", "is_admin", "enabled", "projects", "locked_until", "uuid"),
            as_json,
        )


def _password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt(_("Password"), hide_input=True, confirmation_prompt=True)


@user_app.command("create")
@guard
def user_create(
    name: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
    admin: Annotated[bool, typer.Option("--admin", help=_("A cloud admin."))] = False,
    display_name: Annotated[str | None, typer.Option("--display-name")] = None,
    email: Annotated[str | None, typer.Option("--email")] = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Create a user (asks for the password)."""
    body = {
        "name": name,
        "password": _password(password_stdin),
        "is_admin": admin,
        "display_name": display_name,
        "email": email,
    }
    with cloud(url) as c:
        show(c.create("users", body), as_json)


@user_app.command("set")
@guard
def user_set(
    name: str,
    password: Annotated[bool, typer.Option("--password", help=_("Set a new password."))] = False,
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
    unlock: Annotated[
        bool,
        typer.Option("--unlock", help=_("Forget the failed log-ins that slow this user down.")),
    ] = False,
    enable: Annotated[bool | None, typer.Option("--enable/--disable")] = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Change a user: new password, unlock, enable or disable."""
    body: dict[str, Any] = {}
    if password or password_stdin:
        body["password"] = _password(password_stdin)
    if unlock:
        body["unlock"] = True
    if enable is not None:
        body["enabled"] = enable
    with cloud(url) as c:
        show(c.update("users", name, body), as_json)


@user_app.command("delete")
@guard
def user_delete(name: str, url: UrlOpt = DEFAULT_URL) -> None:
    """Delete a user."""
    with cloud(url) as c:
        c.delete("users", name)
    say(_("deleted user {name}").format(name=name))
