"""`ironworks alarm ...`: alarms (failing sensors, hardware events, unreachable BMCs, failed or
stuck nodes); list them, acknowledge them, and a node's or host's sensors."""

from __future__ import annotations

from typing import Annotated

import typer

from ironworks.cli.groups import alarm_app
from ironworks.cli.i18n import _
from ironworks.cli.output import say, show_list
from ironworks.cli.runtime import DEFAULT_URL, JsonOpt, UrlOpt, cloud, guard

ALARM_FIELDS = ("uuid", "severity", "state", "node_name", "host_name", "summary", "fired_at")
SENSOR_FIELDS = ("name", "kind", "value", "unit", "status")


@alarm_app.command("list")
@guard
def alarm_list(
    state: Annotated[
        list[str] | None,
        typer.Option("--state", help=_("open (default), firing, acknowledged or resolved")),
    ] = None,
    severity: Annotated[str | None, typer.Option("--severity", help="warning|critical")] = None,
    node: Annotated[str | None, typer.Option("--node", help=_("node name or uuid"))] = None,
    host: Annotated[str | None, typer.Option("--host", help=_("host name or uuid"))] = None,
    show_all: Annotated[bool, typer.Option("--all", help=_("resolved ones too"))] = False,
    limit: Annotated[int, typer.Option("--limit")] = 100,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Alarms, newest first; the open ones unless --state or --all says otherwise."""
    states = state or ([] if show_all else ["open"])
    with cloud(url) as c:
        rows = c.alarms(limit=limit, state=states or None, severity=severity, node=node, host=host)
    show_list(rows, ALARM_FIELDS, as_json)


@alarm_app.command("ack")
@guard
def alarm_ack(
    uuids: Annotated[list[str], typer.Argument(help=_("alarm uuid(s)"))],
    url: UrlOpt = DEFAULT_URL,
) -> None:
    """Acknowledge alarms: someone is on it (they resolve by themselves when the cause clears)."""
    with cloud(url) as c:
        for uuid in uuids:
            alarm = c.acknowledge_alarm(uuid)
            say(_("alarm {uuid} {state}").format(uuid=uuid, state=alarm["state"]))


@alarm_app.command("sensors")
@guard
def alarm_sensors(
    ident: Annotated[str, typer.Argument(help=_("node (or with --host, host) name or uuid"))],
    host: Annotated[bool, typer.Option("--host", help=_("IDENT names a host"))] = False,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """A node's last sensor readings (from the conductors' sensor cycle)."""
    with cloud(url) as c:
        data = c.sensors("hosts" if host else "nodes", ident)
    show_list(data["readings"], SENSOR_FIELDS, as_json)
