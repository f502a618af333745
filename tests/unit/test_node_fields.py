"""The node field table (domain/nodes.py) and what is built from it."""

from __future__ import annotations

from ironworks.db.schema import nodes as node_table
from ironworks.domain import nodes, versions


def test_each_field_once_and_every_interface_kind_a_field() -> None:
    assert len(nodes.NAMES) == len(set(nodes.NAMES))
    assert set(nodes.INTERFACE_FIELDS) <= nodes.WRITABLE
    assert (nodes.WRITABLE - {"maintenance", "maintenance_reason"}) | {"uuid"} == nodes.CREATABLE


def test_writable_fields_are_columns_or_resolved_ones() -> None:
    columns = {c.name for c in node_table.c}
    assert nodes.WRITABLE - columns == {"chassis_uuid"}  # stored as chassis_id


def test_the_microversion_table_is_the_since_column() -> None:
    for f in nodes.FIELDS:
        assert versions.NODE_FIELD_VERSIONS.get(f.name) == f.since, f.name
        assert f.since is None or versions.MIN_VERSION < f.since <= versions.MAX_VERSION


def test_the_secret_rule() -> None:
    assert nodes.SECRETS["driver_info"].sealed
    assert "configdrive" in nodes.SECRETS["instance_info"].masked
    for key in ("ipmi_password", "snmp_auth_key", "x_password_y"):
        assert nodes.is_secret_key(key)
    assert nodes.is_secret_key("token", frozenset({"token"}))
    assert not nodes.is_secret_key("ipmi_username")
