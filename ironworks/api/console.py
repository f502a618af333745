"""The web console: the built browser UI (`web/`, built into `ironworks/web_dist/`) at `/console/`.

The files are a Starlette mount, not API routes: the app-wide `check_access` dependency runs for
API routes only, so the console's HTML, scripts and styles are public without an entry in
`access.py` (they hold no data; every call the UI makes goes through the API and its token).
A path under `/console/` that is no file is the single-page app's own route (`/console/nodes`):
it gets `index.html`, and the UI's router draws the page.

`GET /` stays Ironic's version document for API clients (they discover versions there); a
browser asking for HTML (`Accept: text/html`) is sent to `/console/` instead.

Without a build (a source checkout before `npm run build`), `/console/` answers 503 with the
command that builds it; `./scripts/serve` builds it when it is missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

import ironworks

DIST = Path(ironworks.__file__).parent / "web_dist"
PREFIX = "/console"
_MISSING = (
    "the web console is not built: run `npm ci && npm run build` in web/ "
    "(./scripts/serve does it when the build is missing), then reload"
)


class ConsoleFiles(StaticFiles):
    """The build's files; any other path under the prefix is a route of the UI: index.html.
    Hashed assets are cached for a year, index.html never (it names the current assets)."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, html=True, check_dir=False)
        self.dist = directory

    async def get_response(self, path: str, scope: Any) -> Response:
        if not (self.dist / "index.html").is_file():
            return Response(_MISSING + "\n", status_code=503, media_type="text/plain")
        try:
            response = await super().get_response(path, scope)
        except HTTPException as e:
            if e.status_code != 404 or path.startswith("assets/"):
                raise
            response = await super().get_response("index.html", scope)
        if path.startswith("assets/") and response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        else:
            response.headers["Cache-Control"] = "no-cache"
        return response


class BrowserRootRedirect:
    """`GET /` with `Accept: text/html` (a browser): a redirect to the console. Every other
    request, API clients' version discovery included, goes on unchanged."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/" and scope["method"] in ("GET", "HEAD"):
            accept = b""
            for name, value in scope["headers"]:
                if name == b"accept":
                    accept = value
            if b"text/html" in accept:
                await RedirectResponse(f"{PREFIX}/", status_code=302)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install(app: FastAPI, dist: Path | None = None) -> None:
    """Serve the console (the build in `dist`, default DIST) at /console/ and send browsers
    there from /."""
    app.mount(PREFIX, ConsoleFiles(dist or DIST), name="console")
    app.add_middleware(BrowserRootRedirect)
