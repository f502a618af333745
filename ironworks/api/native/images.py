"""`/api/v1/images` (services/images.py) and the boot route `/boot/images/{key}` that agents
download from.

Uploads are streamed: the body goes chunk by chunk into a temporary file (hashed on the way),
never whole into memory. Downloads answer Range requests (206 with Content-Range, 416 for a
range outside the file) and HEAD, through Starlette's FileResponse.

`/boot/images/{key}` needs no token: the agent in a ramdisk has none. It serves only files of
the deploy cache (`<sha256 key>`) and images' installed files (`<uuid>`, `<uuid>.kernel`,
`<uuid>.initramfs`): names are long random or hash values, not guessable. `boot_router` is
also what the boot HTTP listener serves.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, StrictInt
from starlette.responses import FileResponse, Response

from ironworks.api.access import Allow, Public
from ironworks.api.deps import CtxDep
from ironworks.api.native.listing import PAGING, page
from ironworks.api.native.networks import StrictBody, Timestamp, body_of
from ironworks.common.errors import NotFound
from ironworks.images.store import CHUNK
from ironworks.services import images

api_router = APIRouter(prefix="/api/v1", tags=["images"])
boot_router = APIRouter(tags=["boot"])
PartQuery = Annotated[str | None, Query(description="Deploy images: kernel or initramfs.")]
OCTETS = "application/octet-stream"
BINARY = {"type": "string", "format": "binary"}

# the service keeps its rules (names stripped, formats, who may set what); the models carry the
# types and refuse a field they do not name
Name = Annotated[str, Field(min_length=1, max_length=255)]
Visibility = Literal["public", "private", "shared"]
MinDisk = Annotated[StrictInt, Field(ge=0, le=2**31 - 1)]


class ImageUpdate(StrictBody):
    name: Name | None = None
    visibility: Visibility | None = None
    min_disk_gb: MinDisk | None = None
    properties: dict[str, Any] | None = Field(None, description='e.g. `{"os_distro": "debian"}`.')


class ImageCreate(ImageUpdate):
    name: Name
    kind: Literal["os", "deploy"] | None = Field(
        None, description="`os` (the default) or `deploy` (a kernel and an initramfs)."
    )
    cpu_arch: Literal["x86_64", "aarch64"] | None = Field(None, description="Default x86_64.")
    disk_format: str | None = Field(
        None, max_length=16, description="`raw` or `qcow2` (OS images); what uploads convert from."
    )
    project: Annotated[str, Field(max_length=255)] | int | None = Field(
        None, description="The owner (name or id); left out: the caller's only project."
    )
    projects: list[Annotated[str, Field(max_length=255)]] | None = Field(
        None, max_length=1000, description="A shared image's audience: project names or ids."
    )


class ImageImport(StrictBody):
    url: str = Field(max_length=4096, description="An http(s) URL the image is downloaded from.")
    checksum: str | None = Field(
        None, max_length=512, description="`sha256:<hex>` (or another algorithm) to check."
    )
    part: str | None = Field(None, max_length=16, description="Deploy images: kernel or initramfs.")


class Image(BaseModel):
    uuid: str
    name: str
    kind: str
    cpu_arch: str | None
    disk_format: str | None
    visibility: str
    status: str = Field(description="`queued`, `importing`, `active` or `error`.")
    error: str | None
    source_url: str | None
    size: int | None
    sha256: str | None
    uploaded_sha256: str | None
    min_disk_gb: int | None
    properties: dict[str, Any] | None
    parts: dict[str, dict[str, Any]] | None = Field(
        description="Deploy images: `kernel` and `initramfs`, each its size and sha256."
    )
    created_at: Timestamp
    updated_at: Timestamp | None
    project: str | None = Field(description="The owner's name; null: the cloud's.")
    projects: list[str] | None = Field(
        None, description="Who a shared image is shared with (shown to its owner)."
    )


class ImageList(BaseModel):
    images: list[Image]
    next_marker: str | None = None


@api_router.get(
    "/images",
    summary="Images you may use (filters: name, kind, cpu_arch, visibility, status, project)",
    response_model_exclude_unset=True,  # next_marker, projects: only when there are
    dependencies=[Allow("image:read")],
)
async def list_images(ctx: CtxDep) -> ImageList:
    params = dict(ctx.request.query_params)
    filters = {k: v for k, v in params.items() if k not in PAGING}
    items = await ctx.run(images.list_images, ctx.svc, ctx.caller, filters)
    keys = ("name", "created_at", "size", "status", "kind")
    return ImageList.model_validate(page(items, params, keys, "images"))


@api_router.post(
    "/images",
    status_code=201,
    summary="Create an image (its data comes by upload or import)",
    response_model_exclude_unset=True,
    dependencies=[Allow("image:create")],
)
async def create_image(ctx: CtxDep, body: Annotated[ImageCreate, Body()]) -> Image:
    return Image.model_validate(await ctx.run(images.create, ctx.svc, ctx.caller, body_of(body)))


@api_router.get(
    "/images/{ident}",
    summary="Show an image",
    response_model_exclude_unset=True,
    dependencies=[Allow("image:read")],
)
async def show_image(ctx: CtxDep, ident: str) -> Image:
    return Image.model_validate(await ctx.run(images.show, ctx.svc, ctx.caller, ident))


@api_router.patch(
    "/images/{ident}",
    summary="Edit an image: name, visibility, min_disk_gb, properties",
    response_model_exclude_unset=True,
    dependencies=[Allow("image:update")],
)
async def update_image(ctx: CtxDep, ident: str, body: Annotated[ImageUpdate, Body()]) -> Image:
    return Image.model_validate(
        await ctx.run(images.update, ctx.svc, ctx.caller, ident, body_of(body))
    )


@api_router.delete(
    "/images/{ident}",
    status_code=204,
    summary="Delete an image and its files",
    dependencies=[Allow("image:delete")],
)
async def delete_image(ctx: CtxDep, ident: str) -> Response:
    await ctx.run(images.delete, ctx.svc, ctx.caller, ident)
    return Response(status_code=204)


@api_router.put(
    "/images/{ident}/file",
    summary="Upload an image's data: the raw request body "
    "(raw or qcow2; deploy images: one part at a time)",
    response_model_exclude_unset=True,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {OCTETS: {"schema": BINARY}},
        }
    },
    dependencies=[Allow("image:update")],
)
async def upload_image(
    ctx: CtxDep,
    ident: str,
    part: PartQuery = None,
    sha256: Annotated[
        str | None,
        Query(
            description="Expected sha256 of the body (or header "
            "X-Image-Sha256); a mismatch keeps nothing."
        ),
    ] = None,
) -> Image:
    expected = sha256 or ctx.request.headers.get("x-image-sha256")
    image_uuid, which, sink = await ctx.run(
        images.begin_upload, ctx.svc, ctx.caller, ident, part, expected
    )
    try:
        buf = bytearray()
        async for chunk in ctx.request.stream():
            buf += chunk
            if len(buf) >= CHUNK:
                await run_in_threadpool(sink.write, bytes(buf))
                buf.clear()
        if buf:
            await run_in_threadpool(sink.write, bytes(buf))
        received = await run_in_threadpool(sink.finish)
    except BaseException:  # a client gone mid-way included: nothing stays behind
        sink.discard()
        raise
    out = await ctx.run(
        images.finish_upload, ctx.svc, ctx.caller, image_uuid, which, received, hardware=True
    )
    return Image.model_validate(out)


@api_router.post(
    "/images/{ident}/import",
    status_code=202,
    summary="Import an image's data "
    "from an http(s) URL, in the background (status importing, then active or "
    "error)",
    response_model_exclude_unset=True,
    dependencies=[Allow("image:update")],
)
async def import_image(ctx: CtxDep, ident: str, body: Annotated[ImageImport, Body()]) -> Image:
    out = await ctx.run(images.start_import, ctx.svc, ctx.caller, ident, body_of(body))
    return Image.model_validate(out)


@api_router.get(
    "/images/{ident}/file",
    response_class=Response,
    summary="Download an image's data (Range requests answered)",
    responses={
        200: {"content": {OCTETS: {"schema": BINARY}}},
        206: {"description": "The range asked for.", "content": {OCTETS: {"schema": BINARY}}},
    },
    dependencies=[Allow("image:read")],
)
async def download_image(ctx: CtxDep, ident: str, part: PartQuery = None) -> Response:
    path, name = await ctx.run(images.file_for, ctx.svc, ctx.caller, ident, part)
    return FileResponse(path, media_type=OCTETS, filename=name)


@api_router.put(
    "/images/{ident}/access/{project}",
    summary="Share a shared image with a project",
    response_model_exclude_unset=True,
    dependencies=[Allow("image:update")],
)
async def grant_image(ctx: CtxDep, ident: str, project: str) -> Image:
    out = await ctx.run(images.set_access, ctx.svc, ctx.caller, ident, project, True)
    return Image.model_validate(out)


@api_router.delete(
    "/images/{ident}/access/{project}",
    summary="Stop sharing a shared image with a project",
    response_model_exclude_unset=True,
    dependencies=[Allow("image:update")],
)
async def revoke_image(ctx: CtxDep, ident: str, project: str) -> Image:
    out = await ctx.run(images.set_access, ctx.svc, ctx.caller, ident, project, False)
    return Image.model_validate(out)


@boot_router.head(
    "/boot/images/{key}",
    response_class=Response,
    name="boot_image_head",
    summary="The size of an image file for the agent (HEAD)",
    dependencies=[Public()],
)
@boot_router.get(
    "/boot/images/{key}",
    response_class=Response,
    summary="An image file for the agent: a deploy-cache key or an image uuid "
    "(.kernel, .initramfs); no token; Range requests answered",
    responses={200: {"content": {OCTETS: {}}}},
    dependencies=[Public()],
)
async def boot_image(ctx: CtxDep, key: str) -> Response:
    path = images.image_store(ctx.svc).served(key)
    if path is None:
        raise NotFound(f"no image file {key}")
    return FileResponse(path, media_type=OCTETS)


router = APIRouter()
router.include_router(api_router)
