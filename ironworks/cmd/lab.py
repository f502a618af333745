"""`ironworks lab ...`: the virtual datacenter's front end.

`bmc`: emulated BMCs in front of in-memory machines, in the foreground. `up`/`down`/`status`:
QEMU VMs behind emulated BMCs on a private network namespace (`ironworks/lab/vmlab.py`).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ironworks.lab.fleet import BmcSpec, Fleet, FleetOptions

app = typer.Typer(
    help="A virtual datacenter for trying Ironworks without hardware: emulated BMCs, and QEMU "
    "VMs behind them on a private network.",
    no_args_is_help=True,
)


@app.command("bmc")
def bmc(
    count: Annotated[int, typer.Option("--count", "-n", help="How many BMCs to serve.")] = 10,
    base_port: Annotated[
        int, typer.Option(help="UDP port of the first BMC; one port each.")
    ] = 16230,
    address: Annotated[str, typer.Option(help="Loopback address to listen on.")] = "127.0.0.1",
    user: Annotated[str, typer.Option(help="BMC user name.")] = "admin",
    password: Annotated[str, typer.Option(help="BMC password.")] = "password",
    fault: Annotated[
        list[str] | None,
        typer.Option(
            help="KIND=P% or KIND=N, repeatable. Kinds: dead (no answer), slow (late answers), "
            "badpass (the BMC's password differs from the one printed), flap (power toggles "
            "by itself).",
        ),
    ] = None,
    power_delay: Annotated[float, typer.Option(help="Seconds a power on/off takes.")] = 0.5,
    shutdown_delay: Annotated[
        float, typer.Option(help="Seconds an OS takes to shut down on an ACPI request.")
    ] = 1.0,
    slow_delay: Annotated[float, typer.Option(help="Seconds a slow BMC answers late.")] = 3.0,
    flap_interval: Annotated[
        float, typer.Option(help="Seconds between toggles of a flapping power supply.")
    ] = 5.0,
    shard_size: Annotated[int, typer.Option(help="BMCs per process (at most 200).")] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the choice of faulty BMCs.")] = 0,
    address_each: Annotated[
        bool,
        typer.Option(
            "--address-each",
            help="One loopback address per BMC (ADDRESS, ADDRESS+1, ...), all on BASE_PORT, as "
            "in a datacenter where every BMC has its own IP.",
        ),
    ] = False,
) -> None:
    """Serve N emulated IPMI BMCs in the foreground; print the CSV to enrol them on stdout."""
    from ironworks.lab.fleet import FleetOptions

    opts = FleetOptions(
        count=count,
        base_port=base_port,
        address=address,
        username=user,
        password=password,
        power_delay=power_delay,
        shutdown_delay=shutdown_delay,
        slow_delay=slow_delay,
        flap_interval=flap_interval,
        seed=seed,
        address_each=address_each,
    )
    specs, fleet = _start_fleet(opts, fault or [], shard_size)
    _print_fleet(opts, specs, fleet)
    _serve_until_stopped(fleet)


sel_app = typer.Typer(help="The emulated BMCs' system event logs.", no_args_is_help=True)
app.add_typer(sel_app, name="sel")


@sel_app.command("inject")
def sel_inject(
    bmc: Annotated[str, typer.Option("--bmc", help="The BMC as ADDRESS:PORT (127.0.0.1:16230).")],
    event: Annotated[
        str,
        typer.Option(
            "--event", help="psu-failure, fan-failure or overheat (the machine shows it too)."
        ),
    ],
    clear: Annotated[
        bool, typer.Option("--clear", help="Send the event deasserted: the fault is over.")
    ] = False,
    user: Annotated[str, typer.Option(help="BMC user name.")] = "admin",
    password: Annotated[str, typer.Option(help="BMC password.")] = "password",
) -> None:
    """Log a hardware event in an emulated BMC's SEL (an IPMI platform event message)."""
    from ironworks.lab.errors import LabError
    from ironworks.lab.sel import inject

    address, _, port = bmc.rpartition(":")
    try:
        if not address or not port.isdigit():
            raise LabError(f"--bmc {bmc!r} is not ADDRESS:PORT")
        inject(address.strip("[]"), int(port), user, password, event, clear)
    except LabError as e:
        typer.echo(f"ironworks lab: {e}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{event} {'cleared' if clear else 'logged'} on BMC {bmc}")


def _start_fleet(
    opts: FleetOptions, faults: list[str], shard_size: int
) -> tuple[list[BmcSpec], Fleet]:
    """The BMCs' specs and their running shard processes; exit 2 on a bad option."""
    from ironworks.lab.errors import LabError
    from ironworks.lab.fleet import Fleet, make_specs

    try:
        specs = make_specs(opts, faults)
        return specs, Fleet(specs, shard_size=shard_size).start()
    except LabError as e:
        typer.echo(f"ironworks lab: {e}", err=True)
        raise typer.Exit(2) from None


