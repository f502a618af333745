"""Errors of switch drivers: one sentence naming the switch, the port and the command.

They follow the BMC errors of `common/errors.py`: `SwitchUnreachable` is worth retrying later
(`retryable`), a refused login or a rejected command is not. Each carries what the caller needs
to leave no half-moved node behind: `applied`, the changes of the batch that took effect before
the failure (live in the running configuration, not saved), to record or undo.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ironworks.common.errors import DriverError


class SwitchError(DriverError):
    code = "switch-error"

    def __init__(
        self,
        message: str,
        *,
        switch: str,
        port: str | None = None,
        command: str | None = None,
        applied: Sequence[Any] = (),
    ) -> None:
        super().__init__(message, field=None)
        self.switch = switch
        self.port = port
        self.command = command
        self.applied = tuple(applied)

    def details(self) -> dict[str, Any]:
        return {"switch": self.switch, "port": self.port, "command": self.command}


class SwitchUnreachable(SwitchError):
    """No answer (connection refused, timeout, session dropped): worth retrying later."""

    code = "switch-unreachable"
    retryable = True


class SwitchAuthFailed(SwitchError):
    """The switch refused the credentials: retrying will not help."""

    code = "switch-auth-failed"


class SwitchCommandRejected(SwitchError):
    """The switch answered a command with an error (unknown port, VLAN, syntax)."""

    code = "switch-command-rejected"
