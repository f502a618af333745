"""What the conductor hands the agent to write: the image and the config drive, as URLs.

Both are files the boot listener serves (`/boot/images/<key>`, api/native images routes): the
image from the deploy cache (fetched once per source and checksum, ironworks/images/cache.py),
the config drive built per deploy under an unguessable key (it carries the host's keys and user
data, and the provisioning network has no user tokens).
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Any

from ironworks.boot import configdrive
from ironworks.boot.dnsmasq import boot_url
from ironworks.common.errors import InvalidInput
from ironworks.common.settings import Settings
from ironworks.images.cache import ImageCache
from ironworks.images.store import TENANT_SOURCE, file_digest, meta_path, write_meta
from ironworks_agent import protocol


def image_checksum(info: dict[str, Any]) -> str | None:
    """The checksum an Ironic client gave: image_os_hash_algo/value, else image_checksum."""
    value = info.get("image_os_hash_value")
    if value:
        return f"{info.get('image_os_hash_algo') or 'sha512'}:{value}"
    return info.get("image_checksum") or None


class DeployArtifacts:
    def __init__(self, settings: Settings) -> None:
        self.cache = ImageCache(settings)
        self.base = boot_url(settings.boot)
        self.phone_home = settings.boot.first_boot_phone_home

    def url(self, key: str) -> str:
        return f"{self.base}/boot/images/{key}"

    def first_boot_url(self, node_uuid: str, token: str) -> str:
        return f"{self.base}{protocol.FIRST_BOOT_PATH}/{node_uuid}/{token}"

    def resolve_image(self, node: dict[str, Any]) -> dict[str, Any]:
        info = node.get("instance_info") or {}
        source = info.get("image_source")
        if not isinstance(source, str) or not source:
            raise InvalidInput(
                "instance_info/image_source is missing", field="instance_info/image_source"
            )
        cached = self.cache.fetch(
            source, image_checksum(info), tenant=bool(info.get(TENANT_SOURCE))
        )
        root_gb = info.get("root_gb")
        if root_gb not in (None, ""):
            try:
                need = int(root_gb) * 2**30
            except (TypeError, ValueError):
                raise InvalidInput(
                    f"instance_info/root_gb must be a whole number of GiB, not {root_gb!r}",
                    field="instance_info/root_gb",
                ) from None
            if cached.size > need > 0:
                raise InvalidInput(
                    f"the image is {cached.size} bytes, more than root_gb {root_gb} GiB",
                    field="instance_info/root_gb",
                )
        return {"url": self.url(cached.key), "sha256": cached.sha256, "size": cached.size}

    def configdrive(
        self, node: dict[str, Any], drive: Any, first_boot_url: str | None = None
    ) -> dict[str, Any]:
        self.cache.store.ensure()
        key = hashlib.sha256(f"configdrive:{node['uuid']}:{secrets.token_hex(16)}".encode())
        path: Path = self.cache.store.cache_file(key.hexdigest())
        tmp = self.cache.store.tmp / f"cd-{node['uuid']}-{secrets.token_hex(4)}.img"
        try:
            configdrive.build(node, drive, tmp, first_boot_url, self.phone_home)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        size, digest = tmp.stat().st_size, file_digest(tmp, "sha256")
        write_meta(
            path, {"size": size, "sha256": digest, "kind": "configdrive", "node": node["uuid"]}
        )
        tmp.replace(path)
        return {
            "url": self.url(key.hexdigest()),
            "sha256": digest,
            "size": size,
            "key": key.hexdigest(),
        }

    def drop_configdrive(self, key: str) -> None:
        """Delete a config drive once written (it holds the host's keys and user data)."""
        try:
            path = self.cache.store.cache_file(key)
        except AssertionError:  # not a key we make
            return
        path.unlink(missing_ok=True)
        meta_path(path).unlink(missing_ok=True)
