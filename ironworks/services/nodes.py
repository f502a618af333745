"""Node inventory: create, update (JSON patch), delete, list, maintenance.

Provisioning and power requests live in `services/operations.py`; this module owns the rules
for the node record itself.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ironworks.common.errors import Conflict, Forbidden, InvalidInput, NotAcceptable, NotFound
from ironworks.common.ids import is_uuid_like, is_valid_name, new_uuid, normalize_uuid
from ironworks.db import allocations as alloc_db
from ironworks.db import hosts as host_db
from ironworks.db import nodes as node_db
from ironworks.db.engine import utcnow
from ironworks.domain import allocations as alloc_rules
from ironworks.domain import nodes as fields
from ironworks.domain import power, states
from ironworks.domain import versions as v
from ironworks.domain.nodes import INTERFACE_KINDS
from ironworks.domain.paging import PageRequest
from ironworks.drivers.base import Task
from ironworks.drivers.registry import hardware_type, secret_test
from ironworks.services import licensing
from ironworks.services.context import Caller, Services

# The node record's fields, their types and which a client may set: domain/nodes.py.
WRITABLE = fields.WRITABLE
CREATABLE = fields.CREATABLE
# The writable JSON objects: an absent or null one is stored as {}.
_OBJECTS = frozenset(f.name for f in fields.FIELDS if f.writable and f.type == "object")

COLUMNS = node_db.COLUMNS
SORT_KEYS = frozenset(
    {
        "id",
        "uuid",
        "name",
        "created_at",
        "updated_at",
        "provision_state",
        "power_state",
        "driver",
        "resource_class",
        "conductor_group",
        "owner",
        "provision_updated_at",
        "maintenance",
        "instance_uuid",
    }
)


def _check_value(field: str, value: Any) -> None:
    kind = fields.BY_NAME[field].type
    if kind == "object" and not isinstance(value, dict):
        raise InvalidInput(f"{field} must be a JSON object", field=field)
    if kind == "string" and value is not None and not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string or null", field=field)
    if kind == "boolean" and value is not None and not isinstance(value, bool):
        raise InvalidInput(f"{field} must be true, false or null", field=field)
    if field == "name" and value is not None and (is_uuid_like(value) or not is_valid_name(value)):
        raise InvalidInput(
            f"name {value!r} is not valid: use letters, digits and -._~ "
            "(at most 255), and not the form of a UUID",
            field="name",
        )
    if field == "instance_uuid" and value is not None and not is_uuid_like(value):
        raise InvalidInput(f"instance_uuid {value!r} is not a UUID", field="instance_uuid")
    if field == "resource_class" and value is not None and len(value) > 80:
        raise InvalidInput("resource_class is longer than 80 characters", field="resource_class")


def _check_version(fields: set[str], caller: Caller) -> None:
    for f in sorted(fields):
        needed = v.NODE_FIELD_VERSIONS.get(f)
        if needed and caller.version < needed:
            raise NotAcceptable(
                f"field {f} needs API version {v.fmt(needed)} or later; this request used "
                f"{v.fmt(caller.version)}"
            )


def _resolve_interfaces(svc: Services, values: dict[str, Any]) -> None:
    """Fill every *_interface with the hardware type's default and check chosen ones."""
    hw = hardware_type(values["driver"], svc.settings.enabled_hardware_types)
    for kind in INTERFACE_KINDS:
        key = f"{kind}_interface"
        chosen = values.get(key)
        values[key] = hw.interface(kind, chosen).name if chosen else hw.default(kind)


def seal_driver_info(
    svc: Services, driver: str, info: dict[str, Any], stored: dict[str, Any] | None = None
) -> dict[str, Any]:
    return svc.secrets.seal(info, secret_test(driver), stored=stored)


def _validate_driver_info(svc: Services, values: dict[str, Any]) -> None:
    """Formats of the driver_info values given (plain text); required keys are checked by
    `manage`."""
    hw = hardware_type(values["driver"], svc.settings.enabled_hardware_types)
    task = Task(node={"uuid": values.get("uuid", "?"), **values}, purpose="validate input")
    for kind in INTERFACE_KINDS:
        hw.interface(kind, values.get(f"{kind}_interface")).check_formats(task)


