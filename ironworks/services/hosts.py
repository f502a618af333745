"""Hosts (裸金属主机): a tenant's bare-metal servers, scheduled onto nodes by flavor.

Create (`count` at once): the flavor must be one the project may use; quotas of the project and
its department are checked for the whole batch; then, in ONE transaction, `count` nodes that
match (available, not in maintenance, not retired, no instance; the flavor's resource class,
architecture and capabilities; at least its cpus, memory and disk; the availability zone) are
claimed with the compare-and-set of db/scheduling.py (the one Ironic's allocations use too;
plus a unique `hosts.node_id`), so concurrent creates never put two hosts on one node; each claimed node gets the image in
`instance_info` and a deploy job through the node's state machine. Too few nodes: nothing is
claimed, 409. Each host gets one NIC per network asked for (`networks`, or the project's default
network), bound to its node's ports when the node is claimed, with its addresses, in the same
transaction (services/hostnics.py): only nodes with enough free ports are candidates, and a
request beyond every matching node's ports is a 400 naming `networks` before anything is written.

A host's status is derived from its node in SQL (`db/hosts.host_status`, so lists filter, sort
and page on it): building, active, stopped, rebuilding, deleting, error (with the node's last
error). Delete tears the node down (undeploy, cleaning); the host disappears when its node is
available again (the conductor removes the row). The statements live in db/hosts.py.

Create, start, stop, rebuild and delete are the boundaries of the host's usage: each calls
services/usage.py in its own transaction, so the request and its usage record commit together.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any

import sqlalchemy as sa

from ironworks.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from ironworks.common.ids import new_uuid
from ironworks.common.inputs import text
from ironworks.db import hosts as host_db
from ironworks.db import jobs as job_db
from ironworks.db import nodes as node_db
from ironworks.db import scheduling
from ironworks.db import tenancy as project_db
from ironworks.db.engine import utcnow
from ironworks.db.pagination import PageRequest
from ironworks.domain import power as power_words
from ironworks.domain import states
from ironworks.domain.capabilities import capability
from ironworks.images.store import TENANT_SOURCE
from ironworks.services import flavors as flavor_svc
from ironworks.services import hostnics, operations, usage
from ironworks.services.context import Caller, Services
from ironworks.services.tenancy import project_row

MAX_BATCH = 100
STATUSES = ("building", "active", "stopped", "rebuilding", "deleting", "error")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


def _az(node: dict[str, Any], default: str) -> str:
    return str((node.get("properties") or {}).get("availability_zone") or default)


def _fits(node: dict[str, Any], flavor: dict[str, Any], az: str, default_az: str) -> bool:
    props = node.get("properties") or {}
    if _az(node, default_az) != az:
        return False
    if flavor["resource_class"] and node["resource_class"] != flavor["resource_class"]:
        return False
    if flavor["cpu_arch"] and props.get("cpu_arch") != flavor["cpu_arch"]:
        return False
    for key in ("cpus", "memory_mb", "local_gb"):
        try:
            if int(props.get(key) or 0) < flavor[key]:
                return False
        except (TypeError, ValueError):
            return False
    return all(capability(node, k) == v for k, v in (flavor["capabilities"] or {}).items())


def _names(body: dict[str, Any], count: int) -> list[str]:
    name = body.get("name")
    if not isinstance(name, str) or not _NAME.match(name.replace("{n}", "1")):
        raise InvalidInput(
            "name must be 1-63 letters, digits, '.', '_' or '-' (start with a letter "
            "or digit); with count > 1, '{n}' in it is the host's number",
            field="name",
        )
    if count == 1:
        return [name.replace("{n}", "1")]
    return [
        name.replace("{n}", str(i)) if "{n}" in name else f"{name}-{i}" for i in range(1, count + 1)
    ]


def _project_for(conn: sa.Connection, caller: Caller, ident: Any) -> dict[str, Any]:
    """The project to create hosts in: the one named, or the caller's only one."""
    if ident is None:
        mine = [] if caller.is_admin else list(caller.principal.projects)
        if len(mine) != 1:
            raise InvalidInput("project is required (its name or id)", field="project")
        return project_db.get_project(conn, mine[0])
    return project_row(conn, caller, str(ident))


