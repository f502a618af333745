"""`ironworks image ...`: OS and deploy images (create, upload with a progress bar, import from
a URL, list, show, delete)."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from ironworks.cli.groups import image_app
from ironworks.cli.i18n import _
from ironworks.cli.output import console, say, show, show_list
from ironworks.cli.progress import elapsed_text
from ironworks.cli.runtime import EXIT_FAILED, EXIT_TIMEOUT, JsonOpt, UrlOpt, cloud, guard, report
from ironworks.client import DEFAULT_URL
from ironworks.client.cloud import CloudClient

IMAGE_FIELDS = (
    "name",
    "kind",
    "cpu_arch",
    "visibility",
    "status",
    "size",
    "disk_format",
    "project",
    "uuid",
)
PartOpt = Annotated[
    str | None, typer.Option("--part", help=_("Deploy images: kernel or initramfs."))
]


@image_app.command("list")
@guard
def image_list(
    kind: Annotated[str | None, typer.Option("--kind", help="os | deploy")] = None,
    cpu_arch: Annotated[str | None, typer.Option("--cpu-arch", help="x86_64 | aarch64")] = None,
    visibility: Annotated[
        str | None, typer.Option("--visibility", help="public | private | shared")
    ] = None,
    status: Annotated[str | None, typer.Option("--status")] = None,
    name: Annotated[str | None, typer.Option("--name")] = None,
    project: Annotated[str | None, typer.Option("--project")] = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """The images you may use: public ones, your projects' and those shared with them."""
    with cloud(url) as c:
        rows = c.list_images(
            kind=kind,
            cpu_arch=cpu_arch,
            visibility=visibility,
            status=status,
            name=name,
            project=project,
        )
    show_list(rows, IMAGE_FIELDS, as_json)


@image_app.command("show")
@guard
def image_show(image: str, url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False) -> None:
    """An image: status (and why it failed), size, checksums, owner, properties."""
    with cloud(url) as c:
        show(c.get_image(image), as_json)


def _properties(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(_("expected KEY=VALUE, got {item!r}").format(item=item))
        out[key] = value
    return out


@image_app.command("create")
@guard
def image_create(
    name: str,
    kind: Annotated[str, typer.Option("--kind", help="os | deploy")] = "os",
    cpu_arch: Annotated[str, typer.Option("--cpu-arch", help="x86_64 | aarch64")] = "x86_64",
    disk_format: Annotated[
        str | None, typer.Option("--disk-format", help=_("raw | qcow2 (checked on upload)"))
    ] = None,
    visibility: Annotated[
        str | None,
        typer.Option(
            "--visibility",
            help=_(
                "public (cloud admin) | private | shared; default: public for a "
                "cloud admin without --project, else private"
            ),
        ),
    ] = None,
    project: Annotated[str | None, typer.Option("--project", help=_("Owning project."))] = None,
    share: Annotated[
        list[str] | None,
        typer.Option("--share", help=_("A project a shared image is for (repeat).")),
    ] = None,
    min_disk_gb: Annotated[int, typer.Option("--min-disk-gb")] = 0,
    prop: Annotated[list[str] | None, typer.Option("--property", help="KEY=VALUE")] = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Create an image; then give it data with `image upload` or `image import`."""
    body: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "cpu_arch": cpu_arch,
        "min_disk_gb": min_disk_gb,
        "properties": _properties(prop or []),
    }
    for key, value in (
        ("disk_format", disk_format),
        ("visibility", visibility),
        ("project", project),
        ("projects", share),
    ):
        if value:
            body[key] = value
    with cloud(url) as c:
        show(c.create_image(body), as_json)


@image_app.command("upload")
@guard
def image_upload(
    image: str,
    file: Annotated[
        Path,
        typer.Argument(
            help=_("raw or qcow2 disk; a deploy image's kernel or initramfs with --part")
        ),
    ],
    part: PartOpt = None,
    sha256: Annotated[
        str | None,
        typer.Option("--sha256", help=_("Expected sha256 of FILE; the server refuses a mismatch.")),
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Upload FILE as the image's data, streamed, with a progress bar; qcow2 is converted to
    raw on the server."""
    size = file.stat().st_size
    err = console(stderr=True)
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    started = time.monotonic()
    with cloud(url) as c, bar if (err.is_terminal and not as_json) else contextlib.nullcontext():
        task = bar.add_task(_("uploading {file}").format(file=file.name), total=size)
        done, sent = c.upload_image(
            image, file, part=part, sha256=sha256, progress=lambda n: bar.advance(task, n)
        )
    if done.get("uploaded_sha256") not in (None, sent) and part is None:
        report(
            _(
                "the server received other bytes than were sent (sha256 {got}, sent {sent}); "
                "upload again"
            ).format(got=done["uploaded_sha256"], sent=sent)
        )
        raise typer.Exit(EXIT_FAILED)
    if as_json:
        show(done, as_json)
        return
    say(
        _("uploaded {file} ({size} bytes, sha256 {sha}) in {t}: image {name} is {status}").format(
            file=file,
            size=size,
            sha=sent,
            t=elapsed_text(time.monotonic() - started),
            name=done["name"],
            status=done["status"],
        )
    )


def _wait_import(c: CloudClient, ident: str, timeout: float) -> dict[str, Any]:
    started = time.monotonic()
    err = console(stderr=True)
    status = err.status(_("importing...")) if err.is_terminal else contextlib.nullcontext()
    with status:
        while True:
            img = c.get_image(ident)
            if img["status"] != "importing" or time.monotonic() - started > timeout:
                return img
            time.sleep(1.0)


@image_app.command("import")
@guard
def image_import(
    image: str,
    source: Annotated[str, typer.Argument(metavar="URL", help=_("http(s) URL of the data."))],
    checksum: Annotated[
        str | None,
        typer.Option(
            "--checksum", help=_("Expected checksum: sha256:HEX, sha512:HEX, md5:HEX or bare hex.")
        ),
    ] = None,
    part: PartOpt = None,
    wait: Annotated[bool, typer.Option("--wait", help=_("Wait until it is done."))] = False,
    timeout: Annotated[float, typer.Option("--timeout", help=_("Seconds to wait."))] = 3600,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Have the server download the image's data from a URL (in the background)."""
    with cloud(url) as c:
        img = c.import_image(image, source, checksum, part)
        if not wait:
            show(img, as_json)
            return
        img = _wait_import(c, img["uuid"], timeout)
    show(img, as_json)
    if img["status"] == "error":
        report(_("import failed: {why}").format(why=img.get("error")))
        raise typer.Exit(EXIT_FAILED)
    if img["status"] == "importing":
        report(_("still importing after {t}").format(t=elapsed_text(timeout)))
        raise typer.Exit(EXIT_TIMEOUT)


@image_app.command("delete")
@guard
def image_delete(images: list[str], url: UrlOpt = DEFAULT_URL) -> None:
    """Delete images and their files."""
    with cloud(url) as c:
        for image in images:
            c.delete_image(image)
            say(_("deleted image {image}").format(image=image))
