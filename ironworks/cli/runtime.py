"""What every command shares: `--url` and `--json`, the client, and how a command ends.

A command never shows a traceback: `guard` turns client errors into one line on stderr and
exit code 1, bad arguments into exit code 2, Ctrl-C into 130. Commands acting on several
nodes go on after a failure (`Batch`, `each`) and exit 1 at the end if any failed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, NoReturn, ParamSpec, TypeVar

import typer

from ironworks.cli.i18n import _
from ironworks.cli.output import emit_json, say
from ironworks.client import DEFAULT_URL, BaremetalClient, ClientError, credentials
from ironworks.client.cloud import CloudClient

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 3
EXIT_INTERRUPTED = 130

UrlOpt = Annotated[
    str,
    typer.Option(
        "--url",
        envvar="IRONWORKS_URL",
        show_envvar=True,
        metavar="URL",
        help=_("Base URL of the Ironworks API."),
    ),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help=_("Print JSON for scripts instead of tables."))
]

P = ParamSpec("P")
R = TypeVar("R")

__all__ = ["DEFAULT_URL", "JsonOpt", "UrlOpt"]


class UsageProblem(Exception):
    """The command line asks for something impossible; exit code 2."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def report(message: str) -> None:
    """One line on stderr, prefixed the way every Ironworks error is."""
    typer.echo(f"ironworks: {message}", err=True)


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    report(message)
    raise typer.Exit(code)


def connect(url: str) -> BaremetalClient:
    """A client with the token `ironworks login` saved for this URL (or IRONWORKS_TOKEN)."""
    return BaremetalClient(url, token=credentials.token_for(url))


def cloud(url: str) -> CloudClient:
    """A client of Ironworks' own `/api/v1` (flavors, hosts, images, ...) with the kept token."""
    return CloudClient(url, token=credentials.token_for(url))


def guard(fn: Callable[P, R]) -> Callable[P, R]:
    """Run a command body; end failures with a clean message and exit code, never a traceback."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except ClientError as e:
            if getattr(e, "status", None) == 401:
                fail(
                    _("{error} (run `ironworks login`, or set IRONWORKS_TOKEN)").format(
                        error=e.message
                    )
                )
            fail(e.message)
        except UsageProblem as e:
            fail(e.message, EXIT_USAGE)
        except KeyboardInterrupt:
            fail(_("interrupted"), EXIT_INTERRUPTED)
        except BrokenPipeError:  # `| head` stopped reading: nothing left to say
            raise typer.Exit(EXIT_FAILED) from None
        except OSError as e:  # a file named on the command line
            where = f"{e.filename}: " if e.filename else ""
            fail(f"{where}{e.strerror or e}")
        except Exception as e:
            if type(e).__module__.startswith("typer"):
                raise  # typer's own exits and usage errors end the command their way
            fail(
                _("unexpected error ({kind}): {error}; please report it").format(
                    kind=type(e).__name__, error=e
                )
            )

    return run


class Batch:
    """One call per identifier; a failure is reported and the others still run."""

    def __init__(self, idents: list[str]) -> None:
        self.idents = idents
        self.failed: list[str] = []

    def run(self, ident: str, call: Callable[[], None]) -> bool:
        try:
            call()
        except ClientError as e:
            self.failed.append(ident)
            if len(self.idents) > 1:
                report(_("{ident}: {error}").format(ident=ident, error=e.message))
            else:
                report(e.message)
            return False
        return True

    def finish(self) -> None:
        if self.failed:
            raise typer.Exit(EXIT_FAILED)


def each(
    idents: list[str],
    url: str,
    call: Callable[[BaremetalClient, str], object],
    done: Callable[[str], str],
    *,
    as_json: bool,
    key: str = "done",
) -> None:
    """`call` for each identifier and, for each that went well, the sentence `done` makes of
    it; with `--json`, one object instead: those that went well under `key`, and `failed`."""
    batch = Batch(idents)
    ok: list[str] = []
    with connect(url) as client:
        for ident in idents:

            def one(ident: str = ident) -> None:
                call(client, ident)
                ok.append(ident)
                if not as_json:
                    say(done(ident))

            batch.run(ident, one)
    if as_json:
        emit_json({key: ok, "failed": batch.failed})
    batch.finish()