def _check_quota(
    conn: sa.Connection, project: dict[str, Any], flavor: dict[str, Any], count: int
) -> None:
    """Every quota of the project and of its department, for the whole batch at once."""
    dept = project_db.get_department(conn, project["department_id"])
    asked = {
        "hosts": count,
        "nodes": count,
        "cores": count * flavor["cpus"],
        "ram_mb": count * flavor["memory_mb"],
    }
    for owner, row, used in (
        ("project", project, host_db.usage(conn, project_id=project["id"])),
        ("department", dept, host_db.usage(conn, department_id=dept["id"])),
    ):
        for kind in ("hosts", "nodes", "cores", "ram_mb"):
            limit = row[f"quota_{kind}"]
            if limit is not None and used[kind] + asked[kind] > limit:
                what = {"ram_mb": "MiB of memory"}.get(kind, kind)
                raise Forbidden(
                    f"quota exceeded: {owner} {row['name']} may have {limit} {what}, "
                    f"has {used[kind]}, and {asked[kind]} more were asked for"
                )


_CREATE_FIELDS = {
    "name",
    "count",
    "flavor",
    "image",
    "project",
    "availability_zone",
    "ssh_key",
    "user_data",
    "networks",
}


def _check_create_body(body: dict[str, Any]) -> tuple[int, list[str], str]:
    """The batch size, the hosts' names and the image a create body asks for (400 if it is
    not a valid request)."""
    extra = sorted(set(body) - _CREATE_FIELDS)
    if extra:
        raise InvalidInput(f"unknown field {extra[0]!r}", field=extra[0])
    count = body.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_BATCH:
        raise InvalidInput(f"count must be a whole number from 1 to {MAX_BATCH}", field="count")
    names = _names(body, count)
    image = body.get("image")
    if not isinstance(image, str) or not image.strip():
        raise InvalidInput("image is required: an image id or name, or a URL", field="image")
    if not body.get("flavor"):
        raise InvalidInput("flavor is required (its name or id)", field="flavor")
    for field in ("ssh_key", "user_data"):
        text(body.get(field), field)
    return count, names, image


def _fitting_nodes(
    conn: sa.Connection, flavor: dict[str, Any], az: str, default_az: str
) -> list[dict[str, Any]]:
    """The schedulable nodes that fit the flavor in the zone, best fit first: the smallest
    matching nodes first, big ones stay free for big flavors."""
    fitting = [n for n in scheduling.free_nodes(conn) if _fits(n, flavor, az, default_az)]
    fitting.sort(
        key=lambda n: (
            int((n["properties"] or {}).get("memory_mb") or 0),
            int((n["properties"] or {}).get("cpus") or 0),
            n["id"],
        )
    )
    return fitting


def create(svc: Services, caller: Caller, body: dict[str, Any]) -> list[dict[str, Any]]:
    count, names, image = _check_create_body(body)
    default_az = svc.settings.default_availability_zone
    az = body.get("availability_zone") or default_az
    created: list[dict[str, Any]] = []
    with svc.db.write() as conn:
        project = _project_for(conn, caller, body.get("project"))
        if not svc.db.is_sqlite:  # one batch at a time per project: quotas hold under races
            project_db.lock_project(conn, project["id"])
        scoped = caller if caller.is_admin else _as_project(caller, project["id"])
        flavor = flavor_svc.get_row(conn, scoped, str(body["flavor"]))
        image = _image_ref(svc, conn, scoped, image)
        _check_quota(conn, project, flavor, count)
        want = hostnics.wanted(conn, project, body.get("networks"), count)
        fitting = hostnics.with_room(
            conn, _fitting_nodes(conn, flavor, az, default_az), want, flavor["name"]
        )
        now = utcnow()
        for name in names:
            host_uuid = new_uuid()
            node = _claim(conn, fitting, host_uuid, image, flavor, tenant=not caller.is_admin)
            if node is None:
                raise Conflict(
                    f"no available node matches flavor {flavor['name']} in availability "
                    f"zone {az} (asked for {count}, {len(created)} could be claimed); "
                    "nothing was created"
                )
            host = {
                "uuid": host_uuid,
                "name": name,
                "project_id": project["id"],
                "flavor_id": flavor["id"],
                "node_id": node["id"],
                "image": image,
                "availability_zone": az,
                "ssh_key": text(body.get("ssh_key"), "ssh_key"),
                "user_data": text(body.get("user_data"), "user_data"),
                "task": "building",
                "created_at": now,
                "user_id": caller.principal.user_id if caller.principal else None,
            }
            host_id = _add_and_deploy(conn, caller, host, node)
            hostnics.bind(conn, host_id, node["id"], want)
            usage.begin(svc, conn, host_uuid, "create")
            created.append({"uuid": host_uuid, "name": name, "node_uuid": node["uuid"]})
        caller.acted_on(
            "host",
            created[0]["uuid"] if count == 1 else f"{count} hosts",
            ", ".join(names),
            (project["id"], project["name"]),
        )
    job_db.wake()
    return created


