"""NodeRenderer.render reads plain fields straight from the row: same output as value()."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ironworks.api.v1 import render
from ironworks.db.schema import nodes
from ironworks.domain import versions as v


def _row() -> dict[str, Any]:
    row: dict[str, Any] = {c.name: {} if str(c.type) == "JSON" else None for c in nodes.c}
    row.update(
        id=1,
        uuid="1be26c0b-03f2-4d2e-ae87-c02d7f33c123",
        name="n1",
        driver="fake-hardware",
        driver_info={"fake_username": "admin", "fake_password": "secret"},
        instance_info={"image_source": "http://x/img", "configdrive": "abc"},
        provision_state="available",
        target_provision_state="available",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        updated_at=datetime(2026, 1, 2),
        chassis_id=None,
        traits=["CUSTOM_A"],
    )
    return row


def test_render_matches_value_for_every_field_at_every_version() -> None:
    row = _row()
    for minor in range(v.MIN_VERSION[1], v.MAX_VERSION[1] + 1):
        version = (1, minor)
        r = render.NodeRenderer("http://h", version)  # type: ignore[arg-type]
        expected = {f: r.value(row, f) for f in render.node_fields(version)}  # type: ignore[arg-type]
        assert r.render(row) == expected, version
        assert list(r.render(row)) == list(expected), version  # the order too
