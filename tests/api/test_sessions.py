"""Sessions and log-in abuse (#15 items 4 and 5): what ends a user's sessions, application
credentials' life, throttling by source and account, no user enumeration, weak passwords."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from ironworks.services import auth
from tests.api.conftest import ADMIN_PASSWORD, PASSWORD, bearer, log_in
from tests.api.test_tenancy import as_, setup_org

WRONG = "wrong user name or password"


def _ok(c: Any, headers: dict[str, str]) -> int:
    return int(c.get("/api/v1/auth/me", headers=headers).status_code)


def test_an_admins_reset_disable_or_role_change_ends_every_session(secure: Any) -> None:
    c, _ = secure
    setup_org(c)
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    for change in ({"password": "N3w-Passw0rd!"}, {"enabled": False}, {"is_admin": True}):
        a1, a2 = as_(c, "alice"), as_(c, "alice")
        assert _ok(c, a1) == _ok(c, a2) == 200
        r = c.patch("/api/v1/users/alice", json=change, headers=admin)
        assert r.status_code == 200, r.text
        # put alice back as she was; her old tokens stay dead
        back = {"password": PASSWORD, "enabled": True, "is_admin": False}
        assert c.patch("/api/v1/users/alice", json=back, headers=admin).status_code == 200
        assert _ok(c, a1) == _ok(c, a2) == 401, change
        assert _ok(c, as_(c, "alice")) == 200


def test_changing_ones_own_password_ends_the_other_sessions(secure: Any) -> None:
    c, _ = secure
    setup_org(c)
    here, there = as_(c, "alice"), as_(c, "alice")
    r = c.post(
        "/api/v1/auth/password", json={"current_password": "nope", "password": "X"}, headers=here
    )
    assert r.status_code == 400 and r.json()["field"] == "current_password"
    body = {"current_password": PASSWORD, "password": "An0ther-Passw0rd"}
    assert c.post("/api/v1/auth/password", json=body, headers=here).status_code == 204
    assert _ok(c, here) == 200 and _ok(c, there) == 401
    assert log_in(c, "alice", "An0ther-Passw0rd")


def test_application_credentials_expire_list_revoke_and_do_not_breed(secure: Any) -> None:
    c, _ = secure
    setup_org(c)
    alice = as_(c, "alice")
    r = c.post("/api/v1/auth/application-credentials", json={"name": "ci"}, headers=alice)
    assert r.status_code == 201, r.text
    cred = r.json()
    assert cred["expires_at"] is not None  # a default lifetime (auth.application_credential_ttl)
    app = bearer(cred["token"])
    assert _ok(c, app) == 200
    r = c.post("/api/v1/auth/application-credentials", json={"name": "child"}, headers=app)
    assert r.status_code == 403 and "application credential" in r.json()["detail"]
    listed = c.get("/api/v1/auth/application-credentials", headers=alice).json()
    items = listed["application_credentials"]
    assert [(i["id"], i["name"]) for i in items] == [(cred["id"], "ci")]
    assert "token" not in items[0] and "token_hash" not in items[0]
    # bob's list does not show alice's; he cannot revoke hers
    bob = as_(c, "bob")
    assert c.get("/api/v1/auth/application-credentials", headers=bob).json() == {
        "application_credentials": []
    }
    assert (
        c.delete(f"/api/v1/auth/application-credentials/{cred['id']}", headers=bob).status_code
        == 404
    )
    r = c.delete(f"/api/v1/auth/application-credentials/{cred['id']}", headers=alice)
    assert r.status_code == 204
    assert _ok(c, app) == 401


def _other_source(c: Any, address: str) -> TestClient:
    other = TestClient(c.app, base_url="http://testserver", client=(address, 40000))
    other.headers.update(c.headers)
    return other


def _try(c: Any, user: str, password: str) -> Any:
    return c.post("/api/v1/auth/tokens", json={"username": user, "password": password})


def test_wrong_passwords_from_one_address_do_not_lock_the_admin_out(secure: Any) -> None:
    """max_failed_logins is 3 in the fixture: an attacker's address is slowed down, the
    account is not locked for anyone else."""
    c, _ = secure
    attacker = _other_source(c, "203.0.113.9")
    for _ in range(3):
        r = _try(attacker, "admin", "guess")
        assert r.status_code == 401 and r.json()["detail"] == WRONG
    r = _try(attacker, "admin", ADMIN_PASSWORD)  # even the right password waits now
    assert r.status_code == 429 and "try again in" in r.json()["detail"]
    assert int(r.headers["retry-after"]) >= 1
    assert log_in(c, "admin", ADMIN_PASSWORD)  # the admin, from their own address


def test_unknown_disabled_and_known_users_answer_alike(secure: Any) -> None:
    c, _ = secure
    setup_org(c)
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    assert c.patch("/api/v1/users/carol", json={"enabled": False}, headers=admin).status_code == 200
    answers = {}
    for user, password in (("alice", "guess"), ("nobody", "guess"), ("carol", PASSWORD)):
        probe = _other_source(c, f"198.51.100.{len(answers) + 1}")
        seen = [
            (r.status_code, r.json()["detail"])
            for r in (_try(probe, user, password) for _ in range(4))
        ]
        answers[user] = [(code, detail.split(" in ")[0]) for code, detail in seen]
    assert answers["alice"] == answers["nobody"] == answers["carol"]
    assert answers["nobody"][0] == (401, WRONG) and answers["nobody"][3][0] == 429


def test_unknown_users_cost_a_password_hash(secure: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """No timing oracle: an unknown name runs argon2 like a known one."""
    c, _ = secure
    verified: list[str] = []
    real = auth.verify_password

    def counting(stored: str | None, password: str) -> bool:
        verified.append(stored or "")
        return real(stored, password)

    monkeypatch.setattr(auth, "verify_password", counting)
    assert _try(c, "nobody", "guess").status_code == 401
    assert len(verified) == 1 and verified[0].startswith("$argon2id$")


@pytest.mark.parametrize(
    ("password", "problem"),
    [("Password1!", "too common"), ("Qwerty123!", "too common"), ("Aa1-" + "x" * 1100, "1024")],
)
def test_common_and_overlong_passwords_are_refused(
    secure: Any, password: str, problem: str
) -> None:
    c, _ = secure
    admin = bearer(log_in(c, "admin", ADMIN_PASSWORD))
    r = c.post("/api/v1/users", json={"name": "weak", "password": password}, headers=admin)
    assert r.status_code == 400 and r.json()["field"] == "password"
    assert problem in r.json()["detail"]


def test_the_servers_command_line_unlocks_without_a_second_admin(
    secure: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    c, svc = secure
    attacker = _other_source(c, "203.0.113.10")
    for _ in range(4):
        _try(attacker, "admin", "guess")
    assert _try(attacker, "admin", ADMIN_PASSWORD).status_code == 429
    from ironworks.cmd.main import app

    monkeypatch.setenv("IRONWORKS_DATABASE_URL", svc.settings.effective_database_url)
    monkeypatch.setenv("IRONWORKS_HOME", str(svc.settings.home))
    out = CliRunner().invoke(app, ["account", "unlock", "admin"])
    assert out.exit_code == 0, out.output
    assert "admin" in out.output
    assert _try(attacker, "admin", ADMIN_PASSWORD).status_code == 201
    out = CliRunner().invoke(app, ["account", "unlock", "nobody"])
    assert out.exit_code == 1 and "no user named 'nobody'" in out.output


def test_me_says_which_operations_the_caller_may_perform(secure: Any) -> None:
    """The web console's menus follow the permission table without a copy of it."""
    c, _ = secure
    setup_org(c)
    admin = c.get("/api/v1/auth/me", headers=bearer(log_in(c, "admin", ADMIN_PASSWORD))).json()
    assert set(admin["operations"].values()) == {"allow"}
    alice = c.get("/api/v1/auth/me", headers=as_(c, "alice")).json()["operations"]
    bob = c.get("/api/v1/auth/me", headers=as_(c, "bob")).json()["operations"]
    assert (alice["node:create"], alice["host:create"], alice["user:update"]) == (
        "deny",
        "joined",
        "deny",
    )
    assert (bob["node:create"], bob["host:create"], bob["user:update"]) == (
        "deny",
        "joined",
        "dept",
    )
    from ironworks.domain import policy

    assert set(alice) == {r.operation for r in policy.RULES}
