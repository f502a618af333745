"""Settings: one validated object built at start by `cmd/` and passed down.

Sources, highest first: keyword arguments, environment (`IRONWORKS_...`, nested with `__`),
a TOML file (`--config`, `IRONWORKS_CONFIG`, or `$IRONWORKS_HOME/ironworks.toml`), defaults.
Nothing else in the code reads the environment.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ironworks.common.errors import ConfigError


class APISettings(BaseModel):
    host: str = Field("127.0.0.1", description="Address the API listens on.")
    port: int = Field(6385, ge=1, le=65535, description="TCP port of the API (Ironic's is 6385).")
    public_url: str | None = Field(
        None, description="Base URL used in links; default: taken from each request's Host."
    )
    max_limit: int = Field(1000, ge=1, description="Largest page a list returns (Ironic: 1000).")
    max_body_bytes: int = Field(
        4 * 1024 * 1024,
        ge=1024,
        description="Largest request body the API reads, checked before parsing and before "
        "authentication (413 beyond it). Image uploads, node import files and config drives "
        "have limits of their own (api/limits.py).",
    )
    metrics_public: bool = Field(
        False,
        description="Serve /metrics to anyone who reaches the API's address (a Prometheus "
        "without a token); off: a cloud admin's token is needed.",
    )


class ConductorSettings(BaseModel):
    hostname: str = Field(
        default_factory=socket.gethostname,
        description="Name this conductor registers under and writes into node reservations.",
    )
    group: str = Field("", description="Conductor group (e.g. a rack or an AZ) it serves.")
    workers: int = Field(
        32, ge=1, le=1024, description="Jobs one conductor runs at the same time (threads)."
    )
    heartbeat_interval: float = Field(10.0, gt=0, description="Seconds between heartbeats.")
    heartbeat_timeout: float = Field(
        60.0, gt=0, description="A conductor silent this long is dead; others take its work."
    )
    job_lease: float = Field(
        60.0, gt=0, description="Seconds a claimed job stays ours without renewal."
    )
    poll_interval: float = Field(
        1.0, gt=0, description="Seconds between job-table polls when no wake-up arrives."
    )
    claim_delay: float = Field(
        0.02,
        ge=0,
        le=1,
        description="Seconds the conductor waits after a wake-up so that jobs queued together "
        "are claimed in one transaction.",
    )
    periodic_interval: float = Field(
        10.0, gt=0, description="Seconds between runs of periodic tasks (timeouts, takeover)."
    )
    power_sync_interval: float = Field(
        45.0,
        ge=0,
        description="Seconds between power-state syncs; 0 disables. Under 50 s, IPMI sessions "
        "are kept between syncs (BMCs drop them after 60 s idle) and a sync sends one request "
        "per BMC.",
    )
    power_sync_workers: int = Field(
        256, ge=1, le=4096, description="BMCs one power sync asks at the same time."
    )
    power_sync_policy: Literal["record", "force"] = Field(
        "record",
        description="When a BMC's power state differs from the recorded one (changed out of "
        "band): record it (history event) or force the BMC back to the recorded state.",
    )
    power_sync_max_failures: int = Field(
        3,
        ge=0,
        description="Syncs in a row a BMC may fail to answer before its node is put in "
        "maintenance with fault 'power failure' (cleared when it answers again); 0: never.",
    )
    automated_clean: bool = Field(
        True, description="Clean nodes on provide and after undeploy unless the node opts out."
    )


class SensorRule(BaseModel):
    """An alarm when a sensor's reading crosses a value of ours (besides the BMC's own
    thresholds): sensors matched by name (a shell pattern) and kind."""

    model_config = {"extra": "forbid"}

    sensor: str = Field("*", description="Sensor name, a shell pattern (fnmatch): 'CPU* Temp'.")
    kind: str | None = Field(None, description="Sensor kind: Temperature, Fan, Voltage, ...")
    above: float | None = Field(None, description="Fires when the reading is at or above this.")
    below: float | None = Field(None, description="Fires when the reading is below this.")
    severity: Literal["warning", "critical"] = "warning"


class MonitoringSettings(BaseModel):
    """The conductors' sensor and event-log cycle, the alarm rules and where alarms are sent."""

    sensor_interval: float = Field(
        60.0,
        ge=0,
        description="Seconds between sensor and event-log cycles of each conductor; 0 disables "
        "them. IPMI sessions are the power sync's (one per BMC): kept open between cycles while the "
        "power sync runs at its default 45 s, or when this is under 50 s.",
    )
    sensor_workers: int = Field(
        1024,
        ge=1,
        le=4096,
        description="BMCs one sensor cycle reads at the same time. A dead BMC holds its slot "
        "for its ipmi_timeout; with fewer slots than BMCs, dead ones met late in a first cycle "
        "add their timeout to it.",
    )
    retention: float = Field(
        86400.0,
        gt=0,
        description="Seconds sensor readings and event-log entries are kept in the database.",
    )
    alarm_retention: float = Field(
        30 * 86400.0,
        gt=0,
        description="Seconds a resolved alarm (and its notifications) is kept after it resolved.",
    )
    rules: list[SensorRule] = Field(
        default_factory=list,
        description="Sensor thresholds of ours, as [[monitoring.rules]] tables: sensor, kind, "
        "above, below, severity.",
    )
    bmc_thresholds: bool = Field(
        True, description="Alarm when a reading crosses a threshold the BMC itself reports."
    )
    sel_severity: Literal["warning", "critical"] = Field(
        "warning",
        description="Event-log entries of this severity or worse raise an alarm (resolved by "
        "the entry that deasserts them).",
    )
    unreachable_after: int = Field(
        2, ge=1, description="Failed BMC reads in a row before a 'BMC unreachable' alarm."
    )
    stuck_after: float = Field(
        3600.0,
        gt=0,
        description="Seconds a node may sit in a wait state (wait call-back, clean wait, ...) "
        "before a 'stuck' alarm.",
    )
    webhooks: list[str] = Field(
        default_factory=list,
        description="URLs every alarm is POSTed to as JSON when it fires and when it resolves.",
    )
    email_to: list[str] = Field(
        default_factory=list, description="Addresses every alarm is mailed to (SMTP)."
    )
    email_from: str = Field("ironworks@localhost", description="Sender of alarm e-mails.")
    smtp_host: str = Field("localhost", description="SMTP server for alarm e-mails.")
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_username: str | None = Field(None, description="SMTP log-in, if the server wants one.")
    smtp_password: SecretStr | None = None
    notify_severity: Literal["warning", "critical"] = Field(
        "warning", description="Alarms of this severity or worse are sent."
    )
    notify_attempts: int = Field(
        8, ge=1, description="Tries per notification before it is given up (logged)."
    )
    notify_backoff: float = Field(
        5.0, gt=0, description="Seconds before the first retry; doubled after each failure."
    )
    notify_timeout: float = Field(
        10.0, gt=0, description="Seconds one webhook or SMTP try may take."
    )