def _chassis_id(conn: sa.Connection, chassis_uuid: str | None) -> int | None:
    if chassis_uuid is None:
        return None
    cid = node_db.chassis_id(conn, chassis_uuid)
    if cid is None:
        raise InvalidInput(f"chassis {chassis_uuid} does not exist", field="chassis_uuid")
    return cid


def _unique_violation(e: IntegrityError, values: dict[str, Any]) -> Conflict:
    text = str(e.orig).lower()
    if "name" in text:
        return Conflict(f"A node with name {values.get('name')} already exists.")
    if "instance_uuid" in text:
        return Conflict(
            f"Instance {values.get('instance_uuid')} is already associated with another node."
        )
    return Conflict(f"A node with UUID {values.get('uuid')} already exists.")


def create_node(
    svc: Services, body: dict[str, Any], caller: Caller, *, licensed: bool = True
) -> dict[str, Any]:
    """A new node in enroll. `licensed=False`: a discovered machine, which counts against the
    license only when an operator accepts it (services/licensing.check_acceptance)."""
    unknown = set(body) - CREATABLE
    if unknown:
        f = sorted(unknown)[0]
        raise InvalidInput(f"unknown or read-only attribute {f!r} in the request", field=f)
    _check_version(set(body), caller)
    if not body.get("driver"):
        raise InvalidInput('driver is required, e.g. "fake-hardware"', field="driver")
    for f, val in body.items():
        if f not in ("uuid", "driver"):
            _check_value(f, val)
    values: dict[str, Any] = {k: val for k, val in body.items() if k != "chassis_uuid"}
    if "uuid" in body and body["uuid"] is not None:
        if not isinstance(body["uuid"], str) or not is_uuid_like(body["uuid"]):
            raise InvalidInput(f"uuid {body['uuid']!r} is not a UUID", field="uuid")
        values["uuid"] = normalize_uuid(body["uuid"])
    else:
        values["uuid"] = new_uuid()
    _resolve_interfaces(svc, values)
    _validate_driver_info(svc, values)
    for f in _OBJECTS:
        values.setdefault(f, {})
    values["driver_info"] = seal_driver_info(svc, values["driver"], values["driver_info"])
    now = utcnow()
    initial = states.ENROLL if caller.version >= v.ENROLL_ON_CREATE else states.AVAILABLE
    values.update(
        provision_state=initial,
        created_at=now,
        conductor_group=values.get("conductor_group") or "",
        maintenance=False,
        protected=bool(values.get("protected")),
        retired=bool(values.get("retired")),
        disable_power_off=bool(values.get("disable_power_off")),
    )
    try:
        with svc.db.write() as conn:
            if licensed:
                licensing.check_enrolment(conn, svc, 1)
            values["chassis_id"] = _chassis_id(conn, body.get("chassis_uuid"))
            node = node_db.insert_node(
                conn,
                values,
                event={
                    "event": f"Node created in state {initial}",
                    "event_type": "provisioning",
                    "to_state": initial,
                    "request_id": caller.request_id,
                    "user": caller.user,
                },
            )
            caller.acted_on("node", node["uuid"], node["name"])
            return node
    except IntegrityError as e:
        raise _unique_violation(e, values) from None


def get_node(svc: Services, ident: str) -> dict[str, Any]:
    with svc.db.read() as conn:
        return node_db.get_node(conn, ident)


def list_nodes(
    svc: Services,
    *,
    filters: dict[str, Any],
    sort_key: str = "id",
    sort_dir: str = "asc",
    marker: str | None = None,
    limit: int | None = None,
    columns: set[str] | None = None,
) -> list[dict[str, Any]]:
    """Nodes matching `filters`; with `columns`, only those columns (and the ones paging and
    rendering need)."""
    limit = min(limit or svc.settings.api.max_limit, svc.settings.api.max_limit)
    with svc.db.read() as conn:
        return node_db.list_nodes(
            conn,
            filters=filters,
            sort_key=sort_key,
            sort_dir=sort_dir,
            allowed_sort_keys=SORT_KEYS,
            marker=marker,
            limit=limit,
            columns=columns,
        )


