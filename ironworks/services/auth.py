"""Users, log-in, tokens: who is calling.

Passwords are hashed with argon2id (OWASP's minimum parameters: 19 MiB, 2 passes, 1 lane, about
20 ms here) and must pass `check_password` (length, character classes, not the user name, not
one of the most common passwords).

Log-in abuse is throttled, never locked out (#15): after `auth.max_failed_logins` wrong
passwords for one user name from one client address, each further try from that address for
that name must wait (1 s, 2 s, 4 s ... up to `auth.lockout_seconds`); after
`auth.max_failed_logins_per_address` from one address whatever the names, the same for the
address. Nobody else is slowed down, so an attacker cannot lock the cloud admin out. Unknown
names, disabled accounts and wrong passwords answer the same sentence after the same argon2
work, and are throttled alike: no enumeration by message, timing or lockout. `unlock` (an
admin's, or `ironworks account unlock` on the server) forgets a name's failures.

Tokens are `iwt_` and 32 random bytes (url-safe base64), returned once and stored as their
SHA-256 only: `session` tokens come from a log-in and expire after `auth.token_ttl`;
`application` tokens are application credentials for automation, named, expiring after their
own lifetime or `auth.application_credential_ttl`; a session creates them, an application
credential cannot. Both can be revoked. A password change ends the user's other sessions; an
admin's reset, disabling or role change ends every token of the user.

The first start with no user creates the cloud admin (`auth.admin_user`, password from
`auth.admin_password`, or generated and printed once by cmd/).
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import string
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError

from ironworks.common.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    TooManyRequests,
    Unauthenticated,
)
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
    token_kind: str = "session"  # or "application" (an application credential)

    @property
    def roles(self) -> set[Role]:
        out = {Role(r) for r in self.projects.values()}
        if self.departments:
            out.add(Role.DEPT_ADMIN)
        if self.is_admin:
            out.add(Role.ADMIN)
        return out


# --- passwords ---------------------------------------------------------------------------------


# The most common passwords and their stems (from the public lists of leaked passwords), each
# refused whatever digits and signs are added before or after it and with l33t spelling undone.
_COMMON_WORDS = """
    password passw0rd p4ssword pass passwort motdepasse contrasena qwerty qwertyuiop qwertz
    azerty asdf asdfgh asdfghjkl zxcvbn zxcvbnm abc abcd abcde abcdef abcdefg letmein welcome
    admin administrator root toor login master iloveyou monkey dragon football baseball
    soccer hockey sunshine princess shadow superman batman trustno1 freedom whatever starwars
    michael jennifer charlie jordan hunter killer summer winter spring autumn secret changeme
    default guest test tester hello hellokitty computer internet server cisco huawei ironic
    openstack ironworks baremetal china beijing shanghai woaini aini
