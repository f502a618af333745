"""Identifiers: UUIDs, names, MAC addresses, request ids."""

from __future__ import annotations

import re
import uuid

# Ironic's node-name rule (RFC 3986 unreserved characters).
_NAME = re.compile(r"^[a-zA-Z0-9\-._~]+$")
_MAC = re.compile(r"^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$", re.IGNORECASE)
_UUID = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$", re.I)


def new_uuid() -> str:
    return str(uuid.uuid4())


def new_request_id() -> str:
    return f"req-{uuid.uuid4()}"


def is_uuid_like(value: str) -> bool:
    return bool(_UUID.match(value))


def normalize_uuid(value: str) -> str:
    return str(uuid.UUID(value))


def is_valid_name(value: str) -> bool:
    return bool(_NAME.match(value)) and len(value) <= 255


def normalize_mac(value: str) -> str | None:
    """Lower-case, colon-separated MAC, or None when `value` is not a MAC."""
    if not isinstance(value, str) or not _MAC.match(value):
        return None
    return value.lower().replace("-", ":")
