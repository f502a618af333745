"""The node record's vocabulary: its interface kinds.

A hardware type (drivers/) chooses one interface per kind; the node stores the choice in a
`<kind>_interface` column (db/schema.py) and the API shows it as a field of that name.
"""

from __future__ import annotations

from typing import Final

INTERFACE_KINDS: Final[tuple[str, ...]] = (
    "bios",
    "boot",
    "console",
    "deploy",
    "firmware",
    "inspect",
    "management",
    "network",
    "power",
    "raid",
    "rescue",
    "storage",
    "vendor",
)
# The node fields that hold them: "boot_interface", "power_interface", ...
INTERFACE_FIELDS: Final[tuple[str, ...]] = tuple(f"{k}_interface" for k in INTERFACE_KINDS)
