"""What every service call needs: the database, the settings, the key to stored secrets, who
asks, and under which id."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ironworks.common.crypto import SecretBox, box_from_settings
from ironworks.common.settings import Settings
from ironworks.db.engine import Database, utcnow
from ironworks.domain.versions import MAX_VERSION, Version


@dataclass
class Caller:
    request_id: str = "-"
    user: str | None = None
    version: Version = MAX_VERSION
    # services/auth.Principal when identity is on; None under noauth (acts as cloud admin)
    principal: Any = None
    source: str | None = None  # the client's address
    # What the call turned out to act on, for its audit event (set by services as they resolve
    # the resource: a name in the URL becomes the uuid, the owning project becomes known).
    audit: dict[str, Any] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        """The cloud admin, or anyone under auth.noauth (no principal)."""
        return self.principal is None or bool(self.principal.is_admin)

    @property
    def project_ids(self) -> list[int] | None:
        """The projects whose rows the caller sees; None for the cloud admin: all of them."""
        return None if self.is_admin else sorted(self.principal.projects)

    def acted_on(
        self, kind: str, uuid: str, name: str | None = None, project: tuple[int, str] | None = None
    ) -> None:
        self.audit.update(target_type=kind, target_id=uuid, target_name=name)
        if project is not None:
            self.audit.update(project_id=project[0], project_name=project[1])


@dataclass
class Services:
    """The dependencies of the service layer, built once by cmd/."""

    db: Database
    settings: Settings
    hostname: str = field(default="")
    # Seals driver_info secrets on write, opens them for drivers (see common/crypto.py). cmd/
    # passes the one it loaded or generated; left out, the `secret_key` setting must be set.
    secret_box: SecretBox | None = None
    # "Now" for what is measured against the wall clock: usage records and the prices in force
    # (services/usage.py, services/billing.py). Tests pass a clock they move instead of sleeping.
    clock: Callable[[], datetime] = utcnow

    def __post_init__(self) -> None:
        if not self.hostname:
            self.hostname = self.settings.conductor.hostname
        if self.secret_box is None:
            self.secret_box = box_from_settings(self.settings)

    @property
    def secrets(self) -> SecretBox:
        assert self.secret_box is not None  # set in __post_init__
        return self.secret_box
