from __future__ import annotations

import pytest

from ironworks.common.errors import InvalidInput, NotAcceptable
from ironworks.domain import versions as v
from ironworks.domain.hashring import HashRing


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, (1, 1)),
        ("", (1, 1)),
        ("latest", v.MAX_VERSION),
        ("1.78", (1, 78)),
        ("baremetal 1.31", (1, 31)),
    ],
)
def test_negotiate(header, expected):
    assert v.negotiate(header) == expected


@pytest.mark.parametrize("header", ["1.0", "1.999", "2.1"])
def test_out_of_range_is_406(header):
    with pytest.raises(NotAcceptable) as e:
        v.negotiate(header)
    assert "supported version range" in e.value.message


@pytest.mark.parametrize("header", ["1", "abc", "1.2.3"])
def test_malformed_is_rejected(header):
    with pytest.raises(InvalidInput):
        v.negotiate(header)


def test_hash_ring_spreads_and_is_stable():
    ring = HashRing(["a", "b", "c"])
    owners = [ring.owner(f"node-{i}") for i in range(3000)]
    for h in "abc":
        assert 700 < owners.count(h) < 1300
    smaller = HashRing(["a", "b"])
    moved = sum(1 for i, o in enumerate(owners) if o != "c" and smaller.owner(f"node-{i}") != o)
    assert moved == 0  # only the nodes of the departed conductor move
    assert HashRing([]).owner("x") is None


def test_no_literal_microversions_outside_the_versions_table():
    """Behaviour that changed with a version is looked up in domain/versions.py, by name."""
    import re
    from pathlib import Path

    root = Path(v.__file__).parents[1]
    literal = re.compile(r"\(1,\s*\d+\)|API version 1\.\d+|[\"']1\.\d+[\"']")
    found = [
        f"{path.relative_to(root)}:{n}: {line.strip()}"
        for folder in ("api", "services", "cli", "client")
        for path in sorted((root / folder).rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if literal.search(line)
    ]
    assert found == []
