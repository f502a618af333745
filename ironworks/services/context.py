"""What every service call needs: the database, the settings, who asks, and under which id."""

from __future__ import annotations

from dataclasses import dataclass, field

from ironworks.common.settings import Settings
from ironworks.db.engine import Database
from ironworks.domain.versions import MAX_VERSION, Version


@dataclass
class Caller:
    request_id: str = "-"
    user: str | None = None
    version: Version = MAX_VERSION


@dataclass
class Services:
    """The dependencies of the service layer, built once by cmd/."""

    db: Database
    settings: Settings
    hostname: str = field(default="")

    def __post_init__(self) -> None:
        if not self.hostname:
            self.hostname = self.settings.conductor.hostname