class TimeoutSettings(BaseModel):
    """How long a node may sit in a wait state before the conductor fails it."""

    deploy_callback: float = Field(1800.0, gt=0, description="Seconds in 'wait call-back'.")
    inspect_wait: float = Field(1800.0, gt=0, description="Seconds in 'inspect wait'.")
    clean_callback: float = Field(1800.0, gt=0, description="Seconds in 'clean wait'.")
    rescue_callback: float = Field(1800.0, gt=0, description="Seconds in 'rescue wait'.")
    network_confirm: float = Field(
        3600.0,
        gt=0,
        description="Seconds a node waits for the operator to apply and confirm the switch "
        "commands of a post-configured physical network ('inspect/clean/deploy confirm').",
    )
    power_state_change: float = Field(
        60.0, gt=0, description="Default seconds a power change may take before it failed."
    )


class ConsoleSettings(BaseModel):
    """The serial console (IPMI serial-over-LAN bridged to a WebSocket; docs/operations.md)."""

    ticket_ttl: float = Field(
        60.0, gt=0, description="Seconds a console URL stays valid before it is opened (once)."
    )
    idle_timeout: float = Field(
        900.0, gt=0, description="Seconds without a byte either way before a session is closed."
    )
    max_session: float = Field(
        4 * 3600.0, gt=0, description="Seconds a console session may last, however busy."
    )
    keep_output: bool = Field(
        True, description="Keep the tail of each session's output with its audit record."
    )
    output_limit: int = Field(
        65536, ge=0, description="Bytes of a session's output kept (the last ones)."
    )
    # API and conductors split (`ironworks api` + `ironworks conductor`): the API relays each
    # console WebSocket to the conductor that owns the node, which runs the SOL session.
    internal_host: str = Field(
        "127.0.0.1",
        description="Address a conductor process serves its internal console WebSocket on "
        "(`ironworks conductor` only; loopback by default, set it to an address the API "
        "processes reach when they run on other machines).",
    )
    internal_port: int = Field(
        0,
        ge=0,
        le=65535,
        description="Port of the internal console WebSocket; 0 (default): any free port, "
        "registered with the conductor (set one to open it in a firewall).",
    )
    internal_advertise: str | None = Field(
        None,
        description="Address the API processes connect to for this conductor's consoles "
        "(registered in the conductors table). Unset: internal_host.",
    )
    internal_key: SecretStr | None = Field(
        None,
        description="Key the API presents to the conductors' internal console WebSocket; the "
        "same on every api and conductor process. Unset: derived from secret_key (or the key "
        "file), which they share already.",
    )


