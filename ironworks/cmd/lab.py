"""`ironworks lab ...`: the virtual datacenter's front end (emulated BMCs today)."""

from __future__ import annotations

import signal
import sys
import threading
from typing import Annotated

import typer

app = typer.Typer(
    help="A virtual datacenter for trying Ironworks without hardware: emulated BMCs.",
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
    from ironworks.lab.fleet import Fleet, FleetOptions, LabError, enrol_csv, faults_of, make_specs

    opts = FleetOptions(
        count=count, base_port=base_port, address=address, username=user, password=password,
        power_delay=power_delay, shutdown_delay=shutdown_delay, slow_delay=slow_delay,
        flap_interval=flap_interval, seed=seed, address_each=address_each,
    )  # fmt: skip
    try:
        specs = make_specs(opts, fault or [])
        fleet = Fleet(specs, shard_size=shard_size).start()
    except LabError as e:
        typer.echo(f"ironworks lab: {e}", err=True)
        raise typer.Exit(2) from None
    sys.stdout.write(enrol_csv(specs, password))
    sys.stdout.flush()
    faulty = [(s.name, faults_of(s, password)) for s in specs if faults_of(s, password)]
    for name, kinds in faulty:
        typer.echo(f"# fault {name}: {', '.join(kinds)}", err=True)
    where = (f"{specs[0].address}-{specs[-1].address} port {base_port}" if address_each
             else f"{address}:{base_port}-{base_port + len(specs) - 1}")  # fmt: skip
    typer.echo(
        f"# serving {len(specs)} BMCs on {where} in {len(fleet.pids)} process(es); Ctrl-C "
        "stops them",
        err=True,
    )
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