# --- the console's list ---------------------------------------------------------------------

SUMMARY_SORT_KEYS = node_db.SUMMARY_SORT_KEYS
SUMMARY_FILTERS = node_db.SUMMARY_FILTERS
_POWER_STATES = (power.POWER_ON, power.POWER_OFF, power.POWER_ERROR)


def _summary_filters(filters: dict[str, Any]) -> dict[str, Any]:
    """The filters given (empty ones dropped), checked: a state must be a known one."""
    unknown = sorted(set(filters) - SUMMARY_FILTERS)
    if unknown:
        raise InvalidInput(
            f"cannot filter nodes by {unknown[0]}; use one of {', '.join(sorted(SUMMARY_FILTERS))}",
            field=unknown[0],
        )
    out = {k: v for k, v in filters.items() if v is not None and v != ""}
    state = out.get("provision_state")
    if state is not None and state not in states.ALL_STATES:
        raise InvalidInput(
            f"provision_state {state!r} is not a provision state", field="provision_state"
        )
    power_state = out.get("power_state")
    if power_state is not None and power_state not in _POWER_STATES:
        raise InvalidInput(
            f"power_state must be one of {', '.join(_POWER_STATES)}", field="power_state"
        )
    return out


def console_list(svc: Services, filters: dict[str, Any], paging: PageRequest) -> dict[str, Any]:
    """{"nodes": [...], "next_marker": uuid while more remain}: a page of node summaries (name,
    states, maintenance, instance, architecture, zone), filtered, sorted and paged in SQL. A node
    that names no zone is in the deployment's default zone."""
    if paging.sort_key not in SUMMARY_SORT_KEYS:
        raise InvalidInput(
            f"sort_key must be one of {', '.join(SUMMARY_SORT_KEYS)}", field="sort_key"
        )
    checked = _summary_filters(filters)
    default_zone = svc.settings.default_availability_zone
    limit = paging.limit or svc.settings.api.max_limit
    with svc.db.read() as conn:
        rows = node_db.summary_page(
            conn,
            checked,
            default_zone=default_zone,
            sort_key=paging.sort_key,
            sort_dir=paging.sort_dir,
            marker=paging.marker,
            limit=limit + 1,  # one more: is there a next page?
        )
    for row in rows:
        row.pop("id")
        row["availability_zone"] = row["availability_zone"] or default_zone
    out: dict[str, Any] = {"nodes": rows[:limit]}
    if len(rows) > limit:
        out["next_marker"] = rows[limit - 1]["uuid"]
    return out


def _public_doc(node: dict[str, Any], conn: sa.Connection) -> dict[str, Any]:
    doc = {f: copy.deepcopy(node.get(f)) for f in WRITABLE if f != "chassis_uuid"}
    doc["chassis_uuid"] = None
    if node.get("chassis_id"):
        doc["chassis_uuid"] = node_db.chassis_uuid(conn, node["chassis_id"])
    return doc