def _print_fleet(opts: FleetOptions, specs: list[BmcSpec], fleet: Fleet) -> None:
    """The CSV to enrol the BMCs on stdout; their faults and where they listen on stderr."""
    from ironworks.lab.fleet import enrol_csv, faults_of

    sys.stdout.write(enrol_csv(specs, opts.password))
    sys.stdout.flush()
    faulty = [(s.name, faults_of(s, opts.password)) for s in specs if faults_of(s, opts.password)]
    for name, kinds in faulty:
        typer.echo(f"# fault {name}: {', '.join(kinds)}", err=True)
    where = (
        f"{specs[0].address}-{specs[-1].address} port {opts.base_port}"
        if opts.address_each
        else f"{opts.address}:{opts.base_port}-{opts.base_port + len(specs) - 1}"
    )
    typer.echo(
        f"# serving {len(specs)} BMCs on {where} in {len(fleet.pids)} process(es); Ctrl-C "
        "stops them",
        err=True,
    )


def _serve_until_stopped(fleet: Fleet) -> None:
    """Wait for SIGTERM or Ctrl-C, then stop the shards; exit 1 if a shard process dies."""
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    try:
        while not done.wait(1.0):
            if not fleet.alive():
                typer.echo("ironworks lab: a BMC shard process died; stopping", err=True)
                raise typer.Exit(1)
    finally:
        fleet.stop()


def _default_dir() -> Path:
    return Path(os.environ.get("IRONWORKS_HOME", "var")) / "lab"


DirOpt = Annotated[
    Path | None,
    typer.Option(
        "--dir", help="Lab directory (state.json, disks, logs). Default: $IRONWORKS_HOME/lab."
    ),
]
NamespaceOpt = Annotated[str, typer.Option(help="Network namespace of the lab.")]


def _fail(message: object) -> typer.Exit:
    typer.echo(f"ironworks lab: {message}", err=True)
    return typer.Exit(2)


@app.command("up")
def up(
    nodes: Annotated[int, typer.Option("--nodes", "-n", help="How many VMs.")] = 1,
    arch: Annotated[str, typer.Option(help="x86_64 or aarch64 (UEFI, slow under TCG).")] = "x86_64",
    aarch64_nodes: Annotated[
        int,
        typer.Option(
            "--aarch64-nodes",
            help="Also this many aarch64 VMs, after the --nodes of --arch: "
            "both architectures on one provisioning network, in one AZ.",
        ),
    ] = 0,
    memory: Annotated[int, typer.Option(help="MiB of memory per VM.")] = 512,
    cpus: Annotated[int, typer.Option(help="Virtual CPUs per VM.")] = 1,
    disk_mb: Annotated[int, typer.Option(help="Size of each VM's (sparse) disk in MiB.")] = 1024,
    uefi: Annotated[bool, typer.Option("--uefi", help="x86_64: OVMF instead of SeaBIOS.")] = False,
    no_pxe: Annotated[
        list[str] | None,
        typer.Option(
            "--no-pxe",
            help="VM NAME that cannot network-boot (no NIC ROM, disk-only "
            "boot order, tap off the bridge): a server that never boots. Repeatable.",
        ),
    ] = None,
    directory: DirOpt = None,
    namespace: NamespaceOpt = "iwlab",
    bridge: Annotated[str, typer.Option(help="Bridge in the namespace.")] = "iwbr0",
    bridge_address: Annotated[str, typer.Option(help="The bridge's address.")] = "10.99.0.1/16",
    base_port: Annotated[int, typer.Option(help="UDP port of the first VM's BMC.")] = 16300,
    address: Annotated[str, typer.Option(help="Loopback address of the BMCs.")] = "127.0.0.1",
    user: Annotated[str, typer.Option(help="BMC user name.")] = "admin",
    password: Annotated[str, typer.Option(help="BMC password.")] = "password",
    name_prefix: Annotated[str, typer.Option(help="VM names: PREFIX0000, ...")] = "lab-vm-",
    switch: Annotated[
        bool,
        typer.Option(
            help="Make the namespace a switch Ironworks drives over SSH (linux-bridge): "
            "sshd inside it, the taps its ports, the bridge the provisioning VLAN."
        ),
    ] = True,
    provisioning_vlan: Annotated[
        int, typer.Option(help="The VLAN id of the provisioning bridge on the lab switch.")
    ] = 1,
    switch_address: Annotated[
        str, typer.Option(help="The switch's management address inside the namespace.")
    ] = "10.99.0.2",
    switch_user: Annotated[str, typer.Option(help="The switch's SSH user.")] = "iwswitch",
    switch_password: Annotated[str, typer.Option(help="The switch's SSH password.")] = "password",
) -> None:
    """Create N QEMU VMs behind emulated IPMI BMCs; print the CSV to enrol them on stdout."""
    from ironworks.lab.errors import LabError
    from ironworks.lab.vmlab import LabOptions, enrol_csv, register_command, state_path
    from ironworks.lab.vmlab import up as lab_up

    opts = LabOptions(
        nodes=nodes,
        directory=directory or _default_dir(),
        arch=arch,
        aarch64_nodes=aarch64_nodes,
        memory_mb=memory,
        cpus=cpus,
        disk_mb=disk_mb,
        uefi=uefi,
        namespace=namespace,
        bridge=bridge,
        bridge_address=bridge_address,
        address=address,
        base_port=base_port,
        username=user,
        password=password,
        name_prefix=name_prefix,
        no_pxe=frozenset(no_pxe or ()),
        switch=switch,
        provisioning_vlan=provisioning_vlan,
        switch_address=switch_address,
        switch_user=switch_user,
        switch_password=switch_password,
    )
    command = [sys.executable, "-m", "ironworks.cmd.main", "lab", "vm-bmc"]
    try:
        state = lab_up(opts, command)
    except LabError as e:
        raise _fail(e) from None
    sys.stdout.write(enrol_csv(state))
    sys.stdout.flush()
    first, last = state.vms[0], state.vms[-1]
    typer.echo(
        f"# {len(state.vms)} VM(s) in namespace {state.namespace} (bridge {state.bridge} "
        f"{state.bridge_address}); BMCs on {first.bmc_address}:{first.bmc_port}-{last.bmc_port} "
        f"(process {state.bmc_pid}); state {state_path(Path(state.directory))}",
        err=True,
    )
    if state.switch is not None:
        sw = state.switch
        typer.echo(
            f"# switch {sw.name} (linux-bridge): ssh {sw.username}@{sw.relay_address} -p "
            f"{sw.relay_port}; provisioning VLAN {sw.provisioning_vlan} = bridge {state.bridge}; "
            f"ports {state.vms[0].vm.tap}..{state.vms[-1].vm.tap}. Register it with:\n"
            f"#   echo PASSWORD | {register_command(state)}",
            err=True,
        )


