"""A node's BIOS settings and firmware components (read from the cache the conductor fills on
verify, inspection, cleaning and the BIOS and firmware steps) and its virtual media (a quick
synchronous BMC call under the node lock, like the boot device).

A node whose hardware type cannot do one of these gets the interface's refusal: a 400 naming the
hardware type and saying what the operator can do instead (drivers/base.refused).
"""

from __future__ import annotations

from typing import Any

from ironworks.common.errors import InvalidInput, NotFound, NotSupported
from ironworks.db import bios as bios_db
from ironworks.db import firmware as firmware_db
from ironworks.db import nodes as node_db
from ironworks.drivers import base
from ironworks.drivers.registry import interfaces_for
from ironworks.services.context import Caller, Services
from ironworks.services.operations import locked

VMEDIA_DEVICES = ("cdrom", "floppy", "disk")
DOWNLOAD_SOURCES = ("http", "local", "swift")


def _refuse_if_absent(node: dict[str, Any], kind: str) -> None:
    """A node without the interface (no-bios, no-firmware): its refusal, before the cache."""
    iface = interfaces_for(node)[kind]
    if not iface.name.startswith("no-"):
        return
    task = base.Task(node=node, purpose=kind)
    if isinstance(iface, base.BIOSInterface):
        iface.get_settings(task)
    elif isinstance(iface, base.FirmwareInterface):
        iface.get_components(task)
    raise NotSupported(f"node {node['uuid']}: {kind} is not supported ({iface.name})")


def bios_settings(svc: Services, ident: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The node and its cached BIOS settings, by name."""
    with svc.db.read() as conn:
        node = node_db.get_node(conn, ident)
        _refuse_if_absent(node, "bios")
        return node, bios_db.list_settings(conn, node["id"])


def bios_setting(svc: Services, ident: str, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    with svc.db.read() as conn:
        node = node_db.get_node(conn, ident)
        _refuse_if_absent(node, "bios")
        row = bios_db.get_setting(conn, node["id"], name)
    if row is None:
        raise NotFound(f"BIOS setting {name} for node {node['uuid']} could not be found.")
    return node, row


def firmware_components(svc: Services, ident: str) -> list[dict[str, Any]]:
    with svc.db.read() as conn:
        node = node_db.get_node(conn, ident)
        _refuse_if_absent(node, "firmware")
        return firmware_db.list_components(conn, node["id"])


# --- virtual media -------------------------------------------------------------------------------


def _device_type(value: Any, field: str) -> str:
    if value not in VMEDIA_DEVICES:
        raise InvalidInput(
            f"{field} must be one of {', '.join(VMEDIA_DEVICES)}, not {value!r}", field=field
        )
    return str(value)


def _management(node: dict[str, Any]) -> base.ManagementInterface:
    mgmt = interfaces_for(node)["management"]
    assert isinstance(mgmt, base.ManagementInterface)
    return mgmt


def _run_vmedia(svc: Services, ident: str, caller: Caller, what: str, act: Any, event: str) -> None:
    """`act(mgmt, task)` under the node lock; what the driver keeps in driver_internal_info
    (the fake BMC) and a history line are written after it."""
    with locked(svc, ident, what) as (node, task):
        before = dict(node.get("driver_internal_info") or {})
        task.internal = dict(before)
        act(_management(node), task)
        with svc.db.write() as conn:
            if task.internal != before:
                node_db.update_node(conn, node["id"], {"driver_internal_info": task.internal})
            node_db.record_event(
                conn,
                node["id"],
                event,
                event_type="vmedia",
                user=caller.user,
                request_id=caller.request_id,
            )


def attach_vmedia(svc: Services, ident: str, body: Any, caller: Caller) -> None:
    """Ironic's `POST /v1/nodes/{node}/vmedia`: the BMC inserts the image at `image_url`."""
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object with device_type and image_url")
    unknown = sorted(set(body) - {"device_type", "image_url", "image_download_source"})
    if unknown:
        raise InvalidInput(f"Unexpected arguments: {', '.join(unknown)}", field=unknown[0])
    device = _device_type(body.get("device_type"), "device_type")
    url = body.get("image_url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise InvalidInput(
            "image_url must be an http:// or https:// URL the BMC can download", field="image_url"
        )
    source = body.get("image_download_source") or "http"
    if source not in DOWNLOAD_SOURCES:
        raise InvalidInput(
            f"image_download_source must be one of {', '.join(DOWNLOAD_SOURCES)}, not {source!r}",
            field="image_download_source",
        )
    if source != "http":
        raise InvalidInput(
            f"image_download_source {source!r} is not supported: Ironworks does not copy the "
            "image and serve it itself; give an image_url the BMC can reach and "
            "image_download_source http (the default)",
            field="image_download_source",
        )
    _run_vmedia(
        svc,
        ident,
        caller,
        "attaching virtual media",
        lambda mgmt, task: mgmt.attach_virtual_media(task, device, url),
        f"Virtual media attached: {device} {url}",
    )


def detach_vmedia(svc: Services, ident: str, device_types: Any, caller: Caller) -> None:
    """Ironic's `DELETE /v1/nodes/{node}/vmedia`: eject the named device types (all when none
    are named); a string is a comma-separated list, as the clients send it."""
    if device_types is None or device_types == "" or device_types == []:
        kinds = list(VMEDIA_DEVICES)
    else:
        if isinstance(device_types, str):
            device_types = [d.strip() for d in device_types.split(",") if d.strip()]
        if not isinstance(device_types, list):
            raise InvalidInput("device_types must be a list of device types", field="device_types")
        kinds = [_device_type(d, "device_types") for d in device_types]
    _run_vmedia(
        svc,
        ident,
        caller,
        "detaching virtual media",
        lambda mgmt, task: mgmt.detach_virtual_media(task, kinds),
        f"Virtual media detached: {', '.join(kinds)}",
    )