class AuthSettings(BaseModel):
    noauth: bool = Field(
        False,
        description="Serve every API without credentials, as the cloud admin (standalone use, "
        "tests). Off: /v1 needs a cloud admin's token, /api/v1 a token whose roles allow the call.",
    )
    admin_user: str = Field("admin", min_length=1, description="Name of the first cloud admin.")
    admin_password: SecretStr | None = Field(
        None,
        description="Password of the first cloud admin, created on the first start with no "
        "user. Unset: one is generated and printed once.",
    )
    token_ttl: float = Field(8 * 3600, gt=0, description="Seconds a log-in token is valid.")
    max_failed_logins: int = Field(
        5,
        ge=1,
        description="Wrong passwords in a row for one user name from one client address before "
        "each further try from there must wait (1 s, then twice as long each time). Others, "
        "from other addresses, are not slowed down: nobody can lock an account out.",
    )
    max_failed_logins_per_address: int = Field(
        20,
        ge=1,
        description="Wrong passwords from one client address, whatever the user names, before "
        "its tries must wait the same way (password spraying).",
    )
    lockout_seconds: float = Field(
        900,
        gt=0,
        description="The longest wait between tries after wrong passwords; an address that "
        "stays quiet twice as long starts afresh. `ironworks account unlock NAME` on the "
        "server, or an admin's unlock, ends the waits of a user name at once.",
    )
    application_credential_ttl: float = Field(
        90 * 86400,
        gt=0,
        description="Seconds an application credential is valid when its creator names no "
        "lifetime.",
    )


class LicenseSettings(BaseModel):
    evaluation_nodes: int = Field(
        20, ge=0, description="Nodes that can be enrolled without a license (evaluation)."
    )
    trusted_keys: list[str] = Field(
        default_factory=list,
        description="More Ed25519 public keys (base64, raw) whose license signatures are "
        "accepted, besides the vendor's built-in ones (key rotation; tests).",
    )