@app.command("down")
def down(directory: DirOpt = None, namespace: NamespaceOpt = "iwlab") -> None:
    """Stop the BMC process and every VM, remove taps, bridge and namespace. Safe to repeat."""
    from ironworks.lab.errors import LabError
    from ironworks.lab.vmlab import down as lab_down

    try:
        done = lab_down(directory or _default_dir(), namespace)
    except LabError as e:
        raise _fail(e) from None
    for line in done or ["nothing to do: no lab is up"]:
        typer.echo(line)


@app.command("status")
def status(
    directory: DirOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="The whole status as JSON.")] = False,
) -> None:
    """Each VM: BMC address:port, MAC, power (QEMU running or not), boot device, serial log."""
    from ironworks.lab.errors import LabError
    from ironworks.lab.vmlab import status as lab_status

    try:
        st = lab_status(directory or _default_dir())
    except LabError as e:
        raise _fail(e) from None
    if st is None:
        raise _fail(f"no lab in {(directory or _default_dir()).resolve()}")
    if as_json:
        typer.echo(json.dumps(st, indent=2))
        return
    bmc = "running" if st["bmc_alive"] else "NOT RUNNING"
    ns = "" if st["namespace_exists"] else " (MISSING)"
    typer.echo(
        f"namespace {st['namespace']}{ns}, bridge {st['bridge']} {st['bridge_address']}, "
        f"BMC process {st['bmc_pid']} {bmc}; state {st['state_file']}"
    )
    sw = st["switch"]
    if sw:
        sshd = "running" if sw["sshd_alive"] else "NOT RUNNING"
        typer.echo(
            f"switch {sw['name']} (linux-bridge) at {sw['address']}:{sw['port']} user "
            f"{sw['username']}, sshd {sw['sshd_pid']} {sshd}; provisioning VLAN "
            f"{sw['provisioning_vlan']} = bridge {sw['provisioning_bridge']}"
        )
    rows = [("NAME", "BMC", "MAC", "POWER", "BOOT", "SERIAL LOG")]
    for vm in st["vms"]:
        boot = vm["boot_device"] or "default"
        if vm["boot_device"]:
            boot += " (persistent)" if vm["persistent"] else " (once)"
        if vm["boots"]:
            boot += f", last boot {vm['last_boot'] or 'firmware order'}"
        if not vm["pxe"]:
            boot += ", no PXE"
        power = vm["power"] + (f" pid {vm['pid']}" if vm["pid"] else "")
        rows.append(
            (
                vm["name"],
                f"{vm['bmc_address']}:{vm['bmc_port']}",
                vm["mac"],
                power,
                boot,
                vm["serial_log"],
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1])


@app.command("vm-bmc", hidden=True)
def vm_bmc(state_file: Path) -> None:
    """The lab's BMC process (started by `lab up`): serve the BMCs of STATE_FILE's VMs."""
    from ironworks.lab.errors import LabError
    from ironworks.lab.vmlab import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s lab-vm-bmc %(message)s")
    try:
        serve(state_file)
    except LabError as e:
        raise _fail(e) from None
