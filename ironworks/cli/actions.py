"""`ironworks node power ...` and the provision verbs (`node manage | provide | deploy | ...`).

A verb is checked against the state table before it is sent (the answer names the node's
state and what it allows there), sent to each node, and, with `--wait`, followed until every
node reaches the state the verb aims at (see `client.watch`). The server stays the authority:
it checks again and its refusal is shown as it says it.
"""

from collections.abc import Callable
from typing import Annotated, Any

import typer

from ironworks.cli import progress, verbs
from ironworks.cli.arguments import read_configdrive, read_json_arg
from ironworks.cli.groups import node_app, power_app
from ironworks.cli.i18n import _
from ironworks.cli.nodes import NodesArg
from ironworks.cli.output import emit_json, say
from ironworks.cli.runtime import (
    DEFAULT_URL,
    EXIT_FAILED,
    Batch,
    JsonOpt,
    UrlOpt,
    connect,
    guard,
)
from ironworks.client import BaremetalClient, ClientError, PowerTarget
from ironworks.client.watch import (
    POLL_FIELDS,
    judge_power,
    judge_provision,
    provision_goal,
)
from ironworks.domain.power import POWER_OFF, POWER_ON, REBOOT, SOFT_POWER_OFF, SOFT_REBOOT, goal_of

WaitOpt = Annotated[
    bool, typer.Option("--wait", help=_("Wait until the nodes are done, showing progress."))
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        min=0.1,
        metavar="SECONDS",
        help=_("Give up waiting after this; implies --wait."),
    ),
]


class Refused(ClientError):
    """The state table says no; nothing was sent."""


# --- power ---------------------------------------------------------------------------------------

POWER_VERBS: dict[str, PowerTarget] = {
    "on": POWER_ON,
    "off": POWER_OFF,
    "reboot": REBOOT,
    "soft-off": SOFT_POWER_OFF,
    "soft-reboot": SOFT_REBOOT,
}
POWER_HELP = {
    "on": _("Power nodes on."),
    "off": _("Power nodes off (hard)."),
    "reboot": _("Reboot nodes (hard)."),
    "soft-off": _("Ask the OS to shut down (ACPI), then off."),
    "soft-reboot": _("Ask the OS to reboot (ACPI)."),
}
PowerTimeoutOpt = Annotated[
    int | None,
    typer.Option(
        "--power-timeout",
        min=1,
        metavar="SECONDS",
        help=_("How long the conductor gives the BMC to get there."),
    ),
]


def power(
    word: str,
    nodes: list[str],
    *,
    wait: bool,
    timeout: float | None,
    power_timeout: int | None,
    url: str,
    as_json: bool,
) -> None:
    target = POWER_VERBS[word]
    goal = goal_of(target)

    def issue(client: BaremetalClient, ident: str) -> progress.Watch:
        node = client.get_node(ident, POLL_FIELDS)
        client.set_power_state(ident, target, timeout=power_timeout)
        return progress.Watch(ident, node["uuid"], target, lambda n: judge_power(n, goal), node)

    def accepted(w: progress.Watch) -> str:
        return _("Requested {action} for node {node}.").format(action=w.action, node=w.ident)

    _request(
        nodes,
        issue,
        accepted,
        wait=wait,
        timeout=timeout,
        url=url,
        as_json=as_json,
        cols=progress.POWER,
    )


def _power_command(word: str) -> None:
    @power_app.command(word, help=POWER_HELP[word])
    @guard
    def command(
        nodes: NodesArg,
        wait: WaitOpt = False,
        timeout: TimeoutOpt = None,
        power_timeout: PowerTimeoutOpt = None,
        url: UrlOpt = DEFAULT_URL,
        as_json: JsonOpt = False,
    ) -> None:
        power(
            word,
            nodes,
            wait=wait,
            timeout=timeout,
            power_timeout=power_timeout,
            url=url,
            as_json=as_json,
        )


for _word in POWER_VERBS:
    _power_command(_word)


# --- provisioning --------------------------------------------------------------------------------


def provision(
    verb: str,
    nodes: list[str],
    *,
    wait: bool,
    timeout: float | None,
    url: str,
    as_json: bool,
    **extras: Any,
) -> None:

    def issue(client: BaremetalClient, ident: str) -> progress.Watch:
        node = client.get_node(ident, POLL_FIELDS)
        state = node["provision_state"]
        if not verbs.accepts(state, verb):
            allowed = ", ".join(verbs.allowed(state)) or _("none until it settles")
            raise Refused(
                _(
                    'cannot {verb} node {node}: it is in state "{state}", which allows: {allowed}'
                ).format(verb=verb, node=ident, state=state, allowed=allowed)
            )
        client.set_provision_state(ident, verb, **extras)
        goal = provision_goal(verb, state)
        node = {**node, "provision_state": verbs.after(state, verb)}
        return progress.Watch(ident, node["uuid"], verb, lambda n: judge_provision(n, goal), node)

    def accepted(w: progress.Watch) -> str:
        return _('Requested {verb} for node {node}: it is now "{state}".').format(
            verb=w.action, node=w.ident, state=w.node["provision_state"]
        )

    _request(
        nodes,
        issue,
        accepted,
        wait=wait,
        timeout=timeout,
        url=url,
        as_json=as_json,
        cols=progress.PROVISION,
    )


