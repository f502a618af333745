"""The node record, declared once: its interface kinds and one table of its API fields.

A hardware type (drivers/) chooses one interface per kind; the node stores the choice in a
`<kind>_interface` column (db/schema.py) and the API shows it as a field of that name.

`FIELDS` lists every field of a node as the Ironic-compatible API shows it, with:

* `type`: the JSON type a client may send (`string` and `boolean` also take null), or how it
  is rendered (`timestamp`, `state`);
* `writable`: PATCH may change it (`creatable`: POST may set it, the same unless noted);
* `since`: the API microversion that made it visible (None: every version); domain/versions.py
  builds its node field table from this column;
* `secrets`: which values inside a JSON field are secret, and what becomes of them.

Rendering (api/v1/render.py), the checks of POST and PATCH (services/nodes.py), the microversion
table and the sealing and masking of secrets all read this table, so a new field is one row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

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

FieldType = Literal["string", "boolean", "object", "list", "timestamp", "state"]


# --- secrets --------------------------------------------------------------------------------------


def is_secret_key(key: str, declared: frozenset[str] = frozenset()) -> bool:
    """Whether a key of a sealed field (driver_info) holds a secret: the hardware type declares
    it secret (`Prop(secret=True)`), or its name says so (a password, a key), as Ironic masks
    them. The one rule for what is encrypted at rest, masked in responses and left out of
    exports."""
    return key in declared or "password" in key or key.endswith("_key")


@dataclass(frozen=True)
class Secrets:
    """What is secret inside one JSON field.

    `sealed`: the values of secret keys (`is_secret_key`) are encrypted at rest, shown as
    ****** and left empty in exports. `masked`: these keys are shown as ****** (they stay plain
    at rest: the conductor reads them). `hidden_prefix`: keys starting so are never shown.
    """

    sealed: bool = False
    masked: frozenset[str] = frozenset()
    hidden_prefix: str | None = None


# --- the table ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeField:
    name: str
    type: FieldType
    writable: bool = False
    since: tuple[int, int] | None = None
    secrets: Secrets | None = None
    creatable: bool | None = None  # None: as writable

    @property
    def on_create(self) -> bool:
        return self.writable if self.creatable is None else self.creatable


def _f(
    name: str,
    type: FieldType,
    since: tuple[int, int] | None = None,
    *,
    writable: bool = False,
    creatable: bool | None = None,
    secrets: Secrets | None = None,
) -> NodeField:
    return NodeField(name, type, writable, since, secrets, creatable)


def _rw(
    name: str,
    type: FieldType,
    since: tuple[int, int] | None = None,
    *,
    creatable: bool | None = None,
    secrets: Secrets | None = None,
) -> NodeField:
    return NodeField(name, type, True, since, secrets, creatable)


# The version each interface field appeared in.
_INTERFACE_SINCE: dict[str, tuple[int, int]] = {
    "bios": (1, 40),
    "boot": (1, 31),
    "console": (1, 31),
    "deploy": (1, 31),
    "firmware": (1, 86),
    "inspect": (1, 31),
    "management": (1, 31),
    "network": (1, 20),
    "power": (1, 31),
    "raid": (1, 31),
    "rescue": (1, 38),
    "storage": (1, 33),
    "vendor": (1, 31),
}

FIELDS: Final[tuple[NodeField, ...]] = (
    _f("allocation_uuid", "string", (1, 52)),
    _rw("automated_clean", "boolean", (1, 47)),
    *(_rw(f"{k}_interface", "string", _INTERFACE_SINCE[k]) for k in INTERFACE_KINDS),
    _f("boot_mode", "string", (1, 75)),
    _rw("chassis_uuid", "string"),
    _f("clean_step", "object", (1, 7)),
    _f("conductor", "string", (1, 49)),
    _rw("conductor_group", "string", (1, 46)),
    _f("console_enabled", "boolean"),
    _f("created_at", "timestamp"),
    _f("deploy_step", "object", (1, 44)),
    _rw("description", "string", (1, 51)),
    _rw("disable_power_off", "boolean", (1, 95)),
    _rw("driver", "string"),
    _rw("driver_info", "object", secrets=Secrets(sealed=True)),
    _f("driver_internal_info", "object", (1, 3), secrets=Secrets(hidden_prefix="agent_secret")),
    _rw("extra", "object"),
    _f("fault", "string", (1, 42)),
    _f("health", "string", (1, 109)),
    _f("inspection_finished_at", "timestamp", (1, 6)),
    _f("inspection_started_at", "timestamp", (1, 6)),
    _rw("instance_info", "object", secrets=Secrets(masked=frozenset({"configdrive"}))),
    _rw("instance_name", "string", (1, 104)),
    _rw("instance_uuid", "string"),
    _f("last_error", "string"),
    _rw("lessee", "string", (1, 65)),
    _rw("maintenance", "boolean", creatable=False),  # set through /maintenance too
    _rw("maintenance_reason", "string", creatable=False),
    _rw("name", "string", (1, 5)),
    _rw("network_data", "object", (1, 66)),
    _rw("owner", "string", (1, 50)),
    _rw("parent_node", "string", (1, 83)),
    _f("power_state", "string"),
    _rw("properties", "object"),
    _rw("protected", "boolean", (1, 48)),
    _rw("protected_reason", "string", (1, 48)),
    _f("provision_state", "state"),
    _f("provision_updated_at", "timestamp"),
    _f("raid_config", "object", (1, 12)),
    _f("reservation", "string"),
    _rw("resource_class", "string", (1, 21)),
    _rw("retired", "boolean", (1, 61)),
    _rw("retired_reason", "string", (1, 61)),
    _f("secure_boot", "boolean", (1, 75)),
    _f("service_step", "object", (1, 87)),
    _rw("shard", "string", (1, 82)),
    _f("target_power_state", "string"),
    _f("target_provision_state", "state"),
    _f("target_raid_config", "object", (1, 12)),
    _f("traits", "list", (1, 37)),
    _f("updated_at", "timestamp"),
    _f("uuid", "string", creatable=True),
)
BY_NAME: Final[dict[str, NodeField]] = {f.name: f for f in FIELDS}
NAMES: Final[tuple[str, ...]] = tuple(f.name for f in FIELDS)
WRITABLE: Final = frozenset(f.name for f in FIELDS if f.writable)
CREATABLE: Final = frozenset(f.name for f in FIELDS if f.on_create)
TIMESTAMPS: Final = frozenset(f.name for f in FIELDS if f.type == "timestamp")
# The fields whose values hold secrets, and how.
SECRETS: Final[dict[str, Secrets]] = {f.name: f.secrets for f in FIELDS if f.secrets}
