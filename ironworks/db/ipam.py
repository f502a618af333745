"""Address allocation (IPAM) in the database: each address of a subnet goes to one holder.

`allocate` picks the lowest free address with `domain.ipam.next_free` from the subnet's used
set and inserts it. Two guards make that safe under concurrency:

* the subnet's row lock (`FOR UPDATE` on PostgreSQL; SQLite's single writer serializes all
  writes already): allocators of one subnet take turns, so they do not all read the same used
  set and chase the same address;
* the unique (subnet_id, address) constraint: the guarantee. A writer that did not wait for the
  lock (a fixed address asked for by hand) can still take the picked address first; the insert
  then fails, its savepoint is rolled back and the pick is made again from a fresh used set, at
  most `ATTEMPTS` times.

Each attempt runs in a savepoint of the caller's transaction on PostgreSQL (a failed statement
aborts the whole transaction there), so a NIC and its addresses commit or roll back together:
nothing is left half-allocated. Not on SQLite: the pysqlite driver opens its transaction only at
the first INSERT, UPDATE or DELETE, so a savepoint taken before it becomes the outermost
transaction and its release commits; SQLite undoes just the failed statement anyway.
"""

from __future__ import annotations

import contextlib
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from ironworks.common.errors import Conflict
from ironworks.db.engine import utcnow
from ironworks.db.schema import ip_allocations, subnets
from ironworks.domain import ipam

ATTEMPTS = 5


def subnet_of_row(row: dict[str, Any]) -> ipam.Subnet:
    """The domain subnet of a stored row (validated again: cheap, and stored rows stay sane)."""
    return ipam.make_subnet(
        row["cidr"],
        gateway=row["gateway_ip"],
        pools=row["allocation_pools"] or None,
        dns=row["dns_nameservers"] or (),
    )


def _label(row: dict[str, Any]) -> str:
    return f"subnet {row['name'] or row['uuid']}"


def used(conn: Connection, subnet_id: int) -> list[str]:
    q = sa.select(ip_allocations.c.address).where(ip_allocations.c.subnet_id == subnet_id)
    return list(conn.execute(q).scalars())


def _attempt(conn: Connection) -> contextlib.AbstractContextManager[Any]:
    """A savepoint on PostgreSQL; nothing on SQLite (see the module docstring)."""
    return contextlib.nullcontext() if conn.dialect.name == "sqlite" else conn.begin_nested()


def _insert(conn: Connection, subnet_id: int, address: str, host_nic_id: int | None) -> None:
    conn.execute(
        sa.insert(ip_allocations).values(
            subnet_id=subnet_id, address=address, host_nic_id=host_nic_id, created_at=utcnow()
        )
    )


def allocate(
    conn: Connection,
    subnet_row: dict[str, Any],
    *,
    host_nic_id: int | None = None,
    address: str | None = None,
) -> str:
    """Allocate `address` (checked to be a host address of the subnet, not its gateway), or the
    lowest free address of the subnet's pools; return it. Conflict (409) naming the subnet when
    the pools are exhausted or the address is taken."""
    subnet = subnet_of_row(subnet_row)
    label = _label(subnet_row)
    if address is not None:
        wanted = ipam.parse_address(address, field="ip_address")
        ipam.check_host_address(subnet.cidr, wanted, field="ip_address")
        if wanted == subnet.gateway:
            raise Conflict(
                f"{wanted} is the gateway of {label}: choose another address.",
                field="ip_address",
            )
        try:
            with _attempt(conn):
                _insert(conn, subnet_row["id"], str(wanted), host_nic_id)
        except IntegrityError:
            raise Conflict(
                f"{wanted} is already allocated in {label}: choose another address or leave "
                "it out to get the next free one.",
                field="ip_address",
            ) from None
        return str(wanted)
    conn.execute(sa.select(subnets.c.id).where(subnets.c.id == subnet_row["id"]).with_for_update())
    for _ in range(ATTEMPTS):
        picked = str(ipam.allocate(subnet, used(conn, subnet_row["id"]), name=label))
        try:
            with _attempt(conn):
                _insert(conn, subnet_row["id"], picked, host_nic_id)
        except IntegrityError:
            continue  # taken meanwhile by a writer that skipped the lock: pick again
        return picked
    raise Conflict(
        f"Could not allocate an address in {label} after {ATTEMPTS} attempts: other "
        "allocations keep taking the free addresses; try again.",
        field="subnet",
    )


def release(conn: Connection, subnet_id: int, address: str) -> bool:
    """Free one address; False when it was not allocated."""
    result = conn.execute(
        sa.delete(ip_allocations).where(
            ip_allocations.c.subnet_id == subnet_id, ip_allocations.c.address == address
        )
    )
    return result.rowcount > 0


def release_nic(conn: Connection, host_nic_id: int) -> int:
    """Free every address a NIC holds; how many."""
    result = conn.execute(
        sa.delete(ip_allocations).where(ip_allocations.c.host_nic_id == host_nic_id)
    )
    return int(result.rowcount)


def count(conn: Connection, subnet_id: int) -> int:
    q = sa.select(sa.func.count()).where(ip_allocations.c.subnet_id == subnet_id)
    return int(conn.execute(q).scalar_one())


def allocations(conn: Connection, subnet_id: int) -> list[dict[str, Any]]:
    q = (
        sa.select(
            ip_allocations.c.address, ip_allocations.c.host_nic_id, ip_allocations.c.created_at
        )
        .where(ip_allocations.c.subnet_id == subnet_id)
        .order_by(ip_allocations.c.id)
    )
    return [dict(r) for r in conn.execute(q).mappings()]
