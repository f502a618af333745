"""HTTP client for the Ironic-compatible `/v1` API (see README.md)."""

from ironworks.client.baremetal import (
    POWER_TARGETS,
    BaremetalClient,
    FileFormat,
    ImportProblem,
    ImportReport,
    InterfaceCheck,
    Node,
    PatchOp,
    Port,
    PowerTarget,
)
from ironworks.client.errors import APIError, ClientError, FileRejected, ServerUnreachable
from ironworks.client.http import DEFAULT_URL, Session

__all__ = [
    "DEFAULT_URL",
    "POWER_TARGETS",
    "APIError",
    "BaremetalClient",
    "ClientError",
    "FileFormat",
    "FileRejected",
    "ImportProblem",
    "ImportReport",
    "InterfaceCheck",
    "Node",
    "PatchOp",
    "Port",
    "PowerTarget",
    "ServerUnreachable",
    "Session",
]
