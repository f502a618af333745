"""Images (镜像): OS images (one whole disk, served raw) and deploy images (a kernel and an
initramfs), per CPU architecture.

Who sees what, in the query: the cloud admin every image; others the public ones, their
projects' private and shared ones, and the shared ones granted to their projects
(image_access). Who changes what: the cloud admin every image; a project's users (members,
project admins, admins of its department) its private and shared images; public images are the
cloud admin's only (making an image public too).

Data arrives by upload (the request body, streamed: the API writes it into an `images.store.Sink`
and calls `finish_upload`) or by import from an http(s) URL (`start_import`: status `importing`,
a background thread downloads, then `active` or `error` with the reason). Either way the bytes are
checked (the expected checksum), qcow2 is converted to raw once, and the file is renamed into
place in the same transaction that records its size and sha256, so a row and its file agree. A
failed upload changes nothing. An import interrupted by a restart stays `importing`: import
again or delete it.

Status: `queued` (no data yet; for a deploy image, until both parts are there), `importing`,
`active`, `error`.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from ironworks.common.errors import Conflict, Forbidden, InvalidInput, IronworksError, NotFound
from ironworks.common.ids import new_uuid
from ironworks.db import images as image_db
from ironworks.db import tenancy as project_db
from ironworks.db.engine import utcnow
from ironworks.images import store as files
from ironworks.images.store import PARTS, Checksum, ImageStore, Prepared, Received, Sink
from ironworks.services.context import Caller, Services
from ironworks.services.flavors import ARCHES
from ironworks.services.tenancy import project_row

log = logging.getLogger(__name__)

KINDS = ("os", "deploy")
VISIBILITIES = ("public", "private", "shared")
STATUSES = ("queued", "importing", "active", "error")
FIELDS = (
    "uuid",
    "name",
    "kind",
    "cpu_arch",
    "disk_format",
    "visibility",
    "status",
    "error",
    "source_url",
    "size",
    "sha256",
    "uploaded_sha256",
    "min_disk_gb",
    "properties",
    "parts",
    "created_at",
    "updated_at",
)
FILTERS = ("name", "kind", "cpu_arch", "visibility", "status", "project")
CREATABLE = {
    "name",
    "kind",
    "cpu_arch",
    "disk_format",
    "visibility",
    "project",
    "projects",
    "min_disk_gb",
    "properties",
}
EDITABLE = {"name", "visibility", "min_disk_gb", "properties"}


def image_store(svc: Services) -> ImageStore:
    return ImageStore(svc.settings.home)


# --- validation ----------------------------------------------------------------------------------


def _unknown(body: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(body) - allowed)
    if extra:
        raise InvalidInput(
            f"unknown field {extra[0]!r}; allowed: {', '.join(sorted(allowed))}", field=extra[0]
        )


def _choice(body: dict[str, Any], key: str, choices: tuple[str, ...]) -> str:
    value = body[key]
    if value not in choices:
        raise InvalidInput(f"{key} must be one of {', '.join(choices)}", field=key)
    return str(value)


def _edits(body: dict[str, Any]) -> dict[str, Any]:
    """The columns that create and edit both take, checked."""
    out: dict[str, Any] = {}
    if "name" in body:
        name = body["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise InvalidInput(
                "name must be a non-empty string of at most 255 characters", field="name"
            )
        out["name"] = name.strip()
    if "visibility" in body:
        out["visibility"] = _choice(body, "visibility", VISIBILITIES)
    if "min_disk_gb" in body:
        v = body["min_disk_gb"]
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise InvalidInput("min_disk_gb must be a whole number, 0 or more", field="min_disk_gb")
        out["min_disk_gb"] = v
    if "properties" in body:
        if not isinstance(body["properties"], dict):
            raise InvalidInput(
                'properties must be an object, e.g. {"os_distro": "debian"}', field="properties"
            )
        out["properties"] = body["properties"]
    return out


# --- scope ---------------------------------------------------------------------------------------


def get_row(
    conn: sa.Connection, caller: Caller, ident: str, *, lock: bool = False
) -> dict[str, Any]:
    """The image, by uuid or name, if the caller may see it (404 otherwise). A name several
    images share resolves to the caller's own projects' image, then to a public one, then to
    one shared with them: one of each kind, else the name is ambiguous."""
    rows = image_db.find(conn, ident, caller.project_ids, lock=lock)
    if not rows:
        raise NotFound(f"image {ident} could not be found")
    if len(rows) > 1 and not caller.is_admin:
        mine = set(caller.principal.projects)
        for tier in (
            [r for r in rows if r["project_id"] in mine],
            [r for r in rows if r["visibility"] == "public"],
        ):
            if tier:
                rows = tier
                break
    if len(rows) > 1:
        raise InvalidInput(f"more than one image is named {ident!r}; use its id", field="image")
    return rows[0]


def _may_change(caller: Caller, row: dict[str, Any]) -> None:
    if caller.is_admin:
        return
    if row["visibility"] == "public" or row["project_id"] not in caller.principal.projects:
        raise Forbidden(
            f"image {row['name']} is not one of your projects' images; only its "
            "project's users or a cloud admin may change it"
        )


def _project_name(conn: sa.Connection, project_id: int | None) -> str | None:
    if project_id is None:
        return None
    return project_db.project_name(conn, project_id)


def _out(conn: sa.Connection, row: dict[str, Any], caller: Caller) -> dict[str, Any]:
    out = {k: row[k] for k in FIELDS}
    out["project"] = _project_name(conn, row["project_id"])
    owner = caller.is_admin or row["project_id"] in caller.principal.projects
    if row["visibility"] == "shared" and owner:
        out["projects"] = image_db.shared_with(conn, row["id"])
    return out


def _audit(conn: sa.Connection, caller: Caller, row: dict[str, Any]) -> None:
    pid = row["project_id"]
    project = (pid, _project_name(conn, pid) or "") if pid is not None else None
    caller.acted_on("image", row["uuid"], row["name"], project)


def _owner(conn: sa.Connection, caller: Caller, ident: Any) -> dict[str, Any] | None:
    """The owning project of a new image: the one named, or the caller's only one."""
    if ident is not None:
        return project_row(conn, caller, str(ident))
    if caller.is_admin:
        return None
    mine = list(caller.principal.projects)
    if len(mine) != 1:
        raise InvalidInput(
            "project is required (its name or id): the image's owner", field="project"
        )
    return project_db.get_project(conn, mine[0])