"""
COMMON = frozenset(_COMMON_WORDS.split())
MAX_PASSWORD = 1024  # the log-in accepts no longer password (api/native/auth.py)
_LEET = str.maketrans("0134579@$!", "oleastgasi")


def _common(password: str) -> bool:
    """Whether the password is a common one with digits or signs around it."""
    stem = password.lower().strip("0123456789!@#$%^&*()-_=+.,;:?~ ")
    return stem in COMMON or stem.translate(_LEET) in COMMON or not stem


def check_password(password: str, username: str, field_name: str = "password") -> None:
    """The strength policy: 8 to 1024 characters, three of the four character classes (lower,
    upper, digits, others), not containing the user name, not a common password. The refusal
    names every rule the password breaks, as one sentence."""
    problems = []
    if len(password) < MIN_PASSWORD:
        problems.append(f"have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        problems.append(f"have at most {MAX_PASSWORD} characters (the log-in accepts no more)")
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
    if _common(password):
        problems.append("not be one of the most common passwords (too common)")
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
    with svc.db.read() as conn:
        if queries.count_users(conn):
            return None
    given = cfg.admin_password.get_secret_value() if cfg.admin_password else None
    password = given or generate_password()
    if given:
        check_password(given, cfg.admin_user, "auth.admin_password")
    now = utcnow()
    try:
        with svc.db.write() as conn:
            if queries.count_users(conn):
                return None
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
    except IntegrityError:
        # Two `ironworks api` processes started at once on a fresh database: both saw no user
        # and the other one's admin was committed first (its name is unique). Nothing to do.
        log.info("the cloud admin %r was created by another process", cfg.admin_user)
        return None
    log.info("created the cloud admin %r", cfg.admin_user)
    return None if given else password


# --- log-in and tokens -------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _issue_token(
    conn: sa.Connection, user_id: int, kind: str, name: str | None, ttl: float | None
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


WRONG = "wrong user name or password"


def _keys(username: str, source: str | None) -> tuple[str, str]:
    """The throttling keys of a try: the user name from the address, and the address."""
    address = source or "-"
    return f"{username}\n{address}", f"\n{address}"


def _wait(failures: int, free: int, cap: float) -> float:
    """Seconds a key must wait after its last failure: none for the first `free` failures,
    then 1 s, 2 s, 4 s ... up to `cap`."""
    if failures < free:
        return 0.0
    return float(min(cap, 2 ** min(failures - free, 30)))


def _throttle(svc: Services, conn: sa.Connection, keys: tuple[str, str]) -> dict[str, bool]:
    """Refuse a try that comes before its wait is over (429, saying how long); else for each
    key whether its count starts afresh (its last failure is older than twice the cap)."""
    cfg = svc.settings.auth
    now = utcnow()
    known = queries.failures(conn, keys)
    afresh = {}
    for key, free in zip(
        keys, (cfg.max_failed_logins, cfg.max_failed_logins_per_address), strict=True
    ):
        failures, last = known.get(key, (0, now))
        idle = (now - as_utc(last)).total_seconds()
        afresh[key] = idle > 2 * cfg.lockout_seconds or key not in known
        left = _wait(failures, free, cfg.lockout_seconds) - idle
        if not afresh[key] and left > 0:
            raise TooManyRequests(
                f"too many failed log-ins from your address; try again in {math.ceil(left)} s",
                retry_after=math.ceil(left),
            )
    return afresh


def _dummy_hash() -> str:
    """A hash to verify against for unknown names, so they cost what known ones do."""
    global _DUMMY
    if _DUMMY is None:
        _DUMMY = _HASHER.hash(secrets.token_urlsafe(16))
    return _DUMMY


_DUMMY: str | None = None


def login(svc: Services, username: str, password: str, source: str | None = None) -> dict[str, Any]:
    """A session token for these credentials, or why not: the same sentence for an unknown
    name, a wrong password and a disabled account (401), or a wait (429)."""
    keys = _keys(username, source)
    with svc.db.read() as conn:
        afresh = _throttle(svc, conn, keys)
        user = queries.user_named(conn, username)
    stored = user["password_hash"] if user is not None else None
    right = verify_password(stored or _dummy_hash(), password) and stored is not None
    with svc.db.write() as conn:
        if user is not None and right and user["enabled"]:
            queries.forget_failures(conn, key=keys[0])
            queries.update_user(conn, user["id"], {"failed_logins": 0, "locked_until": None})
            out = _issue_token(conn, user["id"], "session", None, svc.settings.auth.token_ttl)
            return {**out, "user": {"id": user["uuid"], "name": user["name"]}}
        now = utcnow()
        for key in keys:
            queries.count_failure(conn, key, now, afresh=afresh[key])
        if user is not None:
            queries.update_user(conn, user["id"], {"failed_logins": user["failed_logins"] + 1})
    raise Unauthenticated(WRONG)  # after the commit that counted the failure


def change_password(
    svc: Services, principal: Principal, current: str, new: str, source: str | None = None
) -> None:
    """The caller's own password; their other sessions end. A wrong current password counts
    as a failed log-in (a stolen session cannot guess it at leisure)."""
    keys = _keys(principal.name, source)
    with svc.db.read() as conn:
        afresh = _throttle(svc, conn, keys)
        user = queries.user_named(conn, principal.name)
    if user is None or not verify_password(user["password_hash"], current):
        with svc.db.write() as conn:
            for key in keys:
                queries.count_failure(conn, key, utcnow(), afresh=afresh[key])
        raise InvalidInput("the current password is wrong", field="current_password")
    check_password(new, principal.name)
    with svc.db.write() as conn:
        values = {"password_hash": hash_password(new), "password_changed_at": utcnow()}
        queries.update_user(conn, user["id"], values)
        queries.revoke_tokens(conn, user["id"], kind="session", keep=principal.token_id)


def end_sessions(conn: sa.Connection, user_id: int) -> int:
    """Revoke every token of a user (an admin reset their password, disabled them or changed
    their role): how many."""
    return queries.revoke_tokens(conn, user_id)


def unlock(svc: Services, name: str) -> int:
    """Forget a user name's failed log-ins (every address): the failures forgotten. NotFound
    for an unknown name (this is the admin's command, not the anonymous log-in)."""
    with svc.db.write() as conn:
        user = queries.user_named(conn, name)
        if user is None:
            raise NotFound(f"no user named {name!r}")
        queries.update_user(conn, user["id"], {"failed_logins": 0, "locked_until": None})
        return queries.forget_failures(conn, name=name)


def forget_failures(conn: sa.Connection, name: str) -> None:
    """An admin's unlock, inside their edit of the user."""
    queries.forget_failures(conn, name=name)


# --- application credentials ---------------------------------------------------------------------


def create_application_credential(
    svc: Services, principal: Principal, name: str, ttl: float | None
) -> dict[str, Any]:
    """A named token for automation, valid `ttl` seconds or `auth.application_credential_ttl`.
    Only a log-in session may create one: a leaked credential cannot breed more."""
    if principal.token_kind == "application":
        raise Forbidden(
            "an application credential cannot create application credentials; log in with "
            "your password to create one"
        )
    lifetime = ttl or svc.settings.auth.application_credential_ttl
    with svc.db.write() as conn:
        return _issue_token(conn, principal.user_id, "application", name, lifetime)


def list_application_credentials(svc: Services, principal: Principal) -> list[dict[str, Any]]:
    with svc.db.read() as conn:
        rows = queries.live_tokens(conn, principal.user_id, "application")
    return [
        {
            "id": r["uuid"],
            "name": r["name"],
            "created_at": r["created_at"],
            "expires_at": r["expires_at"],
        }
        for r in rows
    ]


def revoke_application_credential(svc: Services, principal: Principal, uuid: str) -> None:
    with svc.db.write() as conn:
        if not queries.revoke_token(conn, principal.user_id, uuid=uuid, kind="application"):
            raise NotFound(f"you have no application credential {uuid}")


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
        token_kind=row["kind"],
    )


def revoke(svc: Services, principal: Principal, token_uuid: str | None = None) -> None:
    """Revoke the caller's own token, or (by id) another of the caller's tokens."""
    with svc.db.write() as conn:
        if token_uuid:
            if not queries.revoke_token(conn, principal.user_id, uuid=token_uuid):
                raise NotFound(f"no active token {token_uuid} of yours")
        else:
            queries.revoke_token(conn, principal.user_id, token_id=principal.token_id)
