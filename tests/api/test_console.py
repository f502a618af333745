"""The web console's serving (api/console.py): the files at /console/, the single-page app's
routes, a browser sent from / to the console while API clients keep the version document."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ironworks.api import console
from ironworks.api.app import create_app
from ironworks.services.context import Services

HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"  # a browser's


@pytest.fixture
def dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "web_dist"
    (d / "assets").mkdir(parents=True)
    (d / "index.html").write_text("<!doctype html><div id=root></div>")
    (d / "assets" / "index-abc123.js").write_text("console.log(1)")
    monkeypatch.setattr(console, "DIST", d)
    return d


@pytest.fixture
def web(secure: tuple[httpx.Client, Services], dist: Path) -> Iterator[httpx.Client]:
    from starlette.testclient import TestClient

    with TestClient(create_app(secure[1]), base_url="http://testserver") as c:
        yield c


def test_browser_at_root_goes_to_the_console(web: httpx.Client) -> None:
    r = web.get("/", headers={"Accept": HTML}, follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == "/console/"


@pytest.mark.parametrize("accept", [None, "application/json", "*/*"])
def test_api_clients_keep_the_version_document(web: httpx.Client, accept: str | None) -> None:
    r = web.get("/", headers={"Accept": accept} if accept else {}, follow_redirects=False)
    assert r.status_code == 200 and r.json()["name"] == "OpenStack Ironic API"


def test_console_files_are_public(web: httpx.Client) -> None:
    """No token: the files hold no data (the UI's API calls carry the token)."""
    r = web.get("/console/")
    assert r.status_code == 200 and "id=root" in r.text
    assert r.headers["cache-control"] == "no-cache"
    r = web.get("/console/assets/index-abc123.js")
    assert r.status_code == 200 and "immutable" in r.headers["cache-control"]
    assert web.get("/console", follow_redirects=False).status_code in (307, 308)
    assert web.get("/api/v1/auth/me").status_code == 401  # the API still needs a token


def test_app_routes_get_index_html_missing_assets_404(web: httpx.Client) -> None:
    r = web.get("/console/nodes")
    assert r.status_code == 200 and "id=root" in r.text
    assert web.get("/console/assets/gone-123.js").status_code == 404


def test_without_a_build_the_console_says_how_to_build_it(web: httpx.Client, dist: Path) -> None:
    (dist / "index.html").unlink()
    r = web.get("/console/")
    assert r.status_code == 503 and "npm run build" in r.text
