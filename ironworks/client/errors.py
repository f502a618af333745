"""What the client raises: one tree, each with a sentence an operator can act on."""

from __future__ import annotations


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
    ) -> None:
        super().__init__(message)
        self.status = status
        self.method = method
        self.url = url
        self.request_id = request_id

    def __repr__(self) -> str:
        return f"APIError({self.status}, {self.message!r}, {self.method} {self.url})"
