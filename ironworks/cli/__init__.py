"""The operator's commands over HTTP (see README.md); `register` adds them to `ironworks`."""

import typer

from ironworks.cli import (  # noqa: F401  (they add commands)
    actions,
    audit,
    enrolment,
    flavors,
    groups,
    hosts,
    images,
    license,
    management,
    nodes,
    ports,
    session,
    tenancy,
)
from ironworks.cli.i18n import translate_docstrings


def register(app: typer.Typer) -> None:
    session.register(app)
    for name, group in (
        ("flavor", groups.flavor_app),
        ("host", groups.host_app),
        ("audit", groups.audit_app),
        ("department", groups.department_app),
        ("project", groups.project_app),
        ("user", groups.user_app),
        ("image", groups.image_app),
        ("license", groups.license_app),
        ("node", groups.node_app),
        ("port", groups.port_app),
    ):
        app.add_typer(group, name=name)
    translate_docstrings(app)


__all__ = ["register"]