def patch_node(
    svc: Services, ident: str, patch: list[dict[str, Any]], caller: Caller
) -> dict[str, Any]:
    if not isinstance(patch, list) or not patch:
        raise InvalidInput("the body must be a non-empty JSON patch (a list of operations)")
    touched: set[str] = set()
    for i, op in enumerate(patch):
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise InvalidInput(f"patch operation {i} needs 'op' and 'path'", field=f"patch/{i}")
        if not isinstance(op["path"], str) or not op["path"].startswith("/"):
            raise InvalidInput(f"patch operation {i}: path must start with '/'", field="path")
        top = op["path"].split("/")[1]
        if top not in WRITABLE:
            raise InvalidInput(
                f"'/{top}' cannot be changed with PATCH"
                + (" (it is set by the conductor)" if top in COLUMNS else ""),
                field=top,
            )
        touched.add(top)
    _check_version(touched, caller)
    with svc.db.write() as conn:
        node = node_db.get_node(conn, ident)
        if node["reservation"] is not None:
            raise node_db.locked_error(node, node["reservation"], "update")
        _refuse_secret_reads(patch, secret_test(node["driver"]))
        doc = _public_doc(node, conn)
        try:
            new = jsonpatch.apply_patch(doc, patch)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as e:
            raise InvalidInput(f"cannot apply the patch: {e}", field="patch") from None
        changes = {k: new.get(k) for k in WRITABLE if new.get(k) != doc.get(k)}
        for f, val in changes.items():
            kind = fields.BY_NAME[f].type
            if kind == "object" and val is None:
                changes[f] = val = {}
            if kind == "boolean" and val is None and f != "automated_clean":
                changes[f] = val = False
            if kind == "boolean" and isinstance(val, str) and val.lower() in ("true", "false"):
                # `baremetal node set --retired` sends "True": Ironic reads it as a boolean
                changes[f] = val = val.lower() == "true"
            _check_value(f, val)
        if "driver" in changes and not changes["driver"]:
            raise InvalidInput("driver cannot be removed", field="driver")
        if "driver" in changes or any(k.endswith("_interface") for k in changes):
            merged = {**node, **changes}
            if "driver" in changes:  # a new hardware type: reset interfaces not chosen now
                for kind in INTERFACE_KINDS:
                    if f"{kind}_interface" not in changes:
                        merged[f"{kind}_interface"] = None
            _resolve_interfaces(svc, merged)
            changes.update({f"{k}_interface": merged[f"{k}_interface"] for k in INTERFACE_KINDS})
        if "driver_info" in changes or "driver" in changes:
            # a new hardware type may declare other keys secret: seal against its list
            info = changes.get("driver_info", node["driver_info"]) or {}
            sealed = seal_driver_info(
                svc, changes.get("driver", node["driver"]), info, stored=node["driver_info"]
            )
            if "driver_info" in changes:
                plain = svc.secrets.open(sealed)
                _validate_driver_info(svc, {**node, **changes, "driver_info": plain})
            if "driver_info" in changes or sealed != node["driver_info"]:
                changes["driver_info"] = sealed
        if changes.get("protected") and node["provision_state"] != states.ACTIVE:
            raise Conflict("only an active node can be protected", field="protected")
        if "protected" in changes and not changes["protected"]:
            changes["protected_reason"] = None
        # Ironic's rules: an available node may be claimed at any moment, so it is moved to
        # manageable before it is retired; un-retiring forgets the reason.
        if changes.get("retired") and node["provision_state"] == states.AVAILABLE:
            raise Conflict(
                f"Node {node['uuid']} can not be retired while it is available; move it to "
                "manageable first (baremetal node manage), then retire it",
                field="retired",
            )
        if "retired" in changes and not changes["retired"]:
            changes["retired_reason"] = None
        if "chassis_uuid" in changes:
            changes["chassis_id"] = _chassis_id(conn, changes.pop("chassis_uuid"))
        if "maintenance" in changes and not changes["maintenance"]:
            changes["maintenance_reason"] = None
            changes["fault"] = None
        if (
            node["instance_uuid"]
            and changes.get("instance_uuid")
            and changes["instance_uuid"] != node["instance_uuid"]
        ):
            raise Conflict(
                f"Node {node['uuid']} is associated with instance {node['instance_uuid']}; "
                "remove it first",
                field="instance_uuid",
            )
        if "instance_uuid" in changes and not changes["instance_uuid"] and node["instance_uuid"]:
            _keep_the_hosts_instance(conn, node)
            if node["allocation_uuid"]:
                _drop_allocation(conn, node)
                changes["allocation_uuid"] = None
        if not changes:
            return node
        try:
            with conn.begin_nested():
                node_db.update_node(conn, node["id"], changes)
        except IntegrityError as e:
            raise _unique_violation(e, {**node, **changes}) from None
        return node_db.get_node(conn, node["id"])