def _grant(conn: sa.Connection, caller: Caller, image_id: int, project: str, allowed: bool) -> None:
    """Share with a project or stop. Giving needs a role in the project (or the cloud admin):
    nobody pushes images into projects they do not belong to; any other project answers like
    one that does not exist. Taking back is the image owner's, whoever the project."""
    rows = project_db.project_ids(conn, project)
    if allowed and not caller.is_admin:
        rows = [pid for pid in rows if pid in caller.principal.projects]
    if len(rows) != 1:
        if not rows:
            raise NotFound(f"project {project} could not be found")
        raise InvalidInput(
            f"{len(rows)} projects are named {project!r}; use its id", field="project"
        )
    image_db.unshare(conn, image_id, rows[0])
    if allowed:
        image_db.share(conn, image_id, rows[0])


# --- metadata ------------------------------------------------------------------------------------


def create(svc: Services, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    _unknown(body, CREATABLE)
    if "name" not in body:
        raise InvalidInput("name is required", field="name")
    values = _edits(body)
    values["kind"] = _choice(body, "kind", KINDS) if "kind" in body else "os"
    values["cpu_arch"] = _choice(body, "cpu_arch", ARCHES) if "cpu_arch" in body else "x86_64"
    if body.get("disk_format") is not None:
        if values["kind"] == "deploy":
            raise InvalidInput(
                "a deploy image has no disk_format (it is a kernel and an initramfs)",
                field="disk_format",
            )
        values["disk_format"] = _choice(body, "disk_format", files.DISK_FORMATS)
    shares = body.get("projects") or []
    if not isinstance(shares, list) or not all(isinstance(p, str) for p in shares):
        raise InvalidInput(
            "projects must be a list of project names or ids (a shared image's audience)",
            field="projects",
        )
    with svc.db.write() as conn:
        owner = _owner(conn, caller, body.get("project"))
        visibility = values.setdefault(
            "visibility", "public" if caller.is_admin and owner is None else "private"
        )
        if visibility == "public" and not caller.is_admin:
            raise Forbidden(
                "only a cloud admin may create a public image; make it private or shared",
                field="visibility",
            )
        if visibility != "public" and owner is None:
            raise InvalidInput(
                f"project is required for a {visibility} image (its owner)", field="project"
            )
        if shares and visibility != "shared":
            raise InvalidInput(
                "projects is only for a shared image (visibility shared)", field="projects"
            )
        uuid = new_uuid()
        image_db.add(
            conn,
            {
                "uuid": uuid,
                "project_id": owner["id"] if owner else None,
                "status": "queued",
                "min_disk_gb": values.pop("min_disk_gb", 0),
                "properties": values.pop("properties", {}),
                **values,
            },
        )
        row = get_row(conn, caller, uuid)
        for p in shares:
            _grant(conn, caller, row["id"], p, True)
        _audit(conn, caller, row)
        return _out(conn, row, caller)


def list_images(svc: Services, caller: Caller, filters: dict[str, str]) -> list[dict[str, Any]]:
    unknown = sorted(set(filters) - set(FILTERS))
    if unknown:
        raise InvalidInput(
            f"unknown parameter {unknown[0]}; images are filtered by {', '.join(FILTERS)}",
            field=unknown[0],
        )
    columns = {k: v for k, v in filters.items() if k != "project"}
    with svc.db.read() as conn:
        owner = None
        if "project" in filters:
            owner = project_row(conn, caller, filters["project"])["id"]
        rows = image_db.list_visible(conn, caller.project_ids, columns, owner)
        return [_out(conn, r, caller) for r in rows]


def show(svc: Services, caller: Caller, ident: str) -> dict[str, Any]:
    with svc.db.read() as conn:
        return _out(conn, get_row(conn, caller, ident), caller)


def update(svc: Services, caller: Caller, ident: str, body: dict[str, Any]) -> dict[str, Any]:
    _unknown(body, EDITABLE)
    values = _edits(body)
    with svc.db.write() as conn:
        row = get_row(conn, caller, ident, lock=True)
        _may_change(caller, row)
        _audit(conn, caller, row)
        visibility = values.get("visibility", row["visibility"])
        if visibility == "public" and not caller.is_admin:
            raise Forbidden("only a cloud admin may make an image public", field="visibility")
        if visibility != "public" and row["project_id"] is None:
            raise InvalidInput(
                f"image {row['name']} has no owning project, so it cannot be {visibility}",
                field="visibility",
            )
        image_db.update(conn, row["id"], values)
        return _out(conn, get_row(conn, caller, row["uuid"]), caller)


def delete(svc: Services, caller: Caller, ident: str) -> None:
    """The row and its files. An import still running finds the row gone and drops its file."""
    with svc.db.write() as conn:
        row = get_row(conn, caller, ident, lock=True)
        _may_change(caller, row)
        _audit(conn, caller, row)
        image_db.delete(conn, row["id"])
    image_store(svc).remove_image(row["uuid"])


def set_access(
    svc: Services, caller: Caller, ident: str, project: str, allowed: bool
) -> dict[str, Any]:
    """Share a shared image with a project, or stop sharing it."""
    with svc.db.write() as conn:
        row = get_row(conn, caller, ident, lock=True)
        _may_change(caller, row)
        _audit(conn, caller, row)
        if row["visibility"] != "shared":
            raise Conflict(
                f"image {row['name']} is {row['visibility']}; make it shared first "
                '(PATCH {"visibility": "shared"})'
            )
        _grant(conn, caller, row["id"], project, allowed)
        return _out(conn, row, caller)


# --- data ----------------------------------------------------------------------------------------


def _part(row: dict[str, Any], part: str | None) -> str:
    """Which file of the image a transfer concerns: `raw` for an OS image, the part named for a
    deploy image."""
    if row["kind"] == "os":
        if part not in (None, "raw"):
            raise InvalidInput(
                f"image {row['name']} is an OS image: one disk, no part {part!r}", field="part"
            )
        return "raw"
    if part not in PARTS:
        raise InvalidInput(
            f"image {row['name']} is a deploy image: say which part, "
            f"part={' or part='.join(PARTS)}",
            field="part",
        )
    return part


def begin_upload(
    svc: Services, caller: Caller, ident: str, part: str | None, sha256: str | None
) -> tuple[str, str, Sink]:
    """Before the body is read: the image (uuid), the part, and the sink to stream it into
    (checking the `sha256` the client announced, if any)."""
    expected = Checksum.parse(sha256, field="sha256") if sha256 else None
    if expected is not None and expected.algorithm != "sha256":
        raise InvalidInput("sha256 must be a sha256 hex digest (64 hex digits)", field="sha256")
    with svc.db.read() as conn:
        row = get_row(conn, caller, ident)
    _may_change(caller, row)
    which = _part(row, part)
    if row["status"] == "importing":
        raise Conflict(
            f"image {row['name']} is being imported from {row['source_url']}; wait for it to finish"
        )
    store = image_store(svc)
    store.ensure()
    return row["uuid"], which, Sink(store.tmp, expected, field="sha256")


def finish_upload(
    svc: Services, caller: Caller, image_uuid: str, part: str, received: Received
) -> dict[str, Any]:
    """Convert (OS images) and install what was received; slow (qemu-img, hashing): call it
    off the event loop."""
    prepared = files.prepare(received, svc.settings.images, convert=part == "raw")
    return _install(svc, caller, image_uuid, part, prepared, source_url=None)


def _install(
    svc: Services,
    caller: Caller | None,
    image_uuid: str,
    part: str,
    prepared: Prepared,
    source_url: str | None,
) -> dict[str, Any]:
    """Rename the prepared file into place and record it, in one transaction."""
    store = image_store(svc)
    try:
        with svc.db.write() as conn:
            row = image_db.lock(conn, image_uuid)
            if row is None:
                raise NotFound(f"image {image_uuid} was deleted meanwhile")
            if caller is not None:
                _audit(conn, caller, row)
            values: dict[str, Any] = {
                "error": None,
                "updated_at": utcnow(),
                "source_url": source_url,
            }
            if part == "raw":
                declared = row["disk_format"]
                if row["status"] == "queued" and declared and declared != prepared.disk_format:
                    raise files.ImageInvalid(
                        f"image {row['name']} was declared {declared} but "
                        f"the data is {prepared.disk_format}",
                        field="disk_format",
                    )
                values.update(
                    status="active",
                    disk_format=prepared.disk_format,
                    size=prepared.size,
                    sha256=prepared.sha256,
                    uploaded_sha256=prepared.uploaded_sha256,
                )
            else:
                parts = {
                    **(row["parts"] or {}),
                    part: {"size": prepared.size, "sha256": prepared.sha256},
                }
                values.update(
                    parts=parts,
                    size=sum(p["size"] for p in parts.values()),
                    status="active" if set(PARTS) <= set(parts) else "queued",
                )
            files.install(prepared, store.image_file(image_uuid, part), image=image_uuid, part=part)
            image_db.update(conn, row["id"], values)
            row.update(values)
            if caller is None:
                return row
            return _out(conn, row, caller)
    finally:
        prepared.path.unlink(missing_ok=True)  # still there if anything failed


def check_source_url(svc: Services, caller: Caller, url: Any, field: str) -> str:
    """`url`, if this caller may have the cloud download it. The download runs inside the
    cloud's own network, so a project's user may only name the hosts of
    `images.tenant_url_hosts`: any other URL could reach what only the cloud reaches (a
    metadata service, a database, a BMC) and copy it onto the tenant's disk. The download
    checks every redirect against the same list (`images.store.download`)."""
    url = files.check_url(url, field)
    if caller.is_admin:
        return url
    allowed = svc.settings.images.tenant_url_hosts
    if not files.url_allowed(url, allowed):
        parsed = httpx.URL(url)
        where = f"only from {', '.join(sorted(allowed))}" if allowed else "by image id only"
        shown = parsed.host + (f":{parsed.port}" if parsed.port else "")
        raise Forbidden(
            f"{field}: a project's users give images {where}, not from {shown}; "
            "upload the image, or ask a cloud admin to import it",
            field=field,
        )
    return url


def start_import(svc: Services, caller: Caller, ident: str, body: dict[str, Any]) -> dict[str, Any]:
    """Mark the image `importing` and download `url` in a background thread."""
    _unknown(body, {"url", "checksum", "part"})
    url = check_source_url(svc, caller, body.get("url"), "url")
    hosts = None if caller.is_admin else svc.settings.images.tenant_url_hosts
    checksum = body.get("checksum")
    expected = Checksum.parse(checksum) if checksum is not None else None
    with svc.db.write() as conn:
        row = get_row(conn, caller, ident, lock=True)
        _may_change(caller, row)
        _audit(conn, caller, row)
        part = _part(row, body.get("part"))
        if row["status"] == "importing":
            raise Conflict(
                f"image {row['name']} is already being imported from {row['source_url']}"
            )
        values = {"status": "importing", "error": None, "source_url": url, "updated_at": utcnow()}
        image_db.update(conn, row["id"], values)
        out = _out(conn, {**row, **values}, caller)
    # a fresh context: the request's audit hook must not ride along on the thread's writes
    thread = threading.Thread(
        target=contextvars.Context().run,
        args=(_import, svc, row["uuid"], part, url, expected, hosts),
        name=f"image-import-{row['uuid'][:8]}",
        daemon=True,
    )
    thread.start()
    return out


def _import(
    svc: Services,
    image_uuid: str,
    part: str,
    url: str,
    expected: Checksum | None,
    hosts: list[str] | None,
) -> None:
    store = image_store(svc)
    try:
        store.ensure()
        sink = Sink(store.tmp, expected)
        try:
            files.download(url, sink, svc.settings.images.import_timeout, hosts)
        except BaseException:
            sink.discard()
            raise
        prepared = files.prepare(sink.finish(), svc.settings.images, convert=part == "raw")
        _install(svc, None, image_uuid, part, prepared, source_url=url)
        log.info("image %s: imported %s from %s", image_uuid, part, url)
    except NotFound:
        log.info("image %s was deleted while it was imported from %s", image_uuid, url)
    except Exception as e:
        message = e.message if isinstance(e, IronworksError) else f"unexpected error: {e}"
        if not isinstance(e, IronworksError):
            log.exception("image %s: import from %s failed", image_uuid, url)
        else:
            log.warning("image %s: import from %s failed: %s", image_uuid, url, message)
        with svc.db.write() as conn:
            image_db.fail_import(conn, image_uuid, message)


def file_for(svc: Services, caller: Caller, ident: str, part: str | None) -> tuple[Path, str]:
    """The file to download and its name for the client."""
    with svc.db.read() as conn:
        row = get_row(conn, caller, ident)
    which = _part(row, part)
    path = image_store(svc).image_file(row["uuid"], which)
    if files.read_meta(path) is None:
        raise Conflict(
            f"image {row['name']} has no {which} data yet (status {row['status']}); "
            "upload or import it first"
        )
    return path, f"{row['uuid']}.{which}"