class BootSettings(BaseModel):
    """The provisioning network's boot services: dnsmasq (DHCP/TFTP) and the boot HTTP listener
    that serves iPXE scripts, the agent ramdisk, images and the agent API (docs/provisioning.md)."""

    enabled: bool = Field(
        False,
        description="Run dnsmasq and the boot HTTP listener with `ironworks serve`. Nodes with "
        "the ipxe boot interface need it (or an external DHCP server that chains to our iPXE "
        "scripts).",
    )
    netns: str | None = Field(
        None,
        description="Network namespace of the provisioning network (the lab's is `iwlab`): "
        "dnsmasq runs in it and the boot HTTP listener binds in it. Unset: this host's own.",
    )
    interface: str = Field("iwbr0", description="Interface dnsmasq serves DHCP on.")
    serve_on_api: bool = Field(
        False,
        description="Also serve the boot routes and the agent API (no user token: nodes "
        "prove themselves by MAC and one-time token) on the main API. Only where the main API "
        "is reachable from the provisioning network alone, never where tenants reach it.",
    )
    http_address: str = Field(
        "10.99.0.1",
        description="Address of this server on the provisioning network: the boot HTTP "
        "listener binds it and nodes reach it there.",
    )
    http_port: int = Field(8080, ge=1, le=65535, description="TCP port of the boot listener.")
    dhcp_range: str = Field(
        "10.99.1.0,10.99.255.254,255.255.0.0",
        description="dnsmasq dhcp-range for IPv4: first,last,netmask.",
    )
    dhcp_range6: str | None = Field(
        None,
        description="dnsmasq dhcp-range for DHCPv6 (UEFI IPv6 PXE), e.g. 'fd99::100,fd99::1ff,64'; "
        "needs an IPv6 http_address6. Unset: IPv6 is only advertised as ra-only, which keeps "
        "iPXE from waiting for it.",
    )
    http_address6: str | None = Field(
        None, description="IPv6 address of this server on the provisioning network."
    )
    lease_time: str = Field("1h", description="DHCP lease time.")
    discovery: bool = Field(
        False,
        description="Boot unknown MACs into the agent ramdisk and enrol them from their "
        "inventory (auto-discovery). Off: unknown MACs get no DHCP answer.",
    )
    discovery_auto_accept: bool = Field(
        False,
        description="Count a discovered machine against the license as soon as it is enrolled. "
        "Off: it counts only once an operator accepts it (manages it), so made-up MACs on the "
        "provisioning network cannot use up the licensed node count.",
    )
    discovery_max_pending: int = Field(
        100,
        ge=1,
        description="Discovered machines that may wait in `enroll` for an operator at once; "
        "beyond it lookups of unknown MACs are refused (409) until some are managed or "
        "deleted, so a host on the provisioning network cannot enrol endless made-up MACs.",
    )
    discovery_driver: str = Field(
        "ipmi",
        description="Hardware type of nodes enrolled by discovery (their BMC credentials are "
        "added by the operator before managing them).",
    )
    first_boot_phone_home: bool = Field(
        True,
        description="Put cloud-init `phone_home` to the first-boot URL into each config drive's "
        "vendor data, so the timeline's first boot ends when cloud-init has run. Turn it off "
        "where deployed hosts cannot reach the boot listener (cloud-init would retry in vain); "
        "`ironworks.first_boot_url` stays in the vendor data for other clients.",
    )
    lldp_wait: float = Field(
        0.0,
        ge=0,
        le=120,
        description="Seconds the agent listens for LLDP on each NIC during inspection (switches "
        "send every 30 s by default; 0: no LLDP, the switch port stays unknown).",
    )
    ipxe_dir: Path = Field(
        Path("/usr/lib/ipxe"), description="Where Debian's ipxe package keeps its binaries."
    )
    dnsmasq: str = Field("dnsmasq", description="The dnsmasq program.")
    ramdisk_dir: Path | None = Field(
        None,
        description="Where the agent ramdisks are: ARCH/kernel and ARCH/initramfs (what "
        "`ironworks ramdisk build` writes). Unset: $IRONWORKS_HOME/ramdisk.",
    )
    kernel_params: str = Field(
        "", description="Extra kernel command line for the agent ramdisk (e.g. 'ipv6.disable=1')."
    )
    erase_mode: Literal["metadata", "full"] = Field(
        "metadata",
        description="How cleaning erases disks: 'metadata' (partition tables, filesystem "
        "signatures) or 'full' (every byte; slow).",
    )
    agent_heartbeat: float = Field(
        5.0, gt=0, le=300, description="Seconds between agent heartbeats while it is idle."
    )


