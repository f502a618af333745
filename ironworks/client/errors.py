"""What the client raises: one tree, each with a sentence an operator can act on."""

from __future__ import annotations

from typing import Any


class ClientError(Exception):
    """Any failure to get an answer we can use; `message` is the sentence to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ServerUnreachable(ClientError):
    """No HTTP answer at all: refused, timed out, DNS, TLS."""


class APIError(ClientError):
    """The server answered with an error status; `message` is its own sentence."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        method: str = "",
        url: str = "",
        request_id: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.method = method
        self.url = url
        self.request_id = request_id
        self.body = body  # the parsed error body, when it was JSON

    def __repr__(self) -> str:
        return f"APIError({self.status}, {self.message!r}, {self.method} {self.url})"


class FileRejected(APIError):
    """An uploaded file (batch enrolment) was refused; `errors` lists every problem with its
    row and column (dicts: row, column, message)."""

    def __init__(self, error: APIError, errors: list[dict[str, Any]]) -> None:
        super().__init__(
            error.status,
            error.message,
            method=error.method,
            url=error.url,
            request_id=error.request_id,
            body=error.body,
        )
        self.errors = errors
