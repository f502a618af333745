"""`ironworks host ...`: a project's bare-metal servers: create, list, start/stop, rebuild, delete;
`ironworks host nic ...`: their NICs (list, attach, detach).

`--wait` polls each host until it reaches the state its action ends in (or `error`), with a live
table on stderr when that is a terminal.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ironworks.cli.groups import host_app, host_nic_app
from ironworks.cli.i18n import _
from ironworks.cli.output import console, emit_json, say, show, show_list
from ironworks.cli.progress import elapsed_text
from ironworks.cli.runtime import (
    DEFAULT_URL,
    EXIT_FAILED,
    EXIT_TIMEOUT,
    JsonOpt,
    UrlOpt,
    cloud,
    guard,
    report,
)
from ironworks.client.cloud import CloudClient

HOST_FIELDS = ("name", "status", "project", "flavor_name", "ip_addresses", "node_uuid", "uuid")
NIC_FIELDS = ("uuid", "network_name", "mac", "ip_addresses", "port_uuid", "portgroup_uuid")
WaitOpt = Annotated[bool, typer.Option("--wait", help=_("Wait until done, showing progress."))]
TimeoutOpt = Annotated[float, typer.Option("--timeout", help=_("Seconds to wait at most."))]
ImageOpt = Annotated[str | None, typer.Option("--image", help=_("rebuild: another image."))]


def _flat(host: dict[str, Any]) -> dict[str, Any]:
    return {**host, "flavor_name": (host.get("flavor") or {}).get("name")}


def _row(host: dict[str, Any]) -> dict[str, Any]:
    """A host as a table row: its addresses in one cell."""
    return {**_flat(host), "ip_addresses": ", ".join(host.get("ip_addresses") or [])}


def _flat_nic(nic: dict[str, Any]) -> dict[str, Any]:
    return {**nic, "ip_addresses": ", ".join(ip["address"] for ip in nic.get("fixed_ips") or [])}


def _networks(items: list[str]) -> list[dict[str, str]]:
    """`--network NET` or `--network NET=ADDRESS` items as the API's `networks`."""
    out = []
    for item in items:
        name, _sep, address = item.partition("=")
        out.append({"network": name, **({"fixed_ip": address} if address else {})})
    return out


def _wait(
    c: CloudClient, uuids: dict[str, str], goal: str | None, timeout: float, as_json: bool
) -> int:
    """Poll the hosts until each reaches `goal` (None: until it is gone) or fails; a live table."""
    started = time.monotonic()
    state: dict[str, str] = {u: "..." for u in uuids}
    done: dict[str, float] = {}

    def render() -> Table:
        t = Table(title=_("Waiting for {n} host(s)").format(n=len(uuids)), title_justify="left")
        for col in (_("Host"), _("Status"), _("Elapsed")):
            t.add_column(col)
        for u, name in uuids.items():
            t.add_row(
                Text(name),
                Text(state[u]),
                Text(elapsed_text(done.get(u, time.monotonic()) - started)),
            )
        return t

    err = console(stderr=True)
    live = Live(get_renderable=render, console=err, refresh_per_second=4, transient=True)
    with live if (err.is_terminal and not as_json) else contextlib.nullcontext():
        while len(done) < len(uuids) and time.monotonic() - started < timeout:
            for u in uuids:
                if u in done:
                    continue
                try:
                    h = c.get_host(u)
                    state[u] = h["status"] + (
                        f": {h['status_reason']}" if h.get("status_reason") else ""
                    )
                    if h["status"] == goal or h["status"] == "error":
                        done[u] = time.monotonic()
                except Exception as e:  # 404 once deleted
                    if goal is None and getattr(e, "status", None) == 404:
                        state[u], done[u] = "deleted", time.monotonic()
                    else:
                        raise
            time.sleep(0.5)
    failed = [uuids[u] for u in uuids if state[u].startswith("error")]
    for u, name in uuids.items():
        if not as_json:
            say(f"{name}: {state[u]} ({elapsed_text(done.get(u, time.monotonic()) - started)})")
    if failed:
        report(_("failed: {hosts}").format(hosts=", ".join(failed)))
        return EXIT_FAILED
    if len(done) < len(uuids):
        report(_("still not done after {t}").format(t=elapsed_text(timeout)))
        return EXIT_TIMEOUT
    return 0


