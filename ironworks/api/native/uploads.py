"""Files sent to the API: a raw body (`Content-Type: text/csv`, the XLSX type, or none) or a
`multipart/form-data` upload with one file field (a browser form, `curl -F file=@nodes.xlsx`).

Multipart bodies are cut at their boundary here, byte for byte (an XLSX file is binary), with
the standard library's header parsing: one file part is all these endpoints take.
"""

from __future__ import annotations

import email
import email.message
from pathlib import PurePath

from starlette.requests import Request

from ironworks.common.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from ironworks.services.sheets import CSV_MIME, XLSX_MIME

MAX_UPLOAD = 20 * 1024 * 1024
# What browsers and tools send for CSV and XLSX files (Windows labels .csv as ms-excel).
ACCEPTED = frozenset(
    {
        CSV_MIME,
        XLSX_MIME,
        "application/csv",
        "text/plain",
        "text/comma-separated-values",
        "application/vnd.ms-excel",
        "application/octet-stream",
    }
)


async def read_file(request: Request) -> tuple[bytes, str]:
    """The file's bytes and a name for it (the upload's file name, or "the request body")."""
    ctype = request.headers.get("content-type", "")
    mime = ctype.split(";", 1)[0].strip().lower()
    if mime and mime != "multipart/form-data" and mime not in ACCEPTED:
        raise UnsupportedMediaType(
            f"cannot read a {mime} body; send the file as text/csv, as {XLSX_MIME}, or as "
            "multipart/form-data with a field named 'file'"
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPLOAD:
        raise _too_large()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_UPLOAD:
            raise _too_large()
    if mime == "multipart/form-data":
        return file_part(bytes(body), ctype)
    disposition = request.headers.get("content-disposition")
    if disposition:  # a raw body may still say its file name
        header = email.message.Message()
        header["content-disposition"] = disposition
        filename = header.get_filename()
        if filename:
            return bytes(body), _name(filename)
    return bytes(body), "the request body"


def _name(filename: str) -> str:
    return PurePath(filename.replace("\\", "/")).name[:100] or "upload"


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the file is larger than {MAX_UPLOAD // (1024 * 1024)} MiB; split it into smaller files"
    )


def file_part(body: bytes, ctype: str) -> tuple[bytes, str]:
    """The first file part of a multipart/form-data body."""
    header = email.message.Message()
    header["content-type"] = ctype
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise InvalidInput("the multipart/form-data body names no boundary", field="file")
    for chunk in body.split(b"--" + boundary.encode("latin-1"))[1:]:
        if chunk.startswith(b"--"):  # the closing delimiter
            break
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        part = email.message_from_bytes(head.lstrip(b"\r\n") + b"\r\n\r\n")
        filename = part.get_filename()
        name = part.get_param("name", header="content-disposition")
        if filename is None and name != "file":
            continue
        if content.endswith(b"\r\n"):
            content = content[:-2]
        return content, _name(filename or "upload")
    raise InvalidInput(
        "the multipart/form-data body has no file; send it in a field named 'file'", field="file"
    )