class ImageSettings(BaseModel):
    """OS and deploy images under `$IRONWORKS_HOME/images` (services/images.py, images/)."""

    import_timeout: float = Field(
        60.0,
        gt=0,
        description="Seconds an image download (import, deploy cache) may wait for the remote "
        "server to connect or send more data before it fails.",
    )
    qemu_img: str = Field("qemu-img", description="The qemu-img program (Debian: qemu-utils).")
    convert_timeout: float = Field(
        3600.0, gt=0, description="Seconds a qemu-img conversion to raw may take at most."
    )
    max_virtual_size_gb: int = Field(
        4096,
        ge=1,
        description="Largest disk (GiB) a qcow2 image may describe; bigger ones are refused "
        "before conversion (a tiny qcow2 can claim an enormous raw size).",
    )
    tenant_url_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts (`name` for the scheme's default port, `name:port` for another; names "
        "as written in the URL) from which a project's users may have images downloaded, "
        "redirects included: an image import, or a host created or rebuilt from a URL. The "
        "download runs inside the cloud's network, so any other URL a tenant gives is refused "
        "(it could reach metadata services, databases or BMCs and copy them to the tenant's "
        "disk); tenants use image ids. Cloud admins may give any URL.",
    )


class GatewaySettings(BaseModel):
    """The floating IP gateway on the network node: a namespace per project router with nftables
    1:1 NAT and SNAT (docs/networking.md, "Floating IPs")."""

    enabled: bool = Field(
        False,
        description="This process is the network node's: it applies the routers at start and "
        "after every floating IP change (`ip` and `nft`, as root).",
    )
    bridge_netns: str | None = Field(
        None,
        description="Network namespace holding the networks' bridges the routers plug into "
        "(a lab's switch namespace). Unset: this node's own.",
    )
    namespace_prefix: str = Field(
        "iwr-",
        min_length=1,
        max_length=16,
        description="Router namespaces are named this plus the router's id; namespaces with "
        "the prefix that the database no longer has are deleted.",
    )
    bridge_template: str = Field(
        "br-vlan{segmentation_id}",
        description="The bridge of a vlan network on the network node; {segmentation_id} and "
        "{network} (the network's uuid) are filled in.",
    )
    flat_bridge_template: str = Field(
        "br-{network:.8}",
        description="The bridge of a flat network (no VLAN id); {network} is its uuid.",
    )

    @field_validator("bridge_template", "flat_bridge_template")
    @classmethod
    def _fills_in(cls, value: str) -> str:
        try:
            name = value.format(
                segmentation_id=4094, network="0" * 8 + "-0000-4000-8000-" + "0" * 12
            )
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(
                f"{value!r} may use only {{segmentation_id}} and {{network}}: {e}"
            ) from None
        if not 1 <= len(name) <= 15:
            raise ValueError(f"{value!r} makes {name!r}: a bridge name has 1 to 15 characters")
        return value


