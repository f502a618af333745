"""`ironworks ramdisk ...`: build the agent ramdisk and the lab's test OS image.

Paths: the download and build cache is `$IRONWORKS_HOME/cache` (else `~/.cache/ironworks`); the
ramdisk goes to `$IRONWORKS_HOME/ramdisk/ARCH/{kernel,initramfs}` unless `--out` says otherwise,
which is where the boot service looks by default (`boot.ramdisk_dir`). For aarch64 the same
directory also gets `grubnetaa64.efi`, the GRUB image arm64 UEFI machines PXE-boot (Debian has
no arm64 iPXE); the boot service serves it over TFTP.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Build the agent ramdisk (kernel + initramfs) and the lab's test OS image.",
    no_args_is_help=True,
)
test_image = typer.Typer(
    help="The lab's tiny test OS (a raw whole-disk image).", no_args_is_help=True
)
app.add_typer(test_image, name="test-image")


def _home() -> Path:
    return Path(os.environ.get("IRONWORKS_HOME", "var"))


def cache_dir() -> Path:
    """`$IRONWORKS_HOME/cache`, or `~/.cache/ironworks` when IRONWORKS_HOME is unset."""
    if "IRONWORKS_HOME" in os.environ:
        return _home() / "cache"
    return Path.home() / ".cache" / "ironworks"


def _agent_source() -> Path:
    spec = importlib.util.find_spec("ironworks_agent")
    if spec is None or not spec.submodule_search_locations:
        return Path("ironworks_agent")
    return Path(next(iter(spec.submodule_search_locations)))


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


@app.command("build")
def build(
    arch: Annotated[str, typer.Option(help="x86_64 or aarch64.")] = "x86_64",
    out: Annotated[
        Path | None, typer.Option(help="Directory for ARCH/kernel and ARCH/initramfs.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Build again even if the cache has it.")] = False,
    agent_src: Annotated[
        Path | None, typer.Option(help="The ironworks_agent package to put in.")
    ] = None,
    ssl: Annotated[bool, typer.Option(help="Include OpenSSL (https image URLs).")] = True,
) -> None:
    """Build the agent ramdisk for ARCH from Debian packages (cached by its inputs)."""
    from ironworks.builders import grub
    from ironworks.builders.debian import BuildError
    from ironworks.builders.ramdisk import build_ramdisk

    try:
        r = build_ramdisk(
            arch,
            out or _home() / "ramdisk",
            agent_src or _agent_source(),
            cache_dir=cache_dir(),
            force=force,
            ssl=ssl,
            log=lambda m: typer.echo(f"ramdisk: {m}", err=True),
        )
        g = None
        if arch in grub.PLATFORMS:
            g = grub.build_grub(
                arch,
                out or _home() / "ramdisk",
                cache_dir=cache_dir(),
                force=force,
                log=lambda m: typer.echo(f"grub: {m}", err=True),
            )
    except BuildError as e:
        typer.echo(f"ironworks: {e.message}", err=True)
        raise typer.Exit(1) from None
    state = "from the cache" if r.cached else "built"
    typer.echo(f"kernel     {r.kernel}  {_mb(r.kernel_size)}  ({r.kernel_package})")
    typer.echo(f"initramfs  {r.initramfs}  {_mb(r.initramfs_size)}  ({len(r.modules)} modules)")
    if g is not None:
        typer.echo(
            f"netboot    {g.image}  {_mb(g.size)}  (GRUB, {'cached' if g.cached else 'built'})"
        )
    typer.echo(
        f"{state} in {r.seconds:.1f} s (the build took {r.build_seconds:.1f} s), key {r.key}"
    )


@test_image.command("build")
def build_test_image(
    out: Annotated[Path, typer.Option(help="The raw image file to write.")],
    arch: Annotated[str, typer.Option(help="x86_64 (BIOS) or aarch64 (UEFI).")] = "x86_64",
    size_mb: Annotated[int, typer.Option(help="Image size in MiB.")] = 64,
    force: Annotated[bool, typer.Option(help="Build again even if the cache has it.")] = False,
) -> None:
    """Build the test OS image: it prints IRONWORKS-TEST-OS hostname=NAME from its config drive."""
    from ironworks.builders import testimage
    from ironworks.builders.debian import BuildError

    try:
        r = testimage.build_test_image(
            out,
            arch,
            size_mb,
            cache_dir=cache_dir(),
            force=force,
            log=lambda m: typer.echo(f"test-image: {m}", err=True),
        )
    except BuildError as e:
        typer.echo(f"ironworks: {e.message}", err=True)
        raise typer.Exit(1) from None
    state = "from the cache" if r.cached else "built"
    typer.echo(f"image   {r.path}  {_mb(r.size)}  sha256 {r.sha256}")
    typer.echo(f"{state} in {r.seconds:.1f} s (the build took {r.build_seconds:.1f} s)")
