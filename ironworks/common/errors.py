"""The one tree of errors.

Each error carries the HTTP status it maps to, the field it concerns (if any) and a sentence
that tells the operator what to do. The API layer renders them: Ironic's `error_message` body on
`/v1`, problem+json elsewhere. Nothing else decides status codes.
"""

from __future__ import annotations

from typing import Any


class IronworksError(Exception):
    status = 500
    code = "internal-error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def details(self) -> dict[str, Any]:
        """Extra members of the problem+json body (e.g. the error list of a rejected file)."""
        return {}


class InvalidInput(IronworksError):
    """The request is malformed or names a value we do not accept."""

    status = 400
    code = "invalid-input"


class Unauthenticated(IronworksError):
    """No valid credentials (missing, unknown, expired or revoked token; wrong password)."""

    status = 401
    code = "unauthenticated"


class Forbidden(IronworksError):
    """Not allowed: the caller's roles (the permission table), or the resource forbids the
    operation until an operator changes it (e.g. protected)."""

    status = 403
    code = "forbidden"


class NotFound(IronworksError):
    status = 404
    code = "not-found"


class TooManyRequests(IronworksError):
    """The caller must wait before trying again (log-in throttling); `retry_after` in seconds
    becomes the Retry-After header."""

    status = 429
    code = "too-many-requests"

    def __init__(self, message: str, *, retry_after: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after


class MethodNotAllowed(IronworksError):
    """The verb exists on this resource, but not at the request's API version (Ironic's 405)."""

    status = 405
    code = "method-not-allowed"


class NotAcceptable(IronworksError):
    """An API microversion outside the supported range."""

    status = 406
    code = "not-acceptable"


class PayloadTooLarge(IronworksError):
    status = 413
    code = "payload-too-large"


class UnsupportedMediaType(IronworksError):
    status = 415
    code = "unsupported-media-type"


class FileRejected(IronworksError):
    """An uploaded file (batch enrolment) has errors: every one, with its row and column."""

    status = 422
    code = "invalid-file"

    def __init__(self, message: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.errors = errors

    def details(self) -> dict[str, Any]:
        return {"errors": self.errors}


class Conflict(IronworksError):
    """The resource exists, or its state forbids the request right now."""

    status = 409
    code = "conflict"


class NodeLocked(Conflict):
    code = "node-locked"


class InvalidStateRequested(Conflict):
    """A provision verb the node's current state does not allow."""

    code = "invalid-state"


class NotSupported(IronworksError):
    """The node's driver has no implementation for this operation."""

    status = 400
    code = "not-supported"


class DriverError(IronworksError):
    """Hardware I/O failed; the message names the cause."""

    status = 500
    code = "driver-error"


class BMCUnreachable(DriverError):
    """No answer from the BMC: worth retrying with backoff."""

    code = "bmc-unreachable"
    retryable = True


class BMCAuthFailed(DriverError):
    """The BMC rejected the credentials: retrying will not help."""

    code = "bmc-auth-failed"


class BMCSettingInvalid(DriverError):
    code = "bmc-setting-invalid"


class ConfigError(IronworksError):
    """Settings could not be loaded; raised at start, before anything listens."""

    code = "config-error"


class SecretUndecryptable(ConfigError):
    """A stored secret does not decrypt with the configured key: the key changed."""

    code = "secret-key-mismatch"
