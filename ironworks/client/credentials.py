"""Where the CLI keeps its tokens: one per API URL, in $XDG_CONFIG_HOME/ironworks/tokens.json
(mode 0600), written by `ironworks login`, or the IRONWORKS_TOKEN environment variable."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def store() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "ironworks" / "tokens.json"


def _read() -> dict[str, Any]:
    try:
        data = json.loads(store().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def token_for(url: str) -> str | None:
    env = os.environ.get("IRONWORKS_TOKEN")
    if env:
        return env.strip()
    entry = _read().get(url.rstrip("/"))
    return entry.get("token") if isinstance(entry, dict) else None


def save(url: str, token: str, user: str, expires_at: str | None) -> Path:
    path = store()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = _read()
    data[url.rstrip("/")] = {"token": token, "user": user, "expires_at": expires_at}
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.write_text(json.dumps(data, indent=2))
    tmp.replace(path)
    return path


def forget(url: str) -> bool:
    data = _read()
    if data.pop(url.rstrip("/"), None) is None:
        return False
    path = store()
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.write_text(json.dumps(data, indent=2))
    tmp.replace(path)
    return True