class FakeSettings(BaseModel):
    delay: float = Field(
        0.0,
        ge=0,
        description="Default delay of every fake-hardware operation, in seconds "
        "(overridden per node by driver_info fake_<interface>_delay).",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="IRONWORKS_", env_nested_delimiter="__", extra="forbid"
    )

    home: Path = Field(Path("var"), description="Directory for the embedded database and state.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; default SQLite under `home`. PostgreSQL: "
        "postgresql+psycopg://user@host/db",
    )
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR.")
    secret_key: SecretStr | None = Field(
        None,
        description="Key that encrypts BMC passwords at rest: 32 random bytes in url-safe "
        "base64 (`ironworks config new-key` prints one). Unset: generated on first start into "
        "$IRONWORKS_HOME/secret.key (mode 0600). Every api and conductor process needs the same.",
    )
    api: APISettings = Field(default_factory=APISettings)
    conductor: ConductorSettings = Field(default_factory=ConductorSettings)
    timeouts: TimeoutSettings = Field(default_factory=TimeoutSettings)
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    fake: FakeSettings = Field(default_factory=FakeSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    license: LicenseSettings = Field(default_factory=LicenseSettings)
    boot: BootSettings = Field(default_factory=BootSettings)
    images: ImageSettings = Field(default_factory=ImageSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    default_availability_zone: str = Field(
        "default",
        min_length=1,
        description="Availability zone of nodes whose properties name none "
        "(properties/availability_zone), and of hosts created without one.",
    )
    enabled_hardware_types: list[str] = Field(
        default_factory=lambda: ["fake-hardware", "ipmi", "redfish"],
        description="Hardware types this deployment accepts for nodes.",
    )

    @field_validator("log_level")
    @classmethod
    def _level(cls, v: str) -> str:
        v = v.upper()
        if v not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return v

    @field_validator("database_url")
    @classmethod
    def _db(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("sqlite", "postgresql")):
            raise ValueError("only sqlite:// and postgresql+psycopg:// URLs are supported")
        return v

    @property
    def ramdisk_path(self) -> Path:
        """Where the agent ramdisks are (boot.ramdisk_dir, else $IRONWORKS_HOME/ramdisk)."""
        return self.boot.ramdisk_dir or self.home / "ramdisk"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'ironworks.db').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_file = _TOML_FILE.get("path")
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)


# The TOML file chosen by cmd/ for the next load; pydantic-settings reads sources by class.
_TOML_FILE: dict[str, Path | None] = {"path": None}


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build and validate the settings, or raise ConfigError with every problem listed."""
    if config_file is not None and not config_file.is_file():
        raise ConfigError(f"config file {config_file} does not exist")
    _TOML_FILE["path"] = config_file
    try:
        return Settings(**overrides)
    except ValidationError as e:
        lines = []
        for err in e.errors():
            where = ".".join(str(p) for p in err["loc"]) or "settings"
            lines.append(f"  {where}: {err['msg']}")
        src = f" (file {config_file})" if config_file else ""
        raise ConfigError("invalid settings" + src + ":\n" + "\n".join(lines)) from None
    except ValueError as e:  # malformed TOML
        raise ConfigError(f"cannot read config file {config_file}: {e}") from None
    finally:
        _TOML_FILE["path"] = None


def sample_toml() -> str:
    """Every option with its help text and default, as a TOML document."""
    out = ["# Ironworks settings. Environment: IRONWORKS_<NAME>, nested IRONWORKS_API__PORT.", ""]

    def fmt(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, Path):
            return f'"{v}"'
        if isinstance(v, list):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        if v is None:
            return '""  # unset'
        return f'"{v}"'

    def emit(model: type[BaseModel], instance: BaseModel, section: str | None) -> None:
        nested = []
        if section:
            out.append(f"[{section}]")
        for name, field in model.model_fields.items():
            value = getattr(instance, name)
            if isinstance(value, BaseModel):
                nested.append((name, type(value), value))
                continue
            if field.description:
                out.append(f"# {field.description}")
            prefix = "" if value is not None else "# "
            out.append(f"{prefix}{name} = {fmt(value)}")
        out.append("")
        for name, sub_model, sub in nested:
            emit(sub_model, sub, name if not section else f"{section}.{name}")

    emit(Settings, Settings(), None)
    return "\n".join(out)
