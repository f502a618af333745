"""`ironworks license install|show`, and the vendor's `license keygen|issue` (offline, local)."""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from ironworks.cli.groups import license_app
from ironworks.cli.i18n import _
from ironworks.cli.output import show
from ironworks.cli.runtime import DEFAULT_URL, JsonOpt, UrlOpt, UsageProblem, guard
from ironworks.client import credentials
from ironworks.client.http import Session
from ironworks.common.errors import InvalidInput


def _flat(out: dict[str, Any]) -> dict[str, Any]:
    """The license state and the license's own fields, as one record."""
    return {k: v for k, v in out.items() if k != "license"} | (out.get("license") or {})


def _session(url: str) -> Session:
    return Session(url, token=credentials.token_for(url))


@license_app.command("show")
@guard
def license_show(url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False) -> None:
    """The license state (evaluation, valid, expired), customer, nodes used and allowed."""
    s = _session(url)
    try:
        out = s.get("/api/v1/license")
    finally:
        s.close()
    show(_flat(out), as_json)


@license_app.command("install")
@guard
def license_install(file: Path, url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False) -> None:
    """Install a license file from the vendor (cloud admin)."""
    try:
        document = json.loads(file.read_text())
    except ValueError as e:
        raise UsageProblem(
            _("{file} is not a license file (JSON): {error}").format(file=file, error=e)
        ) from None
    s = _session(url)
    try:
        out = s.request("PUT", "/api/v1/license", body=document).json()
    finally:
        s.close()
    show(_flat(out), as_json)


@license_app.command("keygen")
@guard
def license_keygen(
    out: Annotated[Path, typer.Option("--out", help=_("Private key file to write (PEM)."))],
) -> None:
    """Vendor side: a new Ed25519 signing key. Keep it offline; it is never shipped."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ironworks.domain.license import public_key_of

    if out.exists():
        raise UsageProblem(_("{out} exists; refusing to overwrite a signing key").format(out=out))
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    out.touch(mode=0o600)
    out.write_bytes(pem)
    typer.echo(
        _("wrote {out}; its public key, to trust (VENDOR_KEYS or license.trusted_keys):").format(
            out=out
        )
    )
    typer.echo(public_key_of(pem))


@license_app.command("issue")
@guard
def license_issue(
    key: Annotated[Path, typer.Option("--key", help=_("The vendor's private key (PEM)."))],
    customer: Annotated[str, typer.Option("--customer")],
    max_nodes: Annotated[int, typer.Option("--max-nodes")],
    expires: Annotated[str, typer.Option("--expires", help="YYYY-MM-DD")],
    edition: Annotated[str, typer.Option("--edition")] = "standard",
    out: Annotated[Path | None, typer.Option("-o", "--output")] = None,
) -> None:
    """Vendor side: sign a license file for a customer (offline; no server involved)."""
    from ironworks.domain.license import sign

    fields = {
        "id": str(uuid.uuid4()),
        "customer": customer,
        "edition": edition,
        "max_nodes": max_nodes,
        "issued": date.today().isoformat(),
        "expires": expires,
    }
    try:
        signed = sign(fields, key.read_bytes())
    except InvalidInput as e:
        raise UsageProblem(e.message) from None
    except ValueError as e:  # not a PEM key
        raise UsageProblem(
            _("{key}: not a private key (PEM): {error}").format(key=key, error=e)
        ) from None
    text = json.dumps(signed, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text)
        typer.echo(_("wrote {out}").format(out=out))
