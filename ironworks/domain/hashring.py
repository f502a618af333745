"""A consistent hash ring: which conductor of a group owns a node's periodic work.

Each conductor gets `replicas` points on a ring of 2**32 positions; a node belongs to the first
point at or after the hash of its UUID. When a conductor joins or leaves, only the nodes next
to its points move.
"""

from __future__ import annotations

import bisect
import hashlib


def _hash(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "big")


class HashRing:
    def __init__(self, hosts: list[str], replicas: int = 64) -> None:
        self.hosts = sorted(set(hosts))
        points = sorted((_hash(f"{h}#{i}"), h) for h in self.hosts for i in range(replicas))
        self._keys = [p for p, _ in points]
        self._hosts = [h for _, h in points]

    def owner(self, key: str) -> str | None:
        if not self._keys:
            return None
        i = bisect.bisect_left(self._keys, _hash(key)) % len(self._keys)
        return self._hosts[i]
