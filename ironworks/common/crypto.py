"""Secrets at rest: BMC passwords and their kin are stored encrypted, and say so.

A stored secret is the text `enc:v1:` followed by a Fernet token (AES-128-CBC with an
HMAC-SHA256 over it, from the `cryptography` package). The prefix makes every value
self-describing: a reader needs no schema to know whether to decrypt, so rows written before
encryption existed (plain text) keep working as they are, and `v1` leaves room for another
scheme (key rotation, an external KMS) without guessing.

The key is 32 random bytes in url-safe base64, 44 characters (what `ironworks config new-key`
prints). `cmd/` takes it from the `secret_key` setting or from `$IRONWORKS_HOME/secret.key`,
generated on first start, and hands one `SecretBox` to the services and the conductor; nothing
below `cmd/` reads a key from anywhere else.

Values are decrypted only where a driver gets them (the `Task` built for an interface call);
API responses show `******`, exports leave them empty, and logs never get them.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet, InvalidToken

from ironworks.common.errors import ConfigError, InvalidInput, SecretUndecryptable

if TYPE_CHECKING:
    from ironworks.common.settings import Settings

PREFIX = "enc:v1:"
SETTING = "the secret_key setting (IRONWORKS_SECRET_KEY)"
# Decrypted values kept in memory, by token: the power sync decrypts every node's password
# each cycle, and the same token always opens to the same text.
_CACHE_MAX = 50_000


def is_sealed(value: Any) -> bool:
    """True for a value this module encrypted (whatever the key)."""
    return isinstance(value, str) and value.startswith(PREFIX)


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


class SecretBox:
    """Encrypts and decrypts strings with one key; `source` names where the key came from, so
    every error tells the operator which setting or file to fix."""

    def __init__(self, key: str | bytes, *, source: str = SETTING) -> None:
        try:
            self._fernet = Fernet(key.strip())
        except (ValueError, TypeError):
            raise ConfigError(
                f"{source} is not a valid key: it must be 32 random bytes in url-safe base64 "
                "(44 characters); `ironworks config new-key` prints one"
            ) from None
        self.source = source
        # the root of `derive`: a hash of the key, so the key itself is not kept twice
        raw = key.strip().encode("ascii") if isinstance(key, str) else key.strip()
        self._derive_root = hashlib.sha256(b"ironworks derive\0" + raw).digest()
        self._cache: dict[str, str] = {}
        self._cache_lock = threading.Lock()

    def __repr__(self) -> str:  # never the key
        return f"SecretBox(source={self.source!r})"

    def derive(self, purpose: str) -> str:
        """A key for `purpose` (hex), the same wherever this key is: for what the processes
        that share it must agree on, such as the conductors' internal console WebSocket."""
        return hmac.new(self._derive_root, purpose.encode(), hashlib.sha256).hexdigest()

    def encrypt(self, plaintext: str) -> str:
        return PREFIX + self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, value: str) -> str:
        """The plain text of a sealed value; any other value is returned as it is (rows
        stored before encryption)."""
        if not is_sealed(value):
            return value
        hit = self._cache.get(value)
        if hit is not None:
            return hit
        try:
            plain = self._fernet.decrypt(value[len(PREFIX) :].encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise SecretUndecryptable(
                f"a stored secret cannot be decrypted with the key from {self.source}: it was "
                "encrypted with another key. Give every Ironworks process the key it was "
                "stored with (the secret_key setting, or $IRONWORKS_HOME/secret.key)"
            ) from None
        with self._cache_lock:
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[value] = plain
        return plain

    def opens(self, value: str) -> bool:
        """Whether a sealed value decrypts with this key."""
        try:
            self.decrypt(value)
        except SecretUndecryptable:
            return False
        return True

    def seal(
        self,
        info: Mapping[str, Any],
        is_secret: Callable[[str], bool],
        *,
        stored: Mapping[str, Any] | None = None,
        field: str = "driver_info",
    ) -> dict[str, Any]:
        """A copy of `info` with every non-empty secret value encrypted.

        A value already sealed is kept only if it is the one `stored` holds (a PATCH that
        leaves the password alone): a client may not hand us ciphertext of its own.
        """
        out: dict[str, Any] = {}
        for key, value in info.items():
            if is_sealed(value):
                if stored is None or stored.get(key) != value:
                    raise InvalidInput(
                        f"{field}/{key} starts with {PREFIX!r}, which marks values Ironworks "
                        "encrypted itself; give the plain value instead",
                        field=f"{field}/{key}",
                    )
                out[key] = value
            elif is_secret(key) and value not in (None, ""):
                if isinstance(value, bool) or not isinstance(value, str | int | float):
                    raise InvalidInput(
                        f"{field}/{key} is a secret and must be a string", field=f"{field}/{key}"
                    )
                out[key] = self.encrypt(str(value))
            else:
                out[key] = value
        return out

    def open(self, info: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of `info` with every sealed value decrypted."""
        return {k: self.decrypt(v) if is_sealed(v) else v for k, v in info.items()}


def box_from_settings(settings: Settings) -> SecretBox:
    """The box of the `secret_key` setting, for code built without one from cmd/ (tests,
    embedding); `cmd/` falls back to the key file instead."""
    if settings.secret_key is None:
        raise ConfigError(
            "no key for stored secrets: set secret_key, or start through `ironworks serve`, "
            "which generates $IRONWORKS_HOME/secret.key"
        )
    return SecretBox(settings.secret_key.get_secret_value())
