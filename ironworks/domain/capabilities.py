"""Node capabilities: `properties/capabilities`, the node's declared features (boot_mode:uefi,
secure_boot:true, ...) that flavors require and drivers obey.

Ironic stores them as one string, "key:value,key:value"; clients also send a JSON object. Both
are read here, and written back in Ironic's string form, so every layer agrees on one parse.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def parse(raw: Any) -> dict[str, str]:
    """The capabilities as a dict of strings: from "k:v,k:v" (items without ':' are ignored,
    the first of a repeated key counts) or a JSON object; anything else is none."""
    if isinstance(raw, Mapping):
        return {str(k): str(v) for k, v in raw.items() if v is not None}
    out: dict[str, str] = {}
    if isinstance(raw, str):
        for item in raw.split(","):
            key, sep, value = item.partition(":")
            if sep and key.strip():
                out.setdefault(key.strip(), value.strip())
    return out


def unparse(caps: Mapping[str, str]) -> str:
    """Ironic's string form, keys sorted: "boot_mode:uefi,secure_boot:true"."""
    return ",".join(f"{k}:{v}" for k, v in sorted(caps.items()))


def capability(node: Mapping[str, Any], name: str) -> str | None:
    """One capability of a node (a row or an API object), or None when it has none."""
    return parse((node.get("properties") or {}).get("capabilities")).get(name)


def with_capability(properties: Mapping[str, Any], name: str, value: str) -> dict[str, Any]:
    """A copy of a node's properties with one capability set (the string form is kept)."""
    caps = parse(properties.get("capabilities"))
    caps[name] = value
    return {**properties, "capabilities": unparse(caps)}
