"""Tables. SQLAlchemy Core, so that hot paths (node lists, job claims) stay close to SQL.

Every schema change is an Alembic migration under `migrations/versions`; the tests check that
the migrated schema equals this declaration.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from ironworks.domain.nodes import INTERFACE_KINDS as INTERFACES

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def _ts() -> list[sa.Column]:
    return [sa.Column("created_at", TS, nullable=False), sa.Column("updated_at", TS)]


chassis = sa.Table(
    "chassis",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("description", sa.String(255)),
    sa.Column("extra", JSON, nullable=False, default=dict),
    *_ts(),
)

nodes = sa.Table(
    "nodes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("name", sa.String(255), unique=True),
    sa.Column("chassis_id", sa.Integer, sa.ForeignKey("chassis.id")),
    sa.Column("driver", sa.String(255), nullable=False),
    *(sa.Column(f"{i}_interface", sa.String(255)) for i in INTERFACES),
    sa.Column("driver_info", JSON, nullable=False, default=dict),
    sa.Column("driver_internal_info", JSON, nullable=False, default=dict),
    sa.Column("instance_info", JSON, nullable=False, default=dict),
    sa.Column("properties", JSON, nullable=False, default=dict),
    sa.Column("extra", JSON, nullable=False, default=dict),
    sa.Column("network_data", JSON, nullable=False, default=dict),
    sa.Column("raid_config", JSON, nullable=False, default=dict),
    sa.Column("target_raid_config", JSON, nullable=False, default=dict),
    sa.Column("clean_step", JSON, nullable=False, default=dict),
    sa.Column("deploy_step", JSON, nullable=False, default=dict),
    sa.Column("service_step", JSON, nullable=False, default=dict),
    sa.Column("traits", JSON, nullable=False, default=list),
    sa.Column("instance_uuid", sa.String(36), unique=True),
    sa.Column("instance_name", sa.String(255)),
    sa.Column("power_state", sa.String(15)),
    sa.Column("target_power_state", sa.String(15)),
    sa.Column("provision_state", sa.String(15), nullable=False),
    sa.Column("target_provision_state", sa.String(15)),
    sa.Column("provision_updated_at", TS),
    sa.Column("last_error", sa.Text),
    sa.Column("maintenance", sa.Boolean, nullable=False, default=False),
    sa.Column("maintenance_reason", sa.Text),
    sa.Column("fault", sa.String(255)),
    sa.Column("console_enabled", sa.Boolean, nullable=False, default=False),
    # The node lock: the hostname of the conductor working on the node, set by compare-and-set.
    sa.Column("reservation", sa.String(255)),
    sa.Column("conductor_affinity", sa.String(255)),
    sa.Column("conductor_group", sa.String(255), nullable=False, default=""),
    sa.Column("resource_class", sa.String(80)),
    sa.Column("owner", sa.String(255)),
    sa.Column("lessee", sa.String(255)),
    sa.Column("description", sa.Text),
    sa.Column("automated_clean", sa.Boolean),
    sa.Column("protected", sa.Boolean, nullable=False, default=False),
    sa.Column("protected_reason", sa.Text),
    sa.Column("retired", sa.Boolean, nullable=False, default=False),
    sa.Column("retired_reason", sa.Text),
    sa.Column("boot_mode", sa.String(16)),
    sa.Column("secure_boot", sa.Boolean),
    sa.Column("shard", sa.String(255)),
    sa.Column("parent_node", sa.String(36)),
    sa.Column("disable_power_off", sa.Boolean, nullable=False, default=False),
    sa.Column("health", sa.String(32)),
    sa.Column("inspection_started_at", TS),
    sa.Column("inspection_finished_at", TS),
    # The allocation holding the node (allocations.uuid), set with instance_uuid by the claim.
    sa.Column("allocation_uuid", sa.String(36)),
    *_ts(),
    sa.Index("ix_nodes_provision_state", "provision_state"),
    sa.Index("ix_nodes_reservation", "reservation"),
    sa.Index("ix_nodes_conductor_group", "conductor_group"),
)

portgroups = sa.Table(
    "portgroups",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("name", sa.String(255), unique=True),
    sa.Column("node_id", sa.Integer, sa.ForeignKey("nodes.id", ondelete="CASCADE"), nullable=False),
    sa.Column("address", sa.String(18), unique=True),
    sa.Column("mode", sa.String(255)),
    sa.Column("properties", JSON, nullable=False, default=dict),
    sa.Column("standalone_ports_supported", sa.Boolean, nullable=False, default=True),
    sa.Column("physical_network", sa.String(64)),
    sa.Column("category", sa.String(80)),
    sa.Column("extra", JSON, nullable=False, default=dict),
    sa.Column("internal_info", JSON, nullable=False, default=dict),
    *_ts(),
    sa.Index("ix_portgroups_node_id", "node_id"),
)

ports = sa.Table(
    "ports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("address", sa.String(18), nullable=False, unique=True),
    sa.Column("node_id", sa.Integer, sa.ForeignKey("nodes.id", ondelete="CASCADE"), nullable=False),
    sa.Column("portgroup_id", sa.Integer, sa.ForeignKey("portgroups.id", ondelete="SET NULL")),
    sa.Column("local_link_connection", JSON, nullable=False, default=dict),
    sa.Column("pxe_enabled", sa.Boolean, nullable=False, default=True),
    sa.Column("physical_network", sa.String(64)),
    sa.Column("is_smartnic", sa.Boolean, nullable=False, default=False),
    sa.Column("name", sa.String(255), unique=True),
    sa.Column("description", sa.Text),
    sa.Column("vendor", sa.String(255)),
    sa.Column("category", sa.String(80)),
    sa.Column("available_for_dynamic_portgroup", sa.Boolean, nullable=False, default=True),
    sa.Column("extra", JSON, nullable=False, default=dict),
    sa.Column("internal_info", JSON, nullable=False, default=dict),
    *_ts(),
    sa.Index("ix_ports_node_id", "node_id"),
)

volume_connectors = sa.Table(
    "volume_connectors",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("node_id", sa.Integer, sa.ForeignKey("nodes.id", ondelete="CASCADE"), nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("connector_id", sa.String(255), nullable=False),
    sa.Column("extra", JSON, nullable=False, default=dict),
    *_ts(),
    sa.UniqueConstraint("type", "connector_id"),
)

volume_targets = sa.Table(
    "volume_targets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("node_id", sa.Integer, sa.ForeignKey("nodes.id", ondelete="CASCADE"), nullable=False),
    sa.Column("volume_type", sa.String(64), nullable=False),
    sa.Column("properties", JSON, nullable=False, default=dict),
    sa.Column("boot_index", sa.Integer, nullable=False),
    sa.Column("volume_id", sa.String(36), nullable=False),
    sa.Column("extra", JSON, nullable=False, default=dict),
    *_ts(),
    sa.UniqueConstraint("node_id", "boot_index"),
)

conductors = sa.Table(
    "conductors",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("hostname", sa.String(255), nullable=False, unique=True),
    sa.Column("conductor_group", sa.String(255), nullable=False, default=""),
    sa.Column("online", sa.Boolean, nullable=False, default=True),
    sa.Column("drivers", JSON, nullable=False, default=list),
    # Changes on every start: jobs and leases of an older incarnation are ours to take back.
    sa.Column("incarnation", sa.String(36), nullable=False),
    # Where the API relays console WebSockets for this conductor's nodes (ws://host:port), when
    # it serves them (`ironworks conductor`; None with `ironworks serve`, one process).
    sa.Column("console_url", sa.String(255), nullable=True),
    # The code it runs: the package version and the newest migration that code knows. None: a
    # release older than rolling upgrades. `ironworks db upgrade --contract` refuses while an
    # online conductor runs other code than its own (docs/operations.md, "Upgrades").
    sa.Column("release", sa.String(64), nullable=True),
    sa.Column("schema_head", sa.String(32), nullable=True),
    *_ts(),
)

# Work accepted by the API, written in the same transaction as the node change it belongs to.
# A job is claimed by a conductor for `lease_until`; an expired lease is anyone's to take. It is
# finished in the same transaction as the node's final state change, so it never runs twice.
jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("node_id", sa.Integer, sa.ForeignKey("nodes.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("args", JSON, nullable=False, default=dict),
    sa.Column("state", sa.String(16), nullable=False, default="queued"),
    sa.Column("owner", sa.String(300)),
    sa.Column("lease_until", TS),
    sa.Column("not_before", TS),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text),
    sa.Column("request_id", sa.String(64)),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("started_at", TS),
    sa.Column("finished_at", TS),
    sa.Index("ix_jobs_state", "state"),
    sa.Index("ix_jobs_node_id", "node_id"),
)

node_history = sa.Table(
    "node_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("node_id", sa.Integer, sa.ForeignKey("nodes.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("event_type", sa.String(32), nullable=False),
    sa.Column("event", sa.Text, nullable=False),
    sa.Column("conductor", sa.String(255)),
    sa.Column("user", sa.String(255)),
    sa.Column("project", sa.String(255)),
    sa.Column("from_state", sa.String(32)),
    sa.Column("to_state", sa.String(32)),
    sa.Column("target_provision_state", sa.String(32)),
    sa.Column("duration", sa.Float),
    sa.Column("request_id", sa.String(64)),
    sa.Index("ix_node_history_node_id", "node_id", "id"),
)


# --- identity, access and audit (tenancy) ---------------------------------------------------------

departments = sa.Table(
    "departments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("name", sa.String(255), nullable=False, unique=True),
    sa.Column("description", sa.Text),
    # quotas: None = unlimited
    sa.Column("quota_hosts", sa.Integer),
    sa.Column("quota_nodes", sa.Integer),
    sa.Column("quota_cores", sa.Integer),
    sa.Column("quota_ram_mb", sa.Integer),
    sa.Column("quota_floating_ips", sa.Integer),
    *_ts(),
)

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column(
        "department_id",
        sa.Integer,
        sa.ForeignKey("departments.id", ondelete="RESTRICT"),
        nullable=False,
    ),
    sa.Column("description", sa.Text),
    sa.Column("quota_hosts", sa.Integer),
    sa.Column("quota_nodes", sa.Integer),
    sa.Column("quota_cores", sa.Integer),
    sa.Column("quota_ram_mb", sa.Integer),
    sa.Column("quota_floating_ips", sa.Integer),
    *_ts(),
    sa.UniqueConstraint("department_id", "name"),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("name", sa.String(255), nullable=False, unique=True),
    sa.Column("display_name", sa.String(255)),
    sa.Column("email", sa.String(255)),
    sa.Column("password_hash", sa.String(255)),  # argon2id; None: cannot log in with a password
    sa.Column("is_admin", sa.Boolean, nullable=False, default=False),  # the cloud admin role
    sa.Column("enabled", sa.Boolean, nullable=False, default=True),
    sa.Column("failed_logins", sa.Integer, nullable=False, default=0),
    sa.Column("locked_until", TS),
    sa.Column("password_changed_at", TS),
    # Who created the account: a department admin manages an account that belongs nowhere yet
    # only if they created it (domain/policy.manages_account).
    sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    *_ts(),
)

project_members = sa.Table(
    "project_members",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column(
        "project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("role", sa.String(32), nullable=False),  # project_admin | member
    sa.Column("created_at", TS, nullable=False),
    sa.UniqueConstraint("user_id", "project_id"),
    sa.Index("ix_project_members_project_id", "project_id"),
)

department_admins = sa.Table(
    "department_admins",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column(
        "department_id",
        sa.Integer,
        sa.ForeignKey("departments.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("created_at", TS, nullable=False),
    sa.UniqueConstraint("user_id", "department_id"),
)

# Failed log-ins, for throttling (services/auth.py): one row per user name and client address
# (`name\naddress`) and one per client address (`\naddress`); a success deletes its name's row.
login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("key", sa.String(320), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("last_failure_at", TS, nullable=False),
)

# Bearer tokens: only their SHA-256 is stored. `kind` session (from a password log-in, expires)
# or application (an application credential for automation, named, optional expiry).
tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("name", sa.String(255)),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS),
    sa.Column("revoked_at", TS),
    sa.Column("last_used_at", TS),
    sa.Index("ix_tokens_user_id", "user_id"),
)

# One row per mutating request (and per refused one): who, where from, what, on what, outcome.
audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("user_id", sa.Integer),  # no foreign key: the record outlives the user
    sa.Column("user_name", sa.String(255)),
    sa.Column("project_id", sa.Integer),
    sa.Column("project_name", sa.String(255)),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target_type", sa.String(32)),
    sa.Column("target_id", sa.String(64)),
    sa.Column("target_name", sa.String(255)),
    sa.Column("outcome", sa.String(16), nullable=False),  # success | failure | denied
    sa.Column("status_code", sa.Integer),
    sa.Column("detail", sa.Text),
    sa.Column("request_id", sa.String(64)),
    sa.Column("source", sa.String(64)),
    sa.Column("method", sa.String(8)),
    sa.Column("path", sa.Text),
    sa.Index("ix_audit_events_created_at", "created_at"),
    sa.Index("ix_audit_events_target", "target_type", "target_id"),
    sa.Index("ix_audit_events_request_id", "request_id"),
    sa.Index("ix_audit_events_project_id", "project_id"),
)


# One console ticket, then session: issued by `POST /api/v1/hosts/{id}/console` or Ironic's console
# routes (a one-time token, only its hash kept), claimed once by the WebSocket that opens it, closed
# with a reason; `output` is the tail of what the session showed (bounded; `console.keep_output`).
console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("node_id", sa.Integer, sa.ForeignKey("nodes.id", ondelete="CASCADE"), nullable=False),
    sa.Column("host_uuid", sa.String(36)),  # opened as a host's console (tenant), or None
    sa.Column("user_id", sa.Integer),  # no foreign key: the record outlives the user
    sa.Column("user_name", sa.String(255)),
    sa.Column("project_id", sa.Integer),
    sa.Column("project_name", sa.String(255)),
    sa.Column("expires_at", TS, nullable=False),  # the ticket's: unclaimed after this, refused
    sa.Column("opened_at", TS),
    sa.Column("closed_at", TS),
    sa.Column("mode", sa.String(16)),  # read-write | read-only
    sa.Column("close_reason", sa.Text),
    sa.Column("conductor", sa.String(255)),  # the process that served it
    sa.Column("output", sa.Text),
    sa.Column("output_bytes", sa.BigInteger, nullable=False, default=0),  # all of it, kept or not
    *_ts(),
    sa.Index("ix_console_sessions_node_id", "node_id"),
)


# --- flavors and hosts ------------------------------------------------------------------------------

flavors = sa.Table(
    "flavors",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("name", sa.String(255), nullable=False, unique=True),
    sa.Column("description", sa.Text),
    sa.Column("cpus", sa.Integer, nullable=False),
    sa.Column("memory_mb", sa.Integer, nullable=False),
    sa.Column("local_gb", sa.Integer, nullable=False),
    sa.Column("cpu_arch", sa.String(32)),  # None: any architecture
    sa.Column("resource_class", sa.String(80)),  # None: any resource class
    sa.Column("capabilities", JSON, nullable=False, default=dict),  # required node capabilities
    sa.Column("is_public", sa.Boolean, nullable=False, default=True),
    *_ts(),
)

flavor_access = sa.Table(
    "flavor_access",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "flavor_id", sa.Integer, sa.ForeignKey("flavors.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column(
        "project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
    ),
    sa.UniqueConstraint("flavor_id", "project_id"),
)

# A tenant's bare-metal server. `node_id` is unique: the database itself refuses two hosts on one
# node, whatever the scheduler does.
hosts = sa.Table(
    "hosts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column(
        "project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="RESTRICT"), nullable=False
    ),
    sa.Column("user_id", sa.Integer),  # who created it (no foreign key: users may leave)
    sa.Column(
        "flavor_id", sa.Integer, sa.ForeignKey("flavors.id", ondelete="RESTRICT"), nullable=False
    ),
    sa.Column("node_id", sa.Integer, sa.ForeignKey("nodes.id", ondelete="SET NULL"), unique=True),
    sa.Column("image", sa.Text, nullable=False),
    sa.Column("availability_zone", sa.String(255), nullable=False),
    sa.Column("ssh_key", sa.Text),
    sa.Column("user_data", sa.Text),
    sa.Column("task", sa.String(32)),  # what the tenant asked last: building, rebuilding, deleting
    *_ts(),
    sa.Index("ix_hosts_project_id", "project_id"),
)


# --- images ------------------------------------------------------------------------------------

# OS images (one whole-disk raw file, `$IRONWORKS_HOME/images/<uuid>.raw`, converted once from
# what was uploaded) and deploy images (a kernel and an initramfs, `<uuid>.kernel` and
# `<uuid>.initramfs`, listed in `parts`). Owned by a project (private, shared with the projects
# in image_access) or by nobody (public, the cloud admin's). services/images.py keeps each row and
# its files in step.
images = sa.Table(
    "images",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # os | deploy
    sa.Column("cpu_arch", sa.String(32), nullable=False),
    sa.Column("disk_format", sa.String(16)),  # raw | qcow2, as uploaded; None before any data
    sa.Column("visibility", sa.String(16), nullable=False),  # public | private | shared
    # the owner; None: the cloud's (public images, or a private one whose project was deleted)
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="SET NULL")),
    sa.Column("status", sa.String(16), nullable=False),  # queued | importing | active | error
    sa.Column("error", sa.Text),
    sa.Column("source_url", sa.Text),
    sa.Column("size", sa.BigInteger),  # bytes of the raw file served
    sa.Column("sha256", sa.String(64)),  # of the raw file served
    sa.Column("uploaded_sha256", sa.String(64)),  # of the bytes as uploaded (before conversion)
    sa.Column("min_disk_gb", sa.Integer, nullable=False, default=0),
    sa.Column("properties", JSON, nullable=False, default=dict),
    sa.Column("parts", JSON),  # deploy images: {"kernel": {"size", "sha256"}, "initramfs": ...}
    *_ts(),
    sa.Index("ix_images_project_id", "project_id"),
)

image_access = sa.Table(
    "image_access",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "image_id", sa.Integer, sa.ForeignKey("images.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column(
        "project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
    ),
    sa.UniqueConstraint("image_id", "project_id"),
)

# Installed license documents, newest last (services/licensing.py verifies them on use).
licenses = sa.Table(
    "licenses",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("document", JSON, nullable=False),
    sa.Column("installed_at", TS, nullable=False),
    sa.Column("installed_by", sa.String(255)),
)

# The agent running in a node's ramdisk (docs/provisioning.md). One row per node, reset each
# time the conductor boots the ramdisk. Columns are split by writer so that neither side can
# lose the other's update: the conductor writes purpose, boot_id, token reset and `commands`
# (the queue, with each command's `consumed` flag); the agent API writes the token at lookup,
# `results`, `running` and the heartbeat columns.
agent_sessions = sa.Table(
    "agent_sessions",
    metadata,
    sa.Column(
        "node_id", sa.Integer, sa.ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("purpose", sa.String(32), nullable=False),
    sa.Column("boot_id", sa.String(36), nullable=False),
    sa.Column("token_sha256", sa.String(64)),
    sa.Column("commands", JSON, nullable=False, default=list),
    sa.Column("results", JSON, nullable=False, default=dict),
    sa.Column("running", JSON),
    sa.Column("looked_up_at", TS),
    sa.Column("last_heartbeat", TS),
    sa.Column("agent_address", sa.String(64)),
    sa.Column("agent_version", sa.String(32)),
    *_ts(),
)


# --- tenant networking (docs/networking.md) ------------------------------------------------------

# One switching fabric. `name` is what node ports and port groups carry in their own
# `physical_network` column (a name, as in Ironic), so it never changes once created. `scheme`:
# dynamic | preconfigured | postconfigured (domain/network.py); `segmentation_ranges`: the VLAN
# ids networks get from it, "100-199,300" (domain/ipam.parse_ranges), empty for none.
physical_networks = sa.Table(
    "physical_networks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("scheme", sa.String(16), nullable=False),
    sa.Column("segmentation_ranges", sa.Text, nullable=False, default=""),
    sa.Column("description", sa.Text),
    *_ts(),
)

# A switch Ironworks drives (dynamic scheme) or computes commands for (post-configured).
# `vendor` is a key of drivers/switches.DRIVERS; `password` and `secret` (IOS/EOS enable) are
# sealed with the services' SecretBox (common/crypto.py), like BMC passwords.
switches = sa.Table(
    "switches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("name", sa.String(255), nullable=False, unique=True),
    sa.Column("vendor", sa.String(32), nullable=False),
    sa.Column("address", sa.String(255), nullable=False),
    sa.Column("port", sa.Integer, nullable=False, default=22),
    sa.Column("username", sa.String(255), nullable=False),
    sa.Column("password", sa.Text),
    sa.Column("secret", sa.Text),
    sa.Column(
        "physical_network_id",
        sa.Integer,
        sa.ForeignKey("physical_networks.id", ondelete="RESTRICT"),
        nullable=False,
    ),
    sa.Column("description", sa.Text),
    *_ts(),
    sa.Index("ix_switches_physical_network_id", "physical_network_id"),
)

# A layer-2 segment: `network_type` vlan (a segmentation id, unique per physical network: the
# database refuses two networks on one VLAN whatever races) or flat (no id). Owned by a project
# (project_id) or by the cloud (None); `shared` networks are visible to every project,
# `external` ones carry floating IPs. `role`: tenant, or one of the cloud's own networks
# (provisioning, cleaning, external; at most one network each).
networks = sa.Table(
    "networks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("network_type", sa.String(8), nullable=False),
    sa.Column("segmentation_id", sa.Integer),
    sa.Column(
        "physical_network_id",
        sa.Integer,
        sa.ForeignKey("physical_networks.id", ondelete="RESTRICT"),
        nullable=False,
    ),
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="RESTRICT")),
    sa.Column("shared", sa.Boolean, nullable=False, default=False),
    sa.Column("external", sa.Boolean, nullable=False, default=False),
    sa.Column("role", sa.String(16), nullable=False, default="tenant"),
    sa.Column("description", sa.Text),
    *_ts(),
    sa.UniqueConstraint("physical_network_id", "segmentation_id"),
    sa.Index("ix_networks_project_id", "project_id"),
)

# Addresses as text in their canonical form (str(ipaddress.ip_address(...))); pools are
# [{"start", "end"}], DNS servers a list of addresses.
subnets = sa.Table(
    "subnets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("name", sa.String(255)),
    sa.Column(
        "network_id", sa.Integer, sa.ForeignKey("networks.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("cidr", sa.String(64), nullable=False),
    sa.Column("ip_version", sa.Integer, nullable=False),
    sa.Column("gateway_ip", sa.String(64)),
    sa.Column("allocation_pools", JSON, nullable=False, default=list),
    sa.Column("dns_nameservers", JSON, nullable=False, default=list),
    *_ts(),
    sa.Index("ix_subnets_network_id", "network_id"),
)

# A host's attachment to one network, bound to one physical port or one port group of its node
# (each at most once: unique), with the MAC the host sees. Also the store of Ironic's VIFs
# (`/v1/nodes/{id}/vifs`, services/hostnics.py): `vif_id` is the id Ironic clients know it by (a
# NIC made through /api/v1 uses its uuid); a VIF attached through Ironic's API to a node without
# a host has no `host_id`, and one attached without a network no `network_id` (no IPAM, no
# switch work for it). `node_id`: the node whose port it is bound to; the row goes with the node.
host_nics = sa.Table(
    "host_nics",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("host_id", sa.Integer, sa.ForeignKey("hosts.id", ondelete="CASCADE")),
    sa.Column("network_id", sa.Integer, sa.ForeignKey("networks.id", ondelete="RESTRICT")),
    sa.Column("port_id", sa.Integer, sa.ForeignKey("ports.id", ondelete="SET NULL"), unique=True),
    sa.Column(
        "portgroup_id", sa.Integer, sa.ForeignKey("portgroups.id", ondelete="SET NULL"), unique=True
    ),
    sa.Column("mac", sa.String(18)),
    sa.Column("node_id", sa.Integer, sa.ForeignKey("nodes.id", ondelete="CASCADE")),
    sa.Column("vif_id", sa.String(255), unique=True),
    *_ts(),
    sa.Index("ix_host_nics_host_id", "host_id"),
    sa.Index("ix_host_nics_node_id", "node_id"),
)

# IPAM: one row per address handed out. Unique (subnet_id, address): the database, not the
# reader of the used set, makes an address go to one holder (db/ipam.py). `host_nic_id` is the
# owner; the row goes with its NIC. A subnet with allocations cannot be deleted (RESTRICT).
ip_allocations = sa.Table(
    "ip_allocations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "subnet_id", sa.Integer, sa.ForeignKey("subnets.id", ondelete="RESTRICT"), nullable=False
    ),
    sa.Column("address", sa.String(64), nullable=False),
    sa.Column("host_nic_id", sa.Integer, sa.ForeignKey("host_nics.id", ondelete="CASCADE")),
    sa.Column("created_at", TS, nullable=False),
    sa.UniqueConstraint("subnet_id", "address"),
    sa.Index("ix_ip_allocations_host_nic_id", "host_nic_id"),
)

# A project's router on the network node (docs/networking.md, "Floating IPs"): made with the
# project's first floating IP, gone with its last. Its own address on the external network
# (`subnet_id`, `address`: an IPAM allocation, the same row type every address is) is the
# source of the project's outbound SNAT.
routers = sa.Table(
    "routers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column(
        "project_id",
        sa.Integer,
        sa.ForeignKey("projects.id", ondelete="RESTRICT"),
        nullable=False,
        unique=True,
    ),
    sa.Column("subnet_id", sa.Integer, nullable=False),
    sa.Column("address", sa.String(64), nullable=False),
    *_ts(),
    sa.ForeignKeyConstraint(
        ["subnet_id", "address"],
        ["ip_allocations.subnet_id", "ip_allocations.address"],
        name="fk_routers_address_ip_allocations",
        ondelete="RESTRICT",
    ),
)

# An address of the external network held by a project, optionally 1:1-NATed to one fixed
# address of a host NIC. The address itself is an IPAM allocation (the foreign key to
# ip_allocations: one truth for addresses, so no NIC can get it and the subnet cannot go while
# it is held). `fixed_ip` means something only while `host_nic_id` is set; a fixed address has
# at most one floating IP (unique).
floating_ips = sa.Table(
    "floating_ips",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column(
        "project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="RESTRICT"), nullable=False
    ),
    sa.Column("subnet_id", sa.Integer, nullable=False),
    sa.Column("address", sa.String(64), nullable=False),
    sa.Column("host_nic_id", sa.Integer, sa.ForeignKey("host_nics.id", ondelete="SET NULL")),
    sa.Column("fixed_ip", sa.String(64)),
    sa.Column("description", sa.Text),
    *_ts(),
    sa.ForeignKeyConstraint(
        ["subnet_id", "address"],
        ["ip_allocations.subnet_id", "ip_allocations.address"],
        name="fk_floating_ips_address_ip_allocations",
        ondelete="RESTRICT",
    ),
    sa.UniqueConstraint("host_nic_id", "fixed_ip"),
    sa.Index("ix_floating_ips_project_id", "project_id"),
)

# --- usage metering and prices (docs/operations.md, "Usage and prices") ------------------------

# One row per interval a host accrues: opened by create, start and rebuild, closed by stop,
# rebuild and delete, each in the transaction of the request that causes it (services/usage.py).
# At most one open row (ended_at NULL) per host. The host's flavor, project and department are
# copied in, not referenced: a report over last month must survive the host, the flavor or the
# project being deleted since.
usage_records = sa.Table(
    "usage_records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("host_uuid", sa.String(36), nullable=False),
    sa.Column("host_name", sa.String(255), nullable=False),
    sa.Column("flavor_uuid", sa.String(36), nullable=False),
    sa.Column("flavor_name", sa.String(255), nullable=False),
    sa.Column("project_id", sa.Integer, nullable=False),
    sa.Column("project_name", sa.String(255), nullable=False),
    sa.Column("department_id", sa.Integer, nullable=False),
    sa.Column("department_name", sa.String(255), nullable=False),
    sa.Column("started_at", TS, nullable=False),
    sa.Column("started_by", sa.String(16), nullable=False),  # create, start, rebuild
    sa.Column("ended_at", TS),  # NULL: still accruing
    sa.Column("ended_by", sa.String(16)),  # stop, rebuild, delete
    sa.Index("ix_usage_records_host_uuid", "host_uuid"),
    sa.Index("ix_usage_records_project_id_started_at", "project_id", "started_at"),
    sa.Index("ix_usage_records_department_id_started_at", "department_id", "started_at"),
)

# The price of a flavor per hour, as a history: a row is never changed, a new price is a new row
# taking effect at `effective_from` (now, or later). The price in force at an instant is the row
# with the latest effective_from at or before it. `price` is the decimal's text (exact on SQLite,
# which has no decimal type). Keyed by the flavor's uuid, for the same reason as usage_records.
flavor_prices = sa.Table(
    "flavor_prices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("flavor_uuid", sa.String(36), nullable=False),
    sa.Column("flavor_name", sa.String(255), nullable=False),
    sa.Column("price", sa.String(40), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("unit", sa.String(8), nullable=False),  # "hour"
    sa.Column("effective_from", TS, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("created_by", sa.String(255)),
    sa.UniqueConstraint("flavor_uuid", "effective_from"),
)

# Ironic's allocations: a request for a node by resource class, traits and candidates. The
# claim (db/scheduling.py) sets `node_id` here and `instance_uuid` and `allocation_uuid` on the
# node in one transaction; `node_id` is unique, so the database refuses two allocations on one
# node. An allocation goes with its node.
allocations = sa.Table(
    "allocations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("name", sa.String(255), unique=True),
    sa.Column("state", sa.String(15), nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("resource_class", sa.String(80)),
    sa.Column("traits", JSON, nullable=False, default=list),
    sa.Column("candidate_nodes", JSON, nullable=False, default=list),
    sa.Column("extra", JSON, nullable=False, default=dict),
    sa.Column("owner", sa.String(255)),
    sa.Column("node_id", sa.Integer, sa.ForeignKey("nodes.id", ondelete="CASCADE"), unique=True),
    *_ts(),
)

# Ironic's inspection rules (API 1.96): run in priority order at the end of an inspection.
inspection_rules = sa.Table(
    "inspection_rules",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("description", sa.String(255)),
    sa.Column("priority", sa.Integer, nullable=False, default=0),
    sa.Column("phase", sa.String(16), nullable=False, default="main"),
    sa.Column("sensitive", sa.Boolean, nullable=False, default=False),
    sa.Column("conditions", JSON, nullable=False, default=list),
    sa.Column("actions", JSON, nullable=False, default=list),
    *_ts(),
)

# Ironic's deploy templates (API 1.55): steps a deploy adds when the instance's traits name the
# template (its name is a trait). `steps`: [{interface, step, args, priority}].
deploy_templates = sa.Table(
    "deploy_templates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("name", sa.String(255), nullable=False, unique=True),
    sa.Column("steps", JSON, nullable=False, default=list),
    sa.Column("extra", JSON, nullable=False, default=dict),
    *_ts(),
)

# Ironic's runbooks (API 1.92): named lists of steps, run by `clean` (or `service`) with
# `runbook` on a node whose traits name the runbook. `steps`: [{interface, step, args, order}].
runbooks = sa.Table(
    "runbooks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("name", sa.String(255), nullable=False, unique=True),
    sa.Column("description", sa.Text),
    sa.Column("steps", JSON, nullable=False, default=list),
    sa.Column("disable_ramdisk", sa.Boolean, nullable=False, default=False),
    sa.Column("owner", sa.String(255)),
    sa.Column("public", sa.Boolean, nullable=False, default=False),
    sa.Column("extra", JSON, nullable=False, default=dict),
    *_ts(),
)

# --- monitoring: sensors, hardware event logs, alarms (#13) ----------------------------------------

# Every sensor reading of every cycle, kept `monitoring.retention` seconds.
sensor_readings = sa.Table(
    "sensor_readings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("node_id", sa.Integer, sa.ForeignKey("nodes.id", ondelete="CASCADE"), nullable=False),
    sa.Column("read_at", TS, nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("unit", sa.String(16), nullable=False),
    sa.Column("value", sa.Float),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Index("ix_sensor_readings_node_id", "node_id", "read_at"),
    sa.Index("ix_sensor_readings_read_at", "read_at"),
)

# The BMCs' system event log entries, once each: (node, the BMC's record id) is unique.
sel_entries = sa.Table(
    "sel_entries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("node_id", sa.Integer, sa.ForeignKey("nodes.id", ondelete="CASCADE"), nullable=False),
    sa.Column("record_id", sa.Integer, nullable=False),
    sa.Column("logged_at", TS),  # the BMC's clock; None when it had no date
    sa.Column("received_at", TS, nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("sensor", sa.String(64), nullable=False),
    sa.Column("event", sa.String(255), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("asserted", sa.Boolean, nullable=False),
    sa.Column("condition", sa.String(32), nullable=False),
    sa.UniqueConstraint("node_id", "record_id"),
    sa.Index("ix_sel_entries_received_at", "received_at"),
)

alarms = sa.Table(
    "alarms",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("node_id", sa.Integer, sa.ForeignKey("nodes.id", ondelete="CASCADE"), nullable=False),
    sa.Column("rule", sa.String(32), nullable=False),
    sa.Column("condition", sa.String(160), nullable=False),  # one open alarm per node and this
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # firing, acknowledged, resolved
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("fired_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("acknowledged_at", TS),
    sa.Column("acknowledged_by", sa.String(255)),
    sa.Column("resolved_at", TS),
    sa.Index("ix_alarms_node_id", "node_id", "state"),
    sa.Index("ix_alarms_state", "state"),
)

# Each conductor's last sensor cycle and power sync (`cycle`: sensors, power_sync), for
# /metrics: replaced at the end of each (db/monitoring.record_cycle). `errors_by_kind`: BMC error
# code -> count.
conductor_cycles = sa.Table(
    "conductor_cycles",
    metadata,
    sa.Column("conductor", sa.String(255), primary_key=True),
    sa.Column("cycle", sa.String(16), primary_key=True),
    sa.Column("finished_at", TS, nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("owned", sa.Integer, nullable=False),
    sa.Column("errors", sa.Integer, nullable=False),
    sa.Column("errors_by_kind", JSON, nullable=False, default=dict),
)

# What to tell whom about an alarm: one row per (alarm, event, channel, target), so that queuing
# it again changes nothing; sent at least once (retried with back-off), the key in every try.
alarm_notifications = sa.Table(
    "alarm_notifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "alarm_id", sa.Integer, sa.ForeignKey("alarms.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("event", sa.String(16), nullable=False),  # firing, resolved
    sa.Column("channel", sa.String(16), nullable=False),  # webhook, email
    sa.Column("target", sa.String(512), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_at", TS),  # None with sent_at None: given up
    sa.Column("sent_at", TS),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", TS, nullable=False),
    sa.UniqueConstraint("alarm_id", "event", "channel", "target"),
    sa.Index("ix_alarm_notifications_next_at", "next_at"),
)

# --- a node's BIOS settings and firmware components, as its BMC last reported them (#14) ----------

# Ironic's BIOS cache: replaced whole when the conductor reads the BIOS (verify, inspection,
# cleaning, a BIOS step). The registry columns (API 1.74) are None when the BMC has no registry.
bios_settings = sa.Table(
    "bios_settings",
    metadata,
    sa.Column(
        "node_id", sa.Integer, sa.ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("value", sa.Text),
    sa.Column("attribute_type", sa.String(255)),
    sa.Column("allowable_values", JSON),
    sa.Column("lower_bound", sa.Integer),
    sa.Column("upper_bound", sa.Integer),
    sa.Column("min_length", sa.Integer),
    sa.Column("max_length", sa.Integer),
    sa.Column("read_only", sa.Boolean),
    sa.Column("reset_required", sa.Boolean),
    sa.Column("unique", sa.Boolean),
    *_ts(),
)

# Ironic's firmware components (API 1.86): the version first seen, the current one and the last
# one an update step flashed.
firmware_components = sa.Table(
    "firmware_components",
    metadata,
    sa.Column(
        "node_id", sa.Integer, sa.ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("component", sa.String(64), primary_key=True),
    sa.Column("initial_version", sa.String(255), nullable=False),
    sa.Column("current_version", sa.String(255)),
    sa.Column("last_version_flashed", sa.String(255)),
    *_ts(),
)
