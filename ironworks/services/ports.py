"""Ports (a node's NICs) and portgroups (bonds of ports).

The VIFs attached to them are host NICs (services/hostnics.py, table host_nics); a port or
portgroup with one cannot be deleted, and its answers show the VIF's id in
`internal_info.tenant_vif_port_id` as Ironic's do (db/ports.py).
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ironworks.common.errors import Conflict, InvalidInput, NotFound
from ironworks.common.ids import is_uuid_like, is_valid_name, new_uuid, normalize_mac
from ironworks.db import hostnics
from ironworks.db import nodes as node_db
from ironworks.db import ports as port_db
from ironworks.db.engine import utcnow
from ironworks.services.context import Caller, Services

BOND_MODES = frozenset(
    {
        "balance-rr",
        "active-backup",
        "balance-xor",
        "broadcast",
        "802.3ad",
        "balance-tlb",
        "balance-alb",
    }
)


class _Kind:
    """What differs between ports and portgroups; the CRUD below is shared."""

    def __init__(
        self,
        which: str,
        word: str,
        creatable: frozenset[str],
        dicts: frozenset[str],
        bools: frozenset[str],
        sort_keys: frozenset[str],
    ) -> None:
        self.which, self.word = which, word  # which: the name db/ports.py knows it by
        self.creatable, self.dicts, self.bools, self.sort_keys = creatable, dicts, bools, sort_keys
        self.writable = creatable - {"uuid"}


PORT = _Kind(
    "ports",
    "Port",
    frozenset(
        {
            "uuid",
            "address",
            "node_uuid",
            "portgroup_uuid",
            "local_link_connection",
            "pxe_enabled",
            "physical_network",
            "extra",
            "is_smartnic",
            "name",
            "description",
            "vendor",
            "category",
            "available_for_dynamic_portgroup",
        }
    ),
    frozenset({"local_link_connection", "extra"}),
    frozenset({"pxe_enabled", "is_smartnic", "available_for_dynamic_portgroup"}),
    frozenset({"id", "uuid", "address", "created_at", "updated_at", "name"}),
)
PORTGROUP = _Kind(
    "portgroups",
    "Portgroup",
    frozenset(
        {
            "uuid",
            "address",
            "node_uuid",
            "name",
            "mode",
            "properties",
            "standalone_ports_supported",
            "extra",
            "physical_network",
            "category",
        }
    ),
    frozenset({"properties", "extra"}),
    frozenset({"standalone_ports_supported"}),
    frozenset({"id", "uuid", "address", "created_at", "updated_at", "name"}),
)


def _get(conn: sa.Connection, kind: _Kind, ident: str) -> dict[str, Any]:
    row = port_db.find(conn, kind.which, ident)
    if row is None:
        raise NotFound(f"{kind.word} {ident} could not be found.")
    return row


def _portgroup_id(conn: sa.Connection, ident: str | None, node_id: int) -> int | None:
    if ident is None:
        return None
    pg = _get(conn, PORTGROUP, ident)
    if pg["node_id"] != node_id:
        raise InvalidInput(
            f"portgroup {ident} belongs to another node; a port joins a bond of its own node",
            field="portgroup_uuid",
        )
    return pg["id"]


def _check(kind: _Kind, values: dict[str, Any]) -> None:
    for f, val in values.items():
        if f in kind.dicts and not isinstance(val, dict):
            raise InvalidInput(f"{f} must be a JSON object", field=f)
        if f in kind.bools and not isinstance(val, bool):
            raise InvalidInput(f"{f} must be true or false", field=f)
    if "address" in values and values["address"] is not None:
        mac = normalize_mac(values["address"])
        if mac is None:
            raise InvalidInput(
                f"address {values['address']!r} is not a MAC address (aa:bb:cc:dd:ee:ff)",
                field="address",
            )
        values["address"] = mac
    elif kind is PORT and "address" in values:
        raise InvalidInput("address is required", field="address")
    name = values.get("name")
    if name is not None and (
        not isinstance(name, str) or not is_valid_name(name) or is_uuid_like(name)
    ):
        raise InvalidInput(f"name {name!r} is not valid", field="name")
    mode = values.get("mode")
    if mode is not None and mode not in BOND_MODES:
        raise InvalidInput(
            f"mode {mode!r} is not a bond mode; use one of {', '.join(sorted(BOND_MODES))}",
            field="mode",
        )


def _conflict(kind: _Kind, e: IntegrityError, values: dict[str, Any]) -> Conflict:
    text = str(e.orig).lower()
    if "address" in text:
        return Conflict(
            f"A {kind.word.lower()} with MAC address {values.get('address')} already exists."
        )
    if "name" in text:
        return Conflict(f"A {kind.word.lower()} with name {values.get('name')} already exists.")
    return Conflict(f"A {kind.word.lower()} with UUID {values.get('uuid')} already exists.")


def create(svc: Services, kind: _Kind, body: dict[str, Any], caller: Caller) -> dict[str, Any]:
    unknown = set(body) - kind.creatable
    if unknown:
        f = sorted(unknown)[0]
        raise InvalidInput(f"unknown or read-only attribute {f!r} in the request", field=f)
    node_ident = body.get("node_uuid")
    if not isinstance(node_ident, str):
        raise InvalidInput("node_uuid is required", field="node_uuid")
    values = {k: val for k, val in body.items() if k not in ("node_uuid", "portgroup_uuid")}
    if kind is PORT:
        values.setdefault("address", None)
    _check(kind, values)
    if body.get("uuid") is not None and not is_uuid_like(str(body["uuid"])):
        raise InvalidInput(f"uuid {body['uuid']!r} is not a UUID", field="uuid")
    values["uuid"] = str(body.get("uuid") or new_uuid()).lower()
    for f in kind.dicts:
        values.setdefault(f, {})
    values.setdefault("internal_info", {})
    values["created_at"] = utcnow()
    try:
        with svc.db.write() as conn:
            try:
                node_id, node_uuid = node_db.node_key(conn, node_ident)
            except NotFound:
                raise InvalidInput(f"node {node_ident} does not exist", field="node_uuid") from None
            values["node_id"] = node_id
            if kind is PORT:
                values["portgroup_id"] = _portgroup_id(conn, body.get("portgroup_uuid"), node_id)
            row = port_db.add(conn, kind.which, values)
            row["node_uuid"] = node_uuid
            if kind is PORT:
                pg = row["portgroup_id"]
                row["portgroup_uuid"] = port_db.portgroup_uuid(conn, pg) if pg else None
            return row
    except IntegrityError as e:
        raise _conflict(kind, e, values) from None


def get(svc: Services, kind: _Kind, ident: str) -> dict[str, Any]:
    with svc.db.read() as conn:
        return port_db.get(conn, kind.which, _get(conn, kind, ident)["id"])


def list_(
    svc: Services,
    kind: _Kind,
    *,
    node: str | None = None,
    portgroup: str | None = None,
    address: str | None = None,
    sort_key: str = "id",
    sort_dir: str = "asc",
    marker: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    limit = min(limit or svc.settings.api.max_limit, svc.settings.api.max_limit)
    with svc.db.read() as conn:
        node_id = None if node is None else node_db.get_node(conn, node)["id"]
        group_id = None
        if portgroup is not None and kind is PORT:
            group_id = _get(conn, PORTGROUP, portgroup)["id"]
        return port_db.page(
            conn,
            kind.which,
            node_id=node_id,
            portgroup_id=group_id,
            address=None if address is None else (normalize_mac(address) or address),
            sort_key=sort_key,
            sort_dir=sort_dir,
            allowed_keys=kind.sort_keys,
            marker=_get(conn, kind, marker) if marker else None,
            limit=limit,
        )


def patch(
    svc: Services, kind: _Kind, ident: str, ops: list[dict[str, Any]], caller: Caller
) -> dict[str, Any]:
    if not isinstance(ops, list) or not ops:
        raise InvalidInput("the body must be a non-empty JSON patch (a list of operations)")
    with svc.db.write() as conn:
        row = port_db.get(conn, kind.which, _get(conn, kind, ident)["id"])
        for op in ops:
            top = str(op.get("path", "")).split("/")[1] if isinstance(op, dict) else ""
            if top not in kind.writable:
                raise InvalidInput(f"'/{top}' cannot be changed with PATCH", field=top or "path")
        doc = {f: copy.deepcopy(row.get(f)) for f in kind.writable}
        try:
            new = jsonpatch.apply_patch(doc, ops)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as e:
            raise InvalidInput(f"cannot apply the patch: {e}", field="patch") from None
        changes = {k: new.get(k) for k in kind.writable if new.get(k) != doc.get(k)}
        for f in kind.dicts:
            if f in changes and changes[f] is None:
                changes[f] = {}
        _check(
            kind, {k: val for k, val in changes.items() if k not in ("node_uuid", "portgroup_uuid")}
        )
        node_id = row["node_id"]
        moved = {"node_uuid", "portgroup_uuid"} & set(changes)
        vif = hostnics.vif_on(conn, kind.which, row["id"]) if moved else None
        if vif is not None:
            field = sorted(moved)[0]
            raise Conflict(
                f"{kind.word} {row['uuid']} has VIF {vif} attached: detach it before changing "
                f"{field}",
                field=field,
            )
        if "node_uuid" in changes:
            node = node_db.get_node(conn, changes.pop("node_uuid"))
            node_id = changes["node_id"] = node["id"]
        if "portgroup_uuid" in changes:
            changes["portgroup_id"] = _portgroup_id(conn, changes.pop("portgroup_uuid"), node_id)
        if changes:
            changes["updated_at"] = utcnow()
            try:
                with conn.begin_nested():  # a savepoint: the transaction survives a conflict
                    port_db.update(conn, kind.which, row["id"], changes)
            except IntegrityError as e:
                raise _conflict(kind, e, changes) from None
        return port_db.get(conn, kind.which, row["id"])


def delete(svc: Services, kind: _Kind, ident: str, caller: Caller) -> None:
    with svc.db.write() as conn:
        row = _get(conn, kind, ident)
        vif = hostnics.vif_on(conn, kind.which, row["id"])
        if vif is not None:
            raise Conflict(f"{kind.word} {row['uuid']} has VIF {vif} attached; detach it first")
        if kind is PORTGROUP:
            members = port_db.count_members(conn, row["id"])
            if members:
                raise Conflict(
                    f"Portgroup {row['uuid']} still has {members} port(s); remove them from it first"
                )
        port_db.delete(conn, kind.which, row["id"])