def _request(
    nodes: list[str],
    issue: Callable[[BaremetalClient, str], progress.Watch],
    accepted: Callable[[progress.Watch], str],
    *,
    wait: bool,
    timeout: float | None,
    url: str,
    as_json: bool,
    cols: progress.Columns,
) -> None:
    """Issue the request to each node (one refused does not stop the others); then wait for
    the accepted ones (`--wait`, or a `--timeout`), or say they were accepted."""
    batch = Batch(nodes)
    watches: list[progress.Watch] = []
    with connect(url) as client:
        for ident in nodes:
            batch.run(ident, lambda ident=ident: watches.append(issue(client, ident)))
        code = 0
        if (wait or timeout is not None) and watches:
            code = progress.wait(client, watches, timeout=timeout, cols=cols, as_json=as_json)
        elif as_json:
            emit_json(
                [
                    {
                        "node": w.ident,
                        "uuid": w.uuid,
                        "action": w.action,
                        "accepted": True,
                        cols.state: w.node.get(cols.state),
                    }
                    for w in watches
                ]
            )
        else:
            for w in watches:
                say(accepted(w))
        if batch.failed:  # refused requests count even when the others went well
            code = EXIT_FAILED
        if code:
            raise typer.Exit(code)


# One command per provision verb, made from `PROVISION_HELP` below. A verb that sends more than
# itself takes one option more; each such option has its maker here.

ConfigdriveOpt = Annotated[
    str | None,
    typer.Option(
        "--configdrive",
        metavar="FILE_OR_STRING",
        help=_(
            "JSON (meta_data, user_data, network_data), a base64 gzipped ISO, or a URL; "
            "inline or in a file."
        ),
    ),
]
CleanStepsOpt = Annotated[
    str,
    typer.Option(
        "--clean-steps",
        metavar="JSON",
        help=_(
            'Steps as JSON, a file, or "-" for stdin: '
            '[{"interface": "deploy", "step": "erase_devices_metadata"}].'
        ),
    ),
]
RescuePasswordOpt = Annotated[
    str, typer.Option("--rescue-password", help=_("Password of the rescue ramdisk's user."))
]


def _plain_command(verb: str, help_text: str) -> None:
    @node_app.command(verb, help=help_text)
    @guard
    def command(
        nodes: NodesArg,
        wait: WaitOpt = False,
        timeout: TimeoutOpt = None,
        url: UrlOpt = DEFAULT_URL,
        as_json: JsonOpt = False,
    ) -> None:
        provision(verb, nodes, wait=wait, timeout=timeout, url=url, as_json=as_json)


def _configdrive_command(verb: str, help_text: str) -> None:
    @node_app.command(verb, help=help_text)
    @guard
    def command(
        nodes: NodesArg,
        configdrive: ConfigdriveOpt = None,
        wait: WaitOpt = False,
        timeout: TimeoutOpt = None,
        url: UrlOpt = DEFAULT_URL,
        as_json: JsonOpt = False,
    ) -> None:
        drive = read_configdrive(configdrive) if configdrive is not None else None
        provision(
            verb, nodes, wait=wait, timeout=timeout, url=url, as_json=as_json, configdrive=drive
        )


def _clean_steps_command(verb: str, help_text: str) -> None:
    @node_app.command(verb, help=help_text)
    @guard
    def command(
        nodes: NodesArg,
        clean_steps: CleanStepsOpt,
        wait: WaitOpt = False,
        timeout: TimeoutOpt = None,
        url: UrlOpt = DEFAULT_URL,
        as_json: JsonOpt = False,
    ) -> None:
        steps = read_json_arg(clean_steps, "--clean-steps")
        provision(
            verb, nodes, wait=wait, timeout=timeout, url=url, as_json=as_json, clean_steps=steps
        )


def _rescue_password_command(verb: str, help_text: str) -> None:
    @node_app.command(verb, help=help_text)
    @guard
    def command(
        nodes: NodesArg,
        rescue_password: RescuePasswordOpt,
        wait: WaitOpt = False,
        timeout: TimeoutOpt = None,
        url: UrlOpt = DEFAULT_URL,
        as_json: JsonOpt = False,
    ) -> None:
        provision(
            verb,
            nodes,
            wait=wait,
            timeout=timeout,
            url=url,
            as_json=as_json,
            rescue_password=rescue_password,
        )


# The provision verbs as commands, in the order `ironworks node --help` lists them. Where each
# applies is the state table's business (`verbs`), checked when the command runs.
PROVISION_HELP = {
    "manage": _("Check BMC access and make nodes manageable (or recover a failure)."),
    "provide": _("Clean manageable nodes and make them available for deploys."),
    "inspect": _("Discover the hardware of manageable nodes."),
    "undeploy": _("Tear down the OS of active nodes, clean them, make them available."),
    "abort": _("Abort what nodes wait for (inspection, cleaning, deploy callback)."),
    "adopt": _("Take manageable nodes that already run their OS as active."),
    "unrescue": _("Leave rescue mode and boot the deployed OS again."),
    "deploy": _("Deploy the image in instance_info onto available nodes."),
    "rebuild": _("Deploy active nodes again (the image in instance_info)."),
    "clean": _("Run manual cleaning steps on manageable nodes; they return to manageable."),
    "rescue": _("Boot active nodes into the rescue ramdisk."),
}
# Verbs that send more than themselves, by the maker of their command (the option it adds).
PAYLOAD_COMMANDS: dict[str, Callable[[str, str], None]] = {
    "deploy": _configdrive_command,
    "rebuild": _configdrive_command,
    "clean": _clean_steps_command,
    "rescue": _rescue_password_command,
}

for _verb, _help in PROVISION_HELP.items():
    PAYLOAD_COMMANDS.get(_verb, _plain_command)(_verb, _help)
