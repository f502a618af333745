"""What every service call needs: the database, the settings, the key to stored secrets, who
asks, and under which id."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ironworks.common.crypto import SecretBox, box_from_settings
from ironworks.common.settings import Settings
from ironworks.db.engine import Database
from ironworks.domain.versions import MAX_VERSION, Version


@dataclass
class Caller:
    request_id: str = "-"
    user: str | None = None
    version: Version = MAX_VERSION
    # services/identity.Principal when identity is on; None under noauth (acts as cloud admin)
    principal: Any = None
    source: str | None = None  # the client's address


@dataclass
class Services:
    """The dependencies of the service layer, built once by cmd/."""

    db: Database
    settings: Settings
    hostname: str = field(default="")
    # Seals driver_info secrets on write, opens them for drivers (see common/crypto.py). cmd/
    # passes the one it loaded or generated; left out, the `secret_key` setting must be set.
    secret_box: SecretBox | None = None

    def __post_init__(self) -> None:
        if not self.hostname:
            self.hostname = self.settings.conductor.hostname
        if self.secret_box is None:
            self.secret_box = box_from_settings(self.settings)

    @property
    def secrets(self) -> SecretBox:
        assert self.secret_box is not None  # set in __post_init__
        return self.secret_box