def _add_and_deploy(
    conn: sa.Connection, caller: Caller, host: dict[str, Any], node: dict[str, Any]
) -> int:
    """Record the host and start the deploy of its claimed node, with the host's name, key and
    user data on a config drive; the host's id."""
    host_id = host_db.add(conn, host)
    operations.accept_provision(
        conn,
        {**node, "instance_uuid": host["uuid"]},
        "active",
        first_boot(host["name"], host["ssh_key"], host["user_data"]),
        caller,
    )
    return host_id


def _image_ref(svc: Services, conn: sa.Connection, scoped: Caller, image: str) -> str:
    """What the node deploys for `image`: a URL the caller may have the cloud download
    (`images.check_source_url`), or the uuid of an Ironworks image (given by id or name) the
    host's project may see: a private image of another project is a 404 here as everywhere,
    never deployed."""
    from ironworks.services import images as image_svc

    image = image.strip()
    if "://" in image:
        return image_svc.check_source_url(svc, scoped, image, "image")
    return str(image_svc.get_row(conn, scoped, image)["uuid"])


def first_boot(name: str, ssh_key: str | None, user_data: str | None) -> dict[str, Any]:
    """The provision body that gives the host its name, key and user data: a config drive."""
    meta: dict[str, Any] = {"hostname": name, "name": name}
    if ssh_key:
        meta["public_keys"] = {"default": ssh_key}
    drive: dict[str, Any] = {"meta_data": meta}
    if user_data:
        drive["user_data"] = user_data
    return {"configdrive": drive}


def _as_project(caller: Caller, project_id: int) -> Caller:
    """The caller as seen from one project: flavors visible to that project only."""
    from dataclasses import replace

    p = caller.principal
    return replace(caller, principal=replace(p, projects={project_id: p.projects[project_id]}))


def _claim(
    conn: sa.Connection,
    fitting: list[dict[str, Any]],
    host_uuid: str,
    image: str,
    flavor: dict[str, Any],
    tenant: bool,
) -> dict[str, Any] | None:
    """Take the first node still free (compare-and-set), removing those tried from `fitting`."""
    while fitting:
        node = fitting.pop(0)
        info = {
            **(node["instance_info"] or {}),
            "image_source": image,
            "root_gb": flavor["local_gb"],
            "flavor": flavor["name"],
            TENANT_SOURCE: tenant,
        }
        if scheduling.claim_node(conn, node["id"], host_uuid, instance_info=info):
            return {**node, "instance_info": info}
    return None


# --- reading -------------------------------------------------------------------------------------


SORT_KEYS = host_db.SORT_KEYS


def _reason(row: dict[str, Any]) -> str | None:
    if row["status"] != "error":
        return None
    if row["node_uuid"] is None:
        return "its node was deleted"
    return row["last_error"] or row["provision_state"]


