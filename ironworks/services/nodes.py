"""Node inventory: create, update (JSON patch), delete, list, maintenance.

Provisioning and power requests live in `services/operations.py`; this module owns the rules
for the node record itself.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import jsonpatch
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ironworks.common.errors import Conflict, Forbidden, InvalidInput, NotAcceptable, NotFound
from ironworks.common.ids import is_uuid_like, is_valid_name, new_uuid, normalize_uuid
from ironworks.db import nodes as node_db
from ironworks.db.engine import utcnow
from ironworks.db.pagination import paginate
from ironworks.db.schema import INTERFACES, chassis, nodes
from ironworks.domain import states
from ironworks.domain import versions as v
from ironworks.drivers.base import Task
from ironworks.drivers.registry import hardware_type
from ironworks.services import licensing
from ironworks.services.context import Caller, Services

DICT_FIELDS = frozenset(
    {"driver_info", "properties", "extra", "instance_info", "network_data"}
)  # fmt: skip
STR_FIELDS = frozenset(
    {
        "name", "resource_class", "conductor_group", "owner", "lessee", "description",
        "protected_reason", "retired_reason", "shard", "parent_node", "instance_uuid",
        "instance_name", "maintenance_reason", "chassis_uuid",
        *(f"{i}_interface" for i in INTERFACES),
    }
)  # fmt: skip
BOOL_FIELDS = frozenset(
    {"automated_clean", "protected", "retired", "disable_power_off", "maintenance"}
)
WRITABLE = DICT_FIELDS | STR_FIELDS | BOOL_FIELDS | {"driver"}
CREATABLE = (WRITABLE - {"maintenance", "maintenance_reason"}) | {"uuid"}

# States a node may be deleted in (any state when in maintenance).
DELETE_ALLOWED = frozenset(
    {
        states.ENROLL, states.MANAGEABLE, states.AVAILABLE, states.INSPECT_FAILED,
        states.CLEAN_FAILED, states.ADOPT_FAILED,
    }
)  # fmt: skip

COLUMNS = frozenset(c.name for c in nodes.c)
SORT_KEYS = frozenset(
    {
        "id", "uuid", "name", "created_at", "updated_at", "provision_state", "power_state",
        "driver", "resource_class", "conductor_group", "owner", "provision_updated_at",
        "maintenance", "instance_uuid",
    }
)  # fmt: skip


def _check_value(field: str, value: Any) -> None:
    if field in DICT_FIELDS and not isinstance(value, dict):
        raise InvalidInput(f"{field} must be a JSON object", field=field)
    if field in STR_FIELDS and value is not None and not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string or null", field=field)
    if field in BOOL_FIELDS and value is not None and not isinstance(value, bool):
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
    for kind in INTERFACES:
        key = f"{kind}_interface"
        chosen = values.get(key)
        values[key] = hw.interface(kind, chosen).name if chosen else hw.default(kind)


def secret_test(driver: str) -> Callable[[str], bool]:
    """Which driver_info keys of this hardware type are stored encrypted: those its interfaces
    declare secret (`Prop(secret=True)`) and any whose name contains "password"."""
    try:
        declared = hardware_type(driver).secret_keys()
    except InvalidInput:  # a type no longer registered: its passwords are still passwords
        declared = frozenset()
    return lambda key: key in declared or "password" in key


def seal_driver_info(
    svc: Services, driver: str, info: dict[str, Any], stored: dict[str, Any] | None = None
) -> dict[str, Any]:
    return svc.secrets.seal(info, secret_test(driver), stored=stored)


def _validate_driver_info(svc: Services, values: dict[str, Any]) -> None:
    """Formats of the driver_info values given (plain text); required keys are checked by
    `manage`."""
    hw = hardware_type(values["driver"], svc.settings.enabled_hardware_types)
    task = Task(node={"uuid": values.get("uuid", "?"), **values}, purpose="validate input")
    for kind in INTERFACES:
        hw.interface(kind, values.get(f"{kind}_interface")).check_formats(task)


def _chassis_id(conn: sa.Connection, chassis_uuid: str | None) -> int | None:
    if chassis_uuid is None:
        return None
    cid = conn.execute(sa.select(chassis.c.id).where(chassis.c.uuid == chassis_uuid)).scalar()
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


# Built once; missing columns take their declared defaults.
_INSERT_NODE = sa.insert(nodes).returning(*nodes.c)


def create_node(svc: Services, body: dict[str, Any], caller: Caller) -> dict[str, Any]:
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
    for f in DICT_FIELDS:
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
            licensing.check_enrolment(conn, svc, 1)
            values["chassis_id"] = _chassis_id(conn, body.get("chassis_uuid"))
            node = dict(conn.execute(_INSERT_NODE, values).mappings().one())
            caller.acted_on("node", node["uuid"], node["name"])
            node_db.record_event(
                conn, node["id"], f"Node created in state {initial}", event_type="provisioning",
                to_state=initial, request_id=caller.request_id, user=caller.user,
            )  # fmt: skip
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
    """Nodes matching `filters`; with `columns`, only those columns (lists of a few fields
    are polled constantly by clients waiting for states: they should not decode JSON blobs)."""
    if columns is None:
        q = sa.select(nodes)
    else:
        keep = {"id", "uuid", "chassis_id", "conductor_group", sort_key} | columns
        q = sa.select(*(c for c in nodes.c if c.name in keep))
    for key, val in filters.items():
        if val is None:
            continue
        if key == "associated":
            q = q.where(
                nodes.c.instance_uuid.is_not(None) if val else nodes.c.instance_uuid.is_(None)
            )
        elif key == "instance_uuid":
            q = q.where(nodes.c.instance_uuid == val)
        elif key == "chassis_uuid":
            sub = sa.select(chassis.c.id).where(chassis.c.uuid == val).scalar_subquery()
            q = q.where(nodes.c.chassis_id == sub)
        elif key == "include_children":
            if not val:
                q = q.where(nodes.c.parent_node.is_(None))
        elif key == "description_contains":
            q = q.where(nodes.c.description.contains(val))
        else:
            q = q.where(nodes.c[key] == val)
    limit = min(limit or svc.settings.api.max_limit, svc.settings.api.max_limit)
    with svc.db.read() as conn:
        marker_row = node_db.get_node(conn, marker) if marker else None
        q = paginate(
            q, nodes, sort_key=sort_key, sort_dir=sort_dir, allowed_keys=SORT_KEYS,
            marker=marker_row, limit=limit,
        )  # fmt: skip
        return [dict(r) for r in conn.execute(q).mappings()]


def _public_doc(node: dict[str, Any], conn: sa.Connection) -> dict[str, Any]:
    doc = {f: copy.deepcopy(node.get(f)) for f in WRITABLE if f != "chassis_uuid"}
    doc["chassis_uuid"] = None
    if node.get("chassis_id"):
        doc["chassis_uuid"] = conn.execute(
            sa.select(chassis.c.uuid).where(chassis.c.id == node["chassis_id"])
        ).scalar()
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
                + (" (it is set by the conductor)" if top in nodes.c else ""),
                field=top,
            )
        touched.add(top)
    _check_version(touched, caller)
    with svc.db.write() as conn:
        node = node_db.get_node(conn, ident)
        if node["reservation"] is not None:
            raise node_db.locked_error(node, node["reservation"], "update")
        doc = _public_doc(node, conn)
        try:
            new = jsonpatch.apply_patch(doc, patch)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as e:
            raise InvalidInput(f"cannot apply the patch: {e}", field="patch") from None
        changes = {k: new.get(k) for k in WRITABLE if new.get(k) != doc.get(k)}
        for f, val in changes.items():
            if f in DICT_FIELDS and val is None:
                changes[f] = val = {}
            if f in BOOL_FIELDS and val is None and f != "automated_clean":
                changes[f] = val = False
            _check_value(f, val)
        if "driver" in changes and not changes["driver"]:
            raise InvalidInput("driver cannot be removed", field="driver")
        if "driver" in changes or any(k.endswith("_interface") for k in changes):
            merged = {**node, **changes}
            if "driver" in changes:  # a new hardware type: reset interfaces not chosen now
                for kind in INTERFACES:
                    if f"{kind}_interface" not in changes:
                        merged[f"{kind}_interface"] = None
            _resolve_interfaces(svc, merged)
            changes.update({f"{k}_interface": merged[f"{k}_interface"] for k in INTERFACES})
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
        if not changes:
            return node
        try:
            with conn.begin_nested():
                node_db.update_node(conn, node["id"], changes)
        except IntegrityError as e:
            raise _unique_violation(e, {**node, **changes}) from None
        return node_db.get_node(conn, node["id"])


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
        if node["provision_state"] not in DELETE_ALLOWED and not node["maintenance"]:
            raise Conflict(
                f"Node {node['uuid']} can not be deleted while it is in state "
                f'"{node["provision_state"]}"; move it to one of '
                f"{', '.join(sorted(DELETE_ALLOWED))} or set maintenance first"
            )
        conn.execute(sa.delete(nodes).where(nodes.c.id == node["id"]))


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
            conn, node["id"], text, event_type="maintenance", user=caller.user,
            request_id=caller.request_id,
        )  # fmt: skip


def node_ref(conn: sa.Connection, ident: str) -> dict[str, Any]:
    """A node for nested resources (ports of node X): NotFound with the node's words."""
    try:
        return node_db.get_node(conn, ident)
    except NotFound:
        raise NotFound(f"Node {ident} could not be found.") from None
