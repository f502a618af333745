"""License files: what they say, how they are signed, how they are checked. No I/O.

A license file is JSON: `{"license": {...}, "signature": "<base64>"}`. The signature is Ed25519
over the canonical JSON of the `license` object (sorted keys, no spaces, UTF-8). Fields:
`id`, `customer`, `edition`, `max_nodes` (whole number), `issued` and `expires` (dates,
YYYY-MM-DD; the license is valid through `expires`).

The vendor signs with a private key that never ships; the package carries the vendor's public
keys (`VENDOR_KEYS`); a deployment may trust more (`license.trusted_keys`, for key rotation and
for tests).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ironworks.common.errors import InvalidInput

# Raw Ed25519 public keys (base64) of the vendor's license signing keys, newest first.
VENDOR_KEYS = ("hEeDVDeXUHPGh1ouirtlVrNbVj1R1fRjZQjyXftidPc=",)
EDITIONS = ("standard", "enterprise", "evaluation")


@dataclass(frozen=True)
class License:
    id: str
    customer: str
    edition: str
    max_nodes: int
    issued: date
    expires: date

    def expired(self, today: date) -> bool:
        return today > self.expires

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["issued"], out["expires"] = self.issued.isoformat(), self.expires.isoformat()
        return out


def canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _field(fields: dict[str, Any], key: str) -> Any:
    if key not in fields:
        raise InvalidInput(f"the license has no {key}", field=f"license.{key}")
    return fields[key]


def _date(fields: dict[str, Any], key: str) -> date:
    value = _field(fields, key)
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(
            f"license {key} {value!r} is not a date (YYYY-MM-DD)", field=f"license.{key}"
        ) from None


def parse(fields: dict[str, Any]) -> License:
    max_nodes = _field(fields, "max_nodes")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise InvalidInput(
            "license max_nodes must be a whole number, at least 1", field="license.max_nodes"
        )
    edition = _field(fields, "edition")
    if edition not in EDITIONS:
        raise InvalidInput(
            f"license edition must be one of {', '.join(EDITIONS)}", field="license.edition"
        )
    return License(
        id=str(_field(fields, "id")),
        customer=str(_field(fields, "customer")),
        edition=edition,
        max_nodes=max_nodes,
        issued=_date(fields, "issued"),
        expires=_date(fields, "expires"),
    )


def verify(document: Any, trusted: tuple[str, ...] | list[str]) -> License:
    """The license in `document` (the parsed file) if a trusted key signed it; else InvalidInput
    saying what is wrong."""
    if not isinstance(document, dict) or not isinstance(document.get("license"), dict):
        raise InvalidInput(
            'this is not a license file: it needs {"license": {...}, "signature": "..."}',
            field="license",
        )
    try:
        signature = base64.b64decode(str(document.get("signature", "")), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("the license signature is not base64", field="signature") from None
    fields = document["license"]
    message = canonical(fields)
    for key in trusted:
        try:
            Ed25519PublicKey.from_public_bytes(base64.b64decode(key)).verify(signature, message)
        except (InvalidSignature, ValueError, binascii.Error):
            continue
        return parse(fields)
    raise InvalidInput(
        "the license signature does not match any trusted vendor key: the file "
        "was changed, or it was issued for another product",
        field="signature",
    )


def sign(fields: dict[str, Any], private_key_pem: bytes) -> dict[str, Any]:
    """The vendor side: a signed license document (fields are checked first)."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    parse(fields)
    key = load_pem_private_key(private_key_pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput("the signing key must be an Ed25519 private key (PEM)", field="key")
    return {"license": fields, "signature": base64.b64encode(key.sign(canonical(fields))).decode()}


def public_key_of(private_key_pem: bytes) -> str:
    """The base64 raw public key to trust for a private key (PEM)."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(private_key_pem, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()
