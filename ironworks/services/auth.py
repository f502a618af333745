"""Users, log-in, tokens: who is calling.

Passwords are hashed with argon2id (OWASP's minimum parameters: 19 MiB, 2 passes, 1 lane, about
20 ms here) and must pass `check_password`. After `auth.max_failed_logins` wrong passwords in a
row an account is locked for `auth.lockout_seconds`; an admin can unlock it earlier.

Tokens are `iwt_` and 32 random bytes (url-safe base64), returned once and stored as their SHA-256 only:
`session` tokens come from a log-in and expire after `auth.token_ttl`; `application` tokens are
application credentials for automation, named, with an optional expiry. Both can be revoked.

The first start with no user creates the cloud admin (`auth.admin_user`, password from
`auth.admin_password`, or generated and printed once by cmd/).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import string
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ironworks.common.errors import InvalidInput, NotFound, Unauthenticated
from ironworks.common.ids import new_uuid
from ironworks.db import auth as queries
from ironworks.db.engine import as_utc, utcnow
from ironworks.domain.policy import Role
from ironworks.services.context import Services

log = logging.getLogger(__name__)

_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
MIN_PASSWORD = 8


@dataclass(frozen=True)
class Principal:
    """Who calls: the user, their cloud-admin flag and their projects and departments."""

    user_id: int
    name: str
    is_admin: bool
    projects: dict[int, str] = field(default_factory=dict)  # project id → role in it
    departments: frozenset[int] = frozenset()  # departments they administer
    token_id: int | None = None

    @property
    def roles(self) -> set[Role]:
        out = {Role(r) for r in self.projects.values()}
        if self.departments:
            out.add(Role.DEPT_ADMIN)
        if self.is_admin:
            out.add(Role.ADMIN)
        return out


# --- passwords ---------------------------------------------------------------------------------


def check_password(password: str, username: str, field_name: str = "password") -> None:
    """The strength policy: at least 8 characters, three of the four character classes (lower,
    upper, digits, others), and not containing the user name. The refusal names every rule
    the password breaks, as one sentence."""
    problems = []
    if len(password) < MIN_PASSWORD:
        problems.append(f"have at least {MIN_PASSWORD} characters")
    classes = sum(
        [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
    )
    if classes < 3:
        problems.append("mix three of: lower case, upper case, digits, other characters")
    if username and username.lower() in password.lower():
        problems.append("not contain the user name")
    if problems:
        raise InvalidInput(f"the password must {'; and '.join(problems)}", field=field_name)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    if not stored:
        return False
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    """A random password that passes the policy."""
    alphabet = string.ascii_letters + string.digits
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(16)) + "-" + secrets.choice("!@#%+=")
        try:
            check_password(pw, "")
            return pw
        except InvalidInput:
            continue


# --- the first admin ---------------------------------------------------------------------------


def bootstrap_admin(svc: Services) -> str | None:
    """Create the cloud admin if there is no user yet; the password if it was generated."""
    cfg = svc.settings.auth
    with svc.db.write() as conn:
        if queries.count_users(conn):
            return None
        given = cfg.admin_password.get_secret_value() if cfg.admin_password else None
        password = given or generate_password()
        if given:
            check_password(given, cfg.admin_user, "auth.admin_password")
        now = utcnow()
        queries.insert_user(
            conn,
            {
                "uuid": new_uuid(),
                "name": cfg.admin_user,
                "password_hash": hash_password(password),
                "is_admin": True,
                "enabled": True,
                "failed_logins": 0,
                "created_at": now,
                "password_changed_at": now,
            },
        )
    log.info("created the cloud admin %r", cfg.admin_user)
    return None if given else password


# --- log-in and tokens -------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    svc: Services, conn: sa.Connection, user_id: int, kind: str, name: str | None, ttl: float | None
) -> dict[str, Any]:
    # a prefix that secret scanners can match, and that no command line reads as an option
    token = "iwt_" + secrets.token_urlsafe(32)
    now = utcnow()
    expires = now + timedelta(seconds=ttl) if ttl else None
    row = {
        "uuid": new_uuid(),
        "token_hash": _digest(token),
        "user_id": user_id,
        "kind": kind,
        "name": name,
        "created_at": now,
        "expires_at": expires,
    }
    queries.insert_token(conn, row)
    return {"token": token, "id": row["uuid"], "kind": kind, "name": name, "expires_at": expires}


def login(svc: Services, username: str, password: str) -> dict[str, Any]:
    """A session token for these credentials, or Unauthenticated saying why not."""
    cfg = svc.settings.auth
    now = utcnow()
    refused = Unauthenticated("wrong user name or password")
    with svc.db.write() as conn:
        user = queries.user_named(conn, username)
        if user is None:
            verify_password(None, password)
            raise refused
        locked = user["locked_until"]
        if locked is not None and as_utc(locked) > now:
            raise Unauthenticated(
                f"the account {username} is locked until {as_utc(locked):%Y-%m-%d %H:%M:%S} UTC "
                f"after {user['failed_logins']} failed log-ins; wait, or ask an admin to unlock it"
            )
        if not verify_password(user["password_hash"], password):
            failed = user["failed_logins"] + 1
            values: dict[str, Any] = {"failed_logins": failed}
            if failed >= cfg.max_failed_logins:
                values["locked_until"] = now + timedelta(seconds=cfg.lockout_seconds)
            queries.update_user(conn, user["id"], values)
        elif not user["enabled"]:
            raise Unauthenticated(f"the account {username} is disabled; ask an admin")
        else:
            queries.update_user(conn, user["id"], {"failed_logins": 0, "locked_until": None})
            out = issue_token(svc, conn, user["id"], "session", None, cfg.token_ttl)
            return {**out, "user": {"id": user["uuid"], "name": user["name"]}}
    raise refused  # after the commit that counted the failure


def authenticate(svc: Services, token: str) -> Principal:
    now = utcnow()
    with svc.db.read() as conn:
        row = queries.token_holder(conn, _digest(token))
        if row is None or row["revoked_at"] is not None:
            raise Unauthenticated("the token is not valid (unknown or revoked); log in again")
        if row["expires_at"] is not None and as_utc(row["expires_at"]) <= now:
            raise Unauthenticated("the token has expired; log in again")
        if not row["enabled"]:
            raise Unauthenticated(f"the account {row['name']} is disabled; ask an admin")
        joined_rows = queries.memberships(conn, row["uid"])
    joined = {pid: role for pid, role, dept in joined_rows if dept is None}
    depts = {dept for _, _, dept in joined_rows if dept is not None}
    for pid, role, dept in joined_rows:  # a department admin joins every project of theirs
        if dept is not None and pid is not None:
            joined.setdefault(pid, role)
    return Principal(
        user_id=row["uid"],
        name=row["name"],
        is_admin=row["is_admin"],
        projects=joined,
        departments=frozenset(depts),
        token_id=row["id"],
    )


def revoke(svc: Services, principal: Principal, token_uuid: str | None = None) -> None:
    """Revoke the caller's own token, or (by id) another of the caller's tokens."""
    with svc.db.write() as conn:
        if token_uuid:
            if not queries.revoke_token(conn, principal.user_id, uuid=token_uuid):
                raise NotFound(f"no active token {token_uuid} of yours")
        else:
            queries.revoke_token(conn, principal.user_id, token_id=principal.token_id)