@host_app.command("create")
@guard
def host_create(
    name: Annotated[str, typer.Argument(help=_("Name; with --count, NAME-1..N or {n} in it."))],
    flavor: Annotated[str, typer.Option("--flavor", help=_("Flavor name or id."))],
    image: Annotated[
        str,
        typer.Option("--image", help=_("Image id or name (see `ironworks image list`), or a URL.")),
    ],
    count: Annotated[int, typer.Option("--count", help=_("How many, all or none."))] = 1,
    project: Annotated[str | None, typer.Option("--project")] = None,
    az: Annotated[str | None, typer.Option("--availability-zone")] = None,
    ssh_key: Annotated[Path | None, typer.Option("--ssh-key", help=_("Public key file."))] = None,
    user_data: Annotated[Path | None, typer.Option("--user-data")] = None,
    network: Annotated[
        list[str] | None,
        typer.Option(
            "--network",
            help=_(
                "A NIC on this network (name or id), NET=ADDRESS for a fixed address; repeat "
                "for more NICs. Left out: the project's only network, if it has one."
            ),
        ),
    ] = None,
    no_network: Annotated[
        bool, typer.Option("--no-network", help=_("Create the hosts without NICs."))
    ] = False,
    wait: WaitOpt = False,
    timeout: TimeoutOpt = 3600,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Create hosts from a flavor and an image; they are scheduled onto matching nodes."""
    body: dict[str, Any] = {"name": name, "flavor": flavor, "image": image, "count": count}
    for key, value in (("project", project), ("availability_zone", az)):
        if value:
            body[key] = value
    if ssh_key:
        body["ssh_key"] = ssh_key.read_text().strip()
    if user_data:
        body["user_data"] = user_data.read_text()
    if network or no_network:
        body["networks"] = _networks(network or [])
    with cloud(url) as c:
        made = c.create_hosts(body)
        if not wait:
            show_list(made, ("name", "uuid", "node_uuid"), as_json)
            return
        code = _wait(c, {h["uuid"]: h["name"] for h in made}, "active", timeout, as_json)
        if as_json:
            emit_json([_flat(c.get_host(h["uuid"])) for h in made])
    raise typer.Exit(code)


@host_app.command("list")
@guard
def host_list(
    project: Annotated[str | None, typer.Option("--project")] = None,
    status: Annotated[str | None, typer.Option("--status")] = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Hosts of your projects (all of them for a cloud admin)."""
    with cloud(url) as c:
        listed = c.list_hosts(project=project, status=status)
        show_list([(_flat if as_json else _row)(h) for h in listed], HOST_FIELDS, as_json)


@host_app.command("show")
@guard
def host_show(host: str, url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False) -> None:
    """A host: status, flavor, node, NICs, disks and its audit history."""
    with cloud(url) as c:
        got = c.get_host(host)
        if as_json:
            show(got, as_json)
            return
        nics = [_flat_nic(n) for n in got.pop("nics", [])]
        show({**got, "ip_addresses": ", ".join(got.get("ip_addresses") or [])}, as_json)
        if nics:
            show_list(nics, NIC_FIELDS, as_json)


@host_app.command("console")
@guard
def host_console(host: str, url: UrlOpt = DEFAULT_URL) -> None:
    """Attach this terminal to the host's serial console (~. to leave)."""
    from ironworks.cli.terminal import attach

    with cloud(url) as c:
        got = c.host_console(host)
    raise typer.Exit(attach(got["url"]))


def _action(action: str, goal: str | None, doc: str) -> None:
    @host_app.command(action, help=doc)
    @guard
    def run(
        hosts: list[str],
        image: ImageOpt = None,
        wait: WaitOpt = False,
        timeout: TimeoutOpt = 3600,
        url: UrlOpt = DEFAULT_URL,
        as_json: JsonOpt = False,
    ) -> None:
        with cloud(url) as c:
            targets = {c.get_host(h)["uuid"]: h for h in hosts}
            for uuid in targets:
                if action == "delete":
                    c.delete_host(uuid)
                else:
                    c.host_action(uuid, action, {"image": image} if image else None)
            if not wait:
                say(_("{action}: {hosts}").format(action=action, hosts=", ".join(hosts)))
                return
            code = _wait(c, targets, goal, timeout, as_json)
        raise typer.Exit(code)


_action("start", "active", _("Power hosts on."))
_action("stop", "stopped", _("Power hosts off."))
_action("reboot", "active", _("Reboot hosts."))
_action("rebuild", "active", _("Reinstall hosts on their nodes (--image: another image)."))
_action("delete", None, _("Delete hosts: their nodes are torn down and cleaned."))


# --- NICs ----------------------------------------------------------------------------------------


@host_nic_app.command("list")
@guard
def nic_list(host: str, url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False) -> None:
    """A host's NICs: network, MAC, the port it is bound to, addresses."""
    with cloud(url) as c:
        nics = c.list_host_nics(host)
    show_list(nics if as_json else [_flat_nic(n) for n in nics], NIC_FIELDS, as_json)


@host_nic_app.command("attach")
@guard
def nic_attach(
    host: str,
    network: Annotated[str, typer.Argument(help=_("The network's name or id."))],
    fixed_ip: Annotated[
        str | None, typer.Option("--fixed-ip", help=_("An address of one of its subnets."))
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Attach a NIC to an active host, on a free physical port of its node."""
    body: dict[str, Any] = {"network": network}
    if fixed_ip:
        body["fixed_ip"] = fixed_ip
    with cloud(url) as c:
        nic = c.attach_host_nic(host, body)
    show(nic if as_json else _flat_nic(nic), as_json)


@host_nic_app.command("detach")
@guard
def nic_detach(
    host: str,
    nic: Annotated[str, typer.Argument(help=_("The NIC's uuid."))],
    url: UrlOpt = DEFAULT_URL,
) -> None:
    """Detach a NIC from an active host; its addresses are released."""
    with cloud(url) as c:
        c.detach_host_nic(host, nic)
    say(_("detached: {nic}").format(nic=nic))
