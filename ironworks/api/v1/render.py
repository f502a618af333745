"""Rows to Ironic v1 JSON, by microversion.

Field lists are computed once per (resource, version) and cached: rendering 1,000 nodes is a
loop over prepared keys, not 69 version checks per node.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from ironworks.common.crypto import is_sealed
from ironworks.common.errors import InvalidInput, NotAcceptable
from ironworks.domain import nodes, states
from ironworks.domain import versions as v
from ironworks.drivers.registry import secret_keys

MASK = "******"

NODE_FIELDS = nodes.NAMES
NODE_LINK_FIELDS = ("links", "ports", "portgroups", "states", "volume")
NODE_DEFAULT_LIST_FIELDS = (
    "instance_uuid",
    "maintenance",
    "power_state",
    "provision_state",
    "uuid",
    "name",
)
NODE_STATES_FIELDS = (
    "console_enabled",
    "last_error",
    "power_state",
    "provision_state",
    "provision_updated_at",
    "target_power_state",
    "target_provision_state",
    "raid_config",
    "target_raid_config",
    "boot_mode",
    "secure_boot",
)
PORT_FIELDS = (
    "address",
    "available_for_dynamic_portgroup",
    "category",
    "created_at",
    "description",
    "extra",
    "internal_info",
    "is_smartnic",
    "local_link_connection",
    "name",
    "node_uuid",
    "physical_network",
    "portgroup_uuid",
    "pxe_enabled",
    "updated_at",
    "uuid",
    "vendor",
)
PORTGROUP_FIELDS = (
    "address",
    "category",
    "created_at",
    "dynamic_portgroup",
    "extra",
    "internal_info",
    "mode",
    "name",
    "node_uuid",
    "physical_network",
    "properties",
    "standalone_ports_supported",
    "updated_at",
    "uuid",
)


def ts(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def _links(base: str, kind: str, ident: str, sub: str = "") -> list[dict[str, str]]:
    return [
        {"href": f"{base}/v1/{kind}/{ident}{sub}", "rel": "self"},
        {"href": f"{base}/{kind}/{ident}{sub}", "rel": "bookmark"},
    ]


@lru_cache(maxsize=512)
def node_fields(version: v.Version) -> tuple[str, ...]:
    return tuple(
        f
        for f in (*NODE_FIELDS, *NODE_LINK_FIELDS)
        if v.visible(f, v.NODE_FIELD_VERSIONS, version)
        and (f != "states" or version >= v.STATES_LINK)
    )


def parse_fields(
    raw: str | None, allowed: tuple[str, ...], table: dict[str, v.Version], version: v.Version
) -> tuple[str, ...] | None:
    """`fields=a,b` checked against the version: 406 for too new, 400 for unknown."""
    if raw is None:
        return None
    if version < v.FIELDS_PARAM:
        raise NotAcceptable(f"fields needs API version {v.fmt(v.FIELDS_PARAM)} or later")
    wanted = tuple(dict.fromkeys(f.strip() for f in raw.split(",") if f.strip()))
    every = set(allowed) | set(table)
    bad = [f for f in wanted if f not in every]
    if bad:
        raise InvalidInput(f'Field(s) "{", ".join(bad)}" are not valid', field="fields")
    for f in wanted:
        if not v.visible(f, table, version):
            raise NotAcceptable(
                f"Request not acceptable. The minimal required API version should be "
                f"{v.fmt(table[f])} for field {f}"
            )
    return wanted


def only(out: dict[str, Any], fields: tuple[str, ...] | None) -> dict[str, Any]:
    """A rendered resource cut to `fields` and its links (None: whole), as Ironic's
    `?fields=`."""
    if fields is None:
        return out
    return {k: out[k] for k in (*fields, "links") if k in out}


def shown(
    info: dict[str, Any], spec: nodes.Secrets, declared: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """A JSON field as a response shows it (domain/nodes.py `Secrets`): hidden keys left out,
    masked keys and every non-empty secret of a sealed field as ******, and, in a sealed field,
    every value stored encrypted, whatever its key."""
    out: dict[str, Any] = {}
    for k, val in info.items():
        if spec.hidden_prefix and k.startswith(spec.hidden_prefix):
            continue
        secret = spec.sealed and val and (nodes.is_secret_key(k, declared) or is_sealed(val))
        out[k] = MASK if secret or k in spec.masked else val
    return out


_COMPUTED = frozenset(
    {"links", "ports", "portgroups", "states", "volume", "chassis_uuid", "conductor"}
    | {"provision_state", "target_provision_state"}
)


@lru_cache(maxsize=512)
def _plan(fields: tuple[str, ...]) -> tuple[tuple[str, bool], ...]:
    """(field, shown as stored?) in order: what NodeRenderer.value would return unchanged."""
    return tuple(
        (f, f not in _COMPUTED and f not in nodes.SECRETS and f not in nodes.TIMESTAMPS)
        for f in fields
    )


class NodeRenderer:
    """Renders node rows for one request: base URL, version and a conductor lookup."""

    def __init__(
        self,
        base: str,
        version: v.Version,
        conductor_of: Any = None,
        chassis_uuids: dict[int, str] | None = None,
    ) -> None:
        self.base = base
        self.version = version
        self.conductor_of = conductor_of or (lambda node: None)
        self.chassis_uuids = chassis_uuids or {}

    def value(self, node: dict[str, Any], f: str) -> Any:
        if f in ("links", "ports", "portgroups", "states", "volume"):
            sub = "" if f == "links" else f"/{f}"
            return _links(self.base, "nodes", node["uuid"], sub)
        spec = nodes.SECRETS.get(f)
        if spec is not None:
            declared = secret_keys(node.get("driver")) if spec.sealed else frozenset()
            return shown(node[f] or {}, spec, declared)
        if f == "chassis_uuid":
            return self.chassis_uuids.get(node["chassis_id"]) if node["chassis_id"] else None
        if f == "conductor":
            return self.conductor_of(node)
        if f == "provision_state":
            return self.state(node["provision_state"])
        if f == "target_provision_state":
            t = node["target_provision_state"]
            return (
                self.state(t)
                if t != states.AVAILABLE or self.version >= v.AVAILABLE_NOT_NONE
                else t
            )
        if f in nodes.TIMESTAMPS:
            return ts(node[f])
        return node[f]

    def state(self, state: str | None) -> str | None:
        if state == states.AVAILABLE and self.version < v.AVAILABLE_NOT_NONE:
            return None
        if state == states.INSPECT_WAIT and self.version < v.INSPECT_WAIT_VISIBLE:
            return states.INSPECTING
        return state

    def render(self, node: dict[str, Any], fields: tuple[str, ...] | None = None) -> dict[str, Any]:
        chosen = fields if fields is not None else node_fields(self.version)
        value = self.value
        # most fields are the column as stored: read those directly, the rest through value()
        out = {f: node[f] if plain else value(node, f) for f, plain in _plan(chosen)}
        if fields is not None and "links" not in out:
            out["links"] = self.value(node, "links")
        return out

    def states_view(self, node: dict[str, Any]) -> dict[str, Any]:
        return {
            f: self.value(node, f)
            for f in NODE_STATES_FIELDS
            if v.visible(f, v.NODE_FIELD_VERSIONS, self.version)
        }


def port(
    row: dict[str, Any], base: str, version: v.Version, fields: tuple[str, ...] | None = None
) -> dict[str, Any]:
    chosen = fields or [f for f in PORT_FIELDS if v.visible(f, v.PORT_FIELD_VERSIONS, version)]
    out = {f: ts(row[f]) if f.endswith("_at") else row.get(f) for f in chosen}
    out["links"] = _links(base, "ports", row["uuid"])
    return out


def portgroup(
    row: dict[str, Any], base: str, version: v.Version, fields: tuple[str, ...] | None = None
) -> dict[str, Any]:
    chosen = fields or [
        f for f in PORTGROUP_FIELDS if v.visible(f, v.PORTGROUP_FIELD_VERSIONS, version)
    ]
    out = {}
    for f in chosen:
        if f == "dynamic_portgroup":
            out[f] = False
        elif f.endswith("_at"):
            out[f] = ts(row[f])
        else:
            out[f] = row.get(f)
    out["links"] = _links(base, "portgroups", row["uuid"])
    if not fields:
        out["ports"] = _links(base, "portgroups", row["uuid"], "/ports")
    return out


def history_event(
    row: dict[str, Any], base: str, node_uuid: str, version: v.Version, detail: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "uuid": row["uuid"],
        "created_at": ts(row["created_at"]),
        "severity": row["severity"],
        "event": row["event"] if len(row["event"]) <= 255 else row["event"][:251] + "...",
        "links": [{"href": f"{base}/v1/nodes/{node_uuid}/history/{row['uuid']}", "rel": "self"}],
    }
    if detail:
        out["event"] = row["event"]
        out.update(event_type=row["event_type"], conductor=row["conductor"], user=row["user"])
        if v.visible("project", v.HISTORY_FIELD_VERSIONS, version):
            out["project"] = row["project"]
        if v.visible("state", v.HISTORY_FIELD_VERSIONS, version):
            out["state"] = row["to_state"]
            out["target_provision_state"] = row["target_provision_state"]
            dur = row["duration"]
            out["duration_seconds"] = round(dur) if dur is not None else None
        # Ironworks' own precision for deploy timelines (clients ignore unknown keys)
        out["from_state"] = row["from_state"]
        out["duration"] = row["duration"]
        out["request_id"] = row["request_id"]
    return out
