"""`ironworks login`, `logout`, `whoami`: the token the other commands send."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ironworks.cli.i18n import _
from ironworks.cli.output import emit_json, say
from ironworks.cli.runtime import DEFAULT_URL, JsonOpt, UrlOpt, connect, guard
from ironworks.client import BaremetalClient, credentials


def register(app: typer.Typer) -> None:
    @app.command("login")
    @guard
    def login(
        url: UrlOpt = DEFAULT_URL,
        user: Annotated[
            str, typer.Option("--user", "-u", envvar="IRONWORKS_USER", help=_("User name."))
        ] = "admin",
        password_stdin: Annotated[
            bool, typer.Option("--password-stdin", help=_("Read the password from stdin."))
        ] = False,
        print_token: Annotated[
            bool,
            typer.Option("--print-token", help=_("Also print the token on stdout (for OS_TOKEN).")),
        ] = False,
    ) -> None:
        """Log in; the token is kept for this URL (mode 0600) and sent by every other command."""
        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = typer.prompt(_("Password for {user}").format(user=user), hide_input=True)
        with BaremetalClient(url) as client:
            out = client.log_in(user, password)
        path = credentials.save(url, out["token"], user, out.get("expires_at"))
        if print_token:
            typer.echo(out["token"])
            return
        if out.get("expires_at"):
            done = _("logged in to {url} as {user}; token kept in {path} until {expires}")
        else:
            done = _("logged in to {url} as {user}; token kept in {path} until it is revoked")
        say(done.format(url=url, user=user, path=path, expires=out.get("expires_at")))

    @app.command("logout")
    @guard
    def logout(url: UrlOpt = DEFAULT_URL) -> None:
        """Revoke the kept token for this URL and forget it."""
        if credentials.token_for(url) is None:
            say(_("not logged in to {url}").format(url=url))
            return
        with connect(url) as client:
            client.log_out()
        credentials.forget(url)
        say(_("logged out of {url}").format(url=url))

    @app.command("whoami")
    @guard
    def whoami(url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False) -> None:
        """The user of the kept token, their roles and projects."""
        with connect(url) as client:
            me = client.whoami()
        if as_json:
            emit_json(me)
            return
        say(
            _("{name} (roles: {roles})").format(
                name=me["name"], roles=", ".join(me["roles"]) or "-"
            )
        )
