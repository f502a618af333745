"""License documents: sign and verify, bad fields, and the vendor's CLI (keygen, issue)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ironworks.cmd.main import app
from ironworks.common.errors import InvalidInput
from ironworks.domain import license as lic

runner = CliRunner()


def test_vendor_keygen_and_issue_make_a_file_that_verifies(tmp_path: Path) -> None:
    key = tmp_path / "vendor.pem"
    out = runner.invoke(app, ["license", "keygen", "--out", str(key)])
    assert out.exit_code == 0, out.output
    public = out.output.strip().splitlines()[-1]
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    again = runner.invoke(app, ["license", "keygen", "--out", str(key)])
    assert again.exit_code == 2 and "refusing to overwrite" in again.output
    done = runner.invoke(
        app,
        [
            "license",
            "issue",
            "--key",
            str(key),
            "--customer",
            "Postal Group",
            "--max-nodes",
            "500",
            "--expires",
            "2027-12-31",
            "-o",
            str(tmp_path / "lic.json"),
        ],
    )
    assert done.exit_code == 0, done.output
    found = lic.verify(json.loads((tmp_path / "lic.json").read_text()), [public])
    assert (found.customer, found.max_nodes, str(found.expires)) == (
        "Postal Group",
        500,
        "2027-12-31",
    )
    with pytest.raises(InvalidInput, match="does not match"):
        lic.verify(json.loads((tmp_path / "lic.json").read_text()), lic.VENDOR_KEYS)
    bad = runner.invoke(
        app,
        [
            "license",
            "issue",
            "--key",
            str(key),
            "--customer",
            "X",
            "--max-nodes",
            "0",
            "--expires",
            "2027-12-31",
        ],
    )
    assert bad.exit_code == 2 and "max_nodes must be a whole number" in bad.output


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"max_nodes": "many"}, "license.max_nodes"),
        ({"expires": "soon"}, "license.expires"),
        ({"edition": "gold"}, "license.edition"),
    ],
)
def test_bad_fields_name_the_field(change: dict[str, object], field: str) -> None:
    fields = {
        "id": "1",
        "customer": "c",
        "edition": "standard",
        "max_nodes": 5,
        "issued": "2026-01-01",
        "expires": "2027-01-01",
        **change,
    }
    with pytest.raises(InvalidInput) as e:
        lic.parse(fields)
    assert e.value.field == field
