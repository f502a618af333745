"""Fixtures of the API tests with identity on: `secure` (an app with auth, the admin created),
users with a role, log-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from ironworks.api.app import create_app
from ironworks.db import migrate
from ironworks.db.engine import Database, utcnow
from ironworks.db.schema import department_admins, departments, project_members, projects, users
from ironworks.domain.policy import Role
from ironworks.services import auth
from ironworks.services.context import Services
from tests.conftest import make_settings

ADMIN_PASSWORD = "Adm1n-Passw0rd"
PASSWORD = "Us3r-Passw0rd"


@pytest.fixture
def secure(database_url: str, tmp_path: Path) -> Iterator[tuple[httpx.Client, Services]]:
    settings = make_settings(
        database_url,
        tmp_path,
        auth={"noauth": False, "admin_password": ADMIN_PASSWORD, "max_failed_logins": 3},
        conductor={"hostname": "t", "poll_interval": 0.05, "periodic_interval": 3600},
        images={"tenant_url_hosts": ["images"]},  # tenants may name URLs on host "images" only
    )
    db = Database(settings.effective_database_url)
    migrate.upgrade(db)
    svc = Services(db=db, settings=settings)
    assert auth.bootstrap_admin(svc) is None  # the password came from the settings
    from starlette.testclient import TestClient

    with TestClient(create_app(svc), base_url="http://testserver") as c:
        c.headers["X-OpenStack-Ironic-API-Version"] = "latest"
        yield c, svc
    db.dispose()


def add_user(svc: Services, name: str, role: Role | None, project: str = "p1") -> None:
    """A user with one role: in project `project` (of department d1), or admin of d1."""
    now = utcnow()
    with svc.db.write() as conn:
        dept = conn.execute(sa.select(departments.c.id).where(departments.c.name == "d1")).scalar()
        if dept is None:
            dept = conn.execute(
                sa.insert(departments)
                .values(uuid=f"d1-{now.timestamp()}", name="d1", created_at=now)
                .returning(departments.c.id)
            ).scalar_one()
        proj = conn.execute(sa.select(projects.c.id).where(projects.c.name == project)).scalar()
        if proj is None:
            proj = conn.execute(
                sa.insert(projects)
                .values(
                    uuid=f"{project}-{now.timestamp()}",
                    name=project,
                    department_id=dept,
                    created_at=now,
                )
                .returning(projects.c.id)
            ).scalar_one()
        uid = conn.execute(
            sa.insert(users)
            .values(
                uuid=f"{name}-{now.timestamp()}",
                name=name,
                password_hash=auth.hash_password(PASSWORD),
                is_admin=role is Role.ADMIN,
                enabled=True,
                failed_logins=0,
                created_at=now,
            )
            .returning(users.c.id)
        ).scalar_one()
        if role in (Role.PROJECT_ADMIN, Role.MEMBER):
            conn.execute(
                sa.insert(project_members).values(
                    user_id=uid, project_id=proj, role=role.value, created_at=now
                )
            )
        elif role is Role.DEPT_ADMIN:
            conn.execute(
                sa.insert(department_admins).values(user_id=uid, department_id=dept, created_at=now)
            )


def log_in(c: httpx.Client, name: str, password: str) -> str:
    r = c.post("/api/v1/auth/tokens", json={"username": name, "password": password})
    assert r.status_code == 201, r.text
    return r.json()["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