def _refuse_secret_reads(patch: list[dict[str, Any]], is_secret: Any) -> None:
    """JSON-patch copy, move and test read a value: from a secret of driver_info (or the whole
    driver_info) they would echo its ciphertext elsewhere or probe it. Refused, naming the
    operation, never the value."""
    for i, op in enumerate(patch):
        source = op.get("from") if op["op"] in ("copy", "move") else op["path"]
        if op["op"] not in ("copy", "move", "test") or not isinstance(source, str):
            continue
        parts = source.split("/")
        if len(parts) < 2 or parts[1] != "driver_info":
            continue
        key = parts[2].replace("~1", "/").replace("~0", "~") if len(parts) > 2 else None
        if key is None or is_secret(key):
            raise InvalidInput(
                f"patch operation {i} ({op['op']}) would read {source}, which holds secrets; "
                "set secret values with add or replace only",
                field="patch",
            )


def _keep_the_hosts_instance(conn: sa.Connection, node: dict[str, Any]) -> None:
    """A node that carries a host keeps its instance_uuid: without it the scheduler would put
    a second host on the node."""
    host = host_db.on_node(conn, node["id"])
    if host is not None:
        raise Conflict(
            f"node {node['uuid']} carries host {host['name']} ({host['uuid']}); delete the "
            "host (DELETE /api/v1/hosts/...) instead of removing instance_uuid",
            field="instance_uuid",
        )


def _drop_allocation(conn: sa.Connection, node: dict[str, Any]) -> None:
    """Removing the instance of a node held by an allocation removes the allocation (Ironic's
    rule), when the allocation may be removed."""
    allocation = alloc_db.of_node(conn, node["id"])
    if allocation is None:
        return
    why = alloc_rules.removal_refused(node, allocation["uuid"])
    if why:
        raise Conflict(why, field="instance_uuid")
    alloc_db.delete(conn, allocation)


def delete_node(svc: Services, ident: str, caller: Caller) -> None:
    with svc.db.write() as conn:
        node = node_db.get_node(conn, ident)
        caller.acted_on("node", node["uuid"], node["name"])  # the row is gone at commit
        if node["reservation"] is not None:
            raise node_db.locked_error(node, node["reservation"], "delete")
        if node["protected"]:
            raise Forbidden(f"Node {node['uuid']} is protected; unset protected first")
        if node["instance_uuid"]:
            raise Conflict(
                f"Can not delete node {node['uuid']} while it is associated with instance "
                f"{node['instance_uuid']}; remove instance_uuid first"
            )
        if node["provision_state"] not in states.DELETABLE_STATES and not node["maintenance"]:
            raise Conflict(
                f"Node {node['uuid']} can not be deleted while it is in state "
                f'"{node["provision_state"]}"; move it to one of '
                f"{', '.join(sorted(states.DELETABLE_STATES))} or set maintenance first"
            )
        node_db.delete_node(conn, node["id"])


def set_maintenance(
    svc: Services, ident: str, on: bool, reason: str | None, caller: Caller
) -> None:
    if reason is not None and not isinstance(reason, str):
        raise InvalidInput("reason must be a string", field="reason")
    with svc.db.write() as conn:
        node = node_db.get_node(conn, ident)
        values: dict[str, Any] = {"maintenance": on, "maintenance_reason": reason if on else None}
        if not on:
            values["fault"] = None
        node_db.update_node(conn, node["id"], values)
        text = f"Maintenance set: {reason or 'no reason given'}" if on else "Maintenance cleared"
        node_db.record_event(
            conn,
            node["id"],
            text,
            event_type="maintenance",
            user=caller.user,
            request_id=caller.request_id,
        )


def node_ref(conn: sa.Connection, ident: str) -> dict[str, Any]:
    """A node for nested resources (ports of node X): NotFound with the node's words."""
    try:
        return node_db.get_node(conn, ident)
    except NotFound:
        raise NotFound(f"Node {ident} could not be found.") from None
