"""What the node and port commands do alike: show, create, set/unset and delete one kind of
API object. A `Resource` names the client's calls for the kind and the sentences that confirm
a change; the commands build the request (a body, a JSON patch: see `patches`) and hand it
here, so reading `--fields`, refusing an empty change and deleting several at once are written
once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from ironworks.cli import output
from ironworks.cli.i18n import _
from ironworks.cli.output import emit_json, plain, say
from ironworks.cli.runtime import UsageProblem, connect, each
from ironworks.client import BaremetalClient, PatchOp

Object = dict[str, Any]

FieldsOpt = Annotated[
    str | None,
    typer.Option("--fields", metavar="A,B", help=_("Show only these fields (comma-separated).")),
]


@dataclass(frozen=True)
class Resource:
    """One kind of API object as the commands reach it."""

    noun: str  # "node": also the placeholder in the sentences ("Updated node {node}.")
    get: Callable[[BaremetalClient, str, Sequence[str] | None], Object]
    create: Callable[[BaremetalClient, Object], Object]
    update: Callable[[BaremetalClient, str, Iterable[PatchOp]], Object]
    delete: Callable[[BaremetalClient, str], None]
    updated: str
    deleted: str

    def sentence(self, template: str, ident: str) -> str:
        return template.format(**{self.noun: ident})


def split_fields(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    fields = [f.strip() for f in raw.split(",") if f.strip()]
    if not fields:
        raise UsageProblem(_("--fields needs at least one field name"))
    return fields


def given(values: Object) -> Object:
    """The options given: one left out is None, a KEY=VALUE option left out is {}."""
    return {k: v for k, v in values.items() if v is not None and v != {}}


def show(kind: Resource, ident: str, fields: str | None, url: str, as_json: bool) -> None:
    with connect(url) as client:
        output.show(kind.get(client, ident, split_fields(fields)), as_json)


def create(kind: Resource, body: Object, url: str, as_json: bool) -> None:
    with connect(url) as client:
        output.show(kind.create(client, body), as_json)


def update(kind: Resource, ident: str, ops: list[PatchOp], url: str, as_json: bool) -> None:
    if not ops:
        raise UsageProblem(_("nothing to change: give at least one option (see --help)"))
    with connect(url) as client:
        updated = kind.update(client, ident, ops)
    if as_json:
        emit_json(plain(updated))
    else:
        say(kind.sentence(kind.updated, ident))


def delete(kind: Resource, idents: list[str], url: str, as_json: bool) -> None:
    each(
        idents,
        url,
        kind.delete,
        lambda ident: kind.sentence(kind.deleted, ident),
        as_json=as_json,
        key="deleted",
    )
