"""A conductor name is one process's: the lock file that tells a crashed run from a live twin.

Two conductors must never share a name (node locks and job owners are written under it).
The database refuses a name whose row was heard within the heartbeat timeout
(`db/conductors.py`, `claim_name`), which alone would make a conductor restarted right after a
`kill -9` wait out the timeout. So each process also holds an exclusive `flock` on
`$IRONWORKS_HOME/conductor-<name>.lock` for its whole life and writes into it the incarnation
it registered. The kernel drops the lock when the process dies, however it dies:

* lock busy: another process of this machine and home runs under the name: refused at once;
* lock taken, row's incarnation is the one in the file: that was this machine's previous
  run, now dead: its name (and its locks and jobs) are taken over at once;
* lock taken, row's incarnation is another: a conductor elsewhere (another machine or home)
  holds the name; refused until its heartbeat is older than the timeout.
"""

from __future__ import annotations

import fcntl
import os
import re
from pathlib import Path

from ironworks.common.errors import ConfigError


class NameLock:
    """The held lock file of one conductor name in one state directory."""

    def __init__(self, home: Path, name: str) -> None:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)
        self.path = home / f"conductor-{safe}.lock"
        self.name = name
        self._fd: int | None = None

    def acquire(self) -> str | None:
        """Take the lock for the life of the process; the incarnation the previous holder
        registered (None on the first run). ConfigError if a live process holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ConfigError(
                f"another conductor process on this machine already runs under the name "
                f"{self.name!r} (it holds {self.path}); give each conductor its own name with "
                "the setting conductor.hostname (environment: IRONWORKS_CONDUCTOR__HOSTNAME)",
                field="conductor.hostname",
            ) from None
        self._fd = fd
        previous = os.pread(fd, 200, 0).decode("ascii", "replace").strip()
        return previous or None

    def record(self, incarnation: str) -> None:
        """Write the incarnation this process registered, for its successor to recognise."""
        if self._fd is None:
            return
        data = (incarnation + "\n").encode("ascii")
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)
        os.fsync(self._fd)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