def _out(row: dict[str, Any], nics: list[dict[str, Any]]) -> dict[str, Any]:
    props = row["properties"] or {}
    return {
        "uuid": row["uuid"],
        "name": row["name"],
        "status": row["status"],
        "status_reason": _reason(row),
        "project": row["project"],
        "availability_zone": row["availability_zone"],
        "flavor": {
            "name": row["flavor"],
            "cpus": row["cpus"],
            "memory_mb": row["memory_mb"],
            "local_gb": row["local_gb"],
        },
        "cpu_arch": props.get("cpu_arch"),
        "cpu_model": props.get("cpu_model"),
        "image": row["image"],
        "node_uuid": row["node_uuid"],
        "power_state": row["power_state"],
        "ip_addresses": hostnics.addresses_of(nics),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def list_hosts(
    svc: Services, caller: Caller, filters: dict[str, str], paging: PageRequest | None = None
) -> dict[str, Any]:
    """{"hosts": [...], "next_marker": uuid while more remain}: the caller's hosts that match
    `filters`, a page of them by `paging` (None: all, oldest first). Filtered, sorted and paged
    in SQL, status included."""
    known = sorted(host_db.FILTERS)
    extra = sorted(set(filters) - set(known))
    if extra:
        raise InvalidInput(
            f"cannot filter hosts by {extra[0]}; use one of {', '.join(known)}", field=extra[0]
        )
    if "status" in filters and filters["status"] not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", field="status")
    paging = paging or PageRequest("created_at")
    if paging.sort_key not in SORT_KEYS:
        raise InvalidInput(f"sort_key must be one of {', '.join(SORT_KEYS)}", field="sort_key")
    limit = None if paging.limit is None else paging.limit + 1  # one more: is there a next?
    with svc.db.read() as conn:
        found = host_db.page(
            conn,
            caller.project_ids,
            filters,
            sort_key=paging.sort_key,
            sort_dir=paging.sort_dir,
            marker=paging.marker,
            limit=limit,
        )
        nics = hostnics.of_hosts(conn, [r["id"] for r in found])
    rows = [_out(r, nics[r["id"]]) for r in found]
    out: dict[str, Any] = {"hosts": rows}
    if paging.limit is not None and len(rows) > paging.limit:
        out["hosts"] = rows[: paging.limit]
        out["next_marker"] = rows[paging.limit - 1]["uuid"]
    return out


def _one(conn: sa.Connection, caller: Caller, ident: str) -> dict[str, Any]:
    rows = host_db.find(conn, ident, caller.project_ids)
    if not rows:
        raise NotFound(f"host {ident} could not be found")
    if len(rows) > 1:
        raise InvalidInput(f"{len(rows)} hosts are named {ident!r}; use its id", field="host")
    row = rows[0]
    caller.acted_on("host", row["uuid"], row["name"], (row["project_id"], row["project"]))
    return row


def show(svc: Services, caller: Caller, ident: str) -> dict[str, Any]:
    from ironworks.services import audit

    with svc.db.read() as conn:
        row = _one(conn, caller, ident)
        nics = hostnics.of_hosts(conn, [row["id"]])[row["id"]]
    out = _out(row, nics)
    props = row["properties"] or {}
    out["nics"] = nics
    out["disks"] = props.get("disks") or (
        [{"size_gb": props["local_gb"]}] if props.get("local_gb") else []
    )
    out["audit"] = audit.list_events(
        svc, filters={"target_type": "host", "target_id": row["uuid"]}, limit=100
    )
    return out


# --- changing ------------------------------------------------------------------------------------


def rename(svc: Services, caller: Caller, ident: str, body: dict[str, Any]) -> dict[str, Any]:
    extra = sorted(set(body) - {"name"})
    if extra:
        raise InvalidInput(
            f"unknown field {extra[0]!r}; a host's name is what can be edited", field=extra[0]
        )
    name = body.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput("name must be 1-63 letters, digits, '.', '_' or '-'", field="name")
    with svc.db.write() as conn:
        row = _one(conn, caller, ident)
        host_db.rename(conn, row["id"], name)
    return show(svc, caller, row["uuid"])


def power(svc: Services, caller: Caller, ident: str, action: str) -> None:
    target = {
        "start": power_words.POWER_ON,
        "stop": power_words.POWER_OFF,
        "reboot": power_words.REBOOT,
        "soft-reboot": power_words.SOFT_REBOOT,
    }[action]
    with svc.db.read() as conn:
        row = _one(conn, caller, ident)
    if row["node_uuid"] is None or row["provision_state"] != states.ACTIVE:
        raise Conflict(
            f"host {row['name']} is {row['status']}; it can be started, "
            "stopped or rebooted when active or stopped"
        )
    metered: Callable[[sa.Connection], None] | None = None
    if action == "start":
        metered = partial(usage.begin, svc, why="start", host_uuid=row["uuid"])
    elif action == "stop":
        metered = partial(usage.end, svc, why="stop", host_uuid=row["uuid"])
    operations.request_power(svc, row["node_uuid"], {"target": target}, caller, also=metered)


def rebuild(svc: Services, caller: Caller, ident: str, body: dict[str, Any]) -> None:
    image = body.get("image")
    if image is not None and (not isinstance(image, str) or not image.strip()):
        raise InvalidInput(
            "image must be an image URL or id (or left out: the same image)", field="image"
        )
    with svc.db.write() as conn:
        row = _one(conn, caller, ident)
        if row["node_uuid"] is None:
            raise Conflict(f"host {row['name']} has no node left to rebuild on")
        node = node_db.get_node(conn, row["node_uuid"])
        # the stored image is checked again too: an image may have gone private, a host may have
        # left images.tenant_url_hosts since
        scoped = caller if caller.is_admin else _as_project(caller, row["project_id"])
        new_image = _image_ref(svc, conn, scoped, image or row["image"])
        info = {
            **(node["instance_info"] or {}),
            "image_source": new_image,
            TENANT_SOURCE: not caller.is_admin,
        }
        node_db.update_node(conn, node["id"], {"instance_info": info})
        operations.accept_provision(
            conn,
            {**node, "instance_info": info},
            "rebuild",
            first_boot(row["name"], row["ssh_key"], row["user_data"]),
            caller,
        )
        host_db.set_task(conn, row["id"], "rebuilding", image=new_image)
        usage.rebuilt(svc, conn, row["uuid"])
    job_db.wake()


def delete(svc: Services, caller: Caller, ident: str) -> None:
    with svc.db.write() as conn:
        row = _one(conn, caller, ident)
        usage.end(svc, conn, row["uuid"], "delete")
        if row["node_uuid"] is None or row["provision_state"] == states.AVAILABLE:
            host_db.delete(conn, row["id"])
            return
        if row["task"] != "deleting":
            node = node_db.get_node(conn, row["node_uuid"])
            operations.accept_provision(conn, node, "deleted", {}, caller)
            host_db.set_task(conn, row["id"], "deleting")
    job_db.wake()


# --- NICs (services/hostnics.py) -----------------------------------------------------------------


def _active(row: dict[str, Any], verb: str) -> None:
    if row["node_id"] is None or row["provision_state"] != states.ACTIVE:
        raise Conflict(
            f"host {row['name']} is {row['status']}; NICs are {verb} while it is active or "
            "stopped (a host gets its first NICs when it is created)"
        )


def list_nics(svc: Services, caller: Caller, ident: str) -> list[dict[str, Any]]:
    with svc.db.read() as conn:
        row = _one(conn, caller, ident)
        return hostnics.of_hosts(conn, [row["id"]])[row["id"]]


def attach_nic(svc: Services, caller: Caller, ident: str, body: dict[str, Any]) -> dict[str, Any]:
    """A NIC on another network for an active host, bound to a free port of its node."""
    with svc.db.write() as conn:
        row = _one(conn, caller, ident)
        _active(row, "attached")
        nic = hostnics.attach(conn, row, body)
        queued = hostnics.follow_on_switch(
            conn, row["node_id"], row["provision_state"], f"NIC {nic['uuid']} attached", caller
        )
    if queued:
        job_db.wake()
    return nic


def detach_nic(svc: Services, caller: Caller, ident: str, nic: str) -> None:
    """The NIC goes and its addresses are released."""
    with svc.db.write() as conn:
        row = _one(conn, caller, ident)
        _active(row, "detached")
        hostnics.detach(conn, row, nic)
        queued = hostnics.follow_on_switch(
            conn, row["node_id"], row["provision_state"], f"NIC {nic} detached", caller
        )
    if queued:
        job_db.wake()
