"""The operator's commands over HTTP (see README.md); `register` adds them to `ironworks`."""

import typer

from ironworks.cli import (  # noqa: F401  (they add commands)
    actions,
    enrolment,
    identity,
    images,
    license,
    management,
    nodes,
    ports,
    session,
    tenancy,
)
from ironworks.cli.groups import node_app, port_app
from ironworks.cli.i18n import translate_docstrings


def register(app: typer.Typer) -> None:
    session.register(app)
    tenancy.register(app)
    identity.register(app)
    images.register(app)
    app.add_typer(license.license_app, name="license")
    app.add_typer(node_app, name="node")
    app.add_typer(port_app, name="port")
    translate_docstrings(app)


__all__ = ["register"]
