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
    power_goal,
    provision_goal,
)

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
    "on": "power on",
    "off": "power off",
    "reboot": "rebooting",
    "soft-off": "soft power off",
    "soft-reboot": "soft rebooting",
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
    goal = power_goal(target)
    batch = Batch(nodes)
    watches: list[progress.Watch] = []
    with connect(url) as client:
        for ident in nodes:

            def issue(ident: str = ident) -> None:
                node = client.get_node(ident, POLL_FIELDS)
                client.set_power_state(ident, target, timeout=power_timeout)
                watches.append(
                    progress.Watch(
                        ident, node["uuid"], target, lambda n: judge_power(n, goal), node
                    )
                )

            batch.run(ident, issue)
        _follow(
            client, watches, batch, wait=wait or timeout is not None, timeout=timeout,
            cols=progress.POWER, as_json=as_json,
            accepted=lambda w: _("Requested {action} for node {node}.").format(
                action=w.action, node=w.ident
            ),
        )  # fmt: skip


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
    batch = Batch(nodes)
    watches: list[progress.Watch] = []
    with connect(url) as client:
        for ident in nodes:

            def issue(ident: str = ident) -> None:
                node = client.get_node(ident, POLL_FIELDS)
                state = node["provision_state"]
                if not verbs.accepts(state, verb):
                    allowed = ", ".join(verbs.allowed(state)) or _("none until it settles")
                    raise Refused(
                        _(
                            'cannot {verb} node {node}: it is in state "{state}", which allows: '
                            "{allowed}"
                        ).format(verb=verb, node=ident, state=state, allowed=allowed)
                    )
                client.set_provision_state(ident, verb, **extras)
                goal = provision_goal(verb, state)
                node = {**node, "provision_state": verbs.after(state, verb)}
                watches.append(
                    progress.Watch(
                        ident, node["uuid"], verb, lambda n: judge_provision(n, goal), node
                    )
                )

            batch.run(ident, issue)

        def accepted(w: progress.Watch) -> str:
            return _('Requested {verb} for node {node}: it is now "{state}".').format(
                verb=w.action, node=w.ident, state=w.node["provision_state"]
            )

        _follow(
            client, watches, batch, wait=wait or timeout is not None, timeout=timeout,
            cols=progress.PROVISION, as_json=as_json, accepted=accepted,
        )  # fmt: skip


def _follow(
    client: BaremetalClient,
    watches: list[progress.Watch],
    batch: Batch,
    *,
    wait: bool,
    timeout: float | None,
    cols: progress.Columns,
    as_json: bool,
    accepted: Callable[[progress.Watch], str],
) -> None:
    """After the requests: wait for the accepted ones, or say they were accepted."""
    code = 0
    if wait and watches:
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


def _verb_command(verb: str, help_text: str) -> None:
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


_verb_command("manage", _("Check BMC access and make nodes manageable (or recover a failure)."))
_verb_command("provide", _("Clean manageable nodes and make them available for deploys."))
_verb_command("inspect", _("Discover the hardware of manageable nodes."))
_verb_command("undeploy", _("Tear down the OS of active nodes, clean them, make them available."))
_verb_command("abort", _("Abort what nodes wait for (inspection, cleaning, deploy callback)."))
_verb_command("adopt", _("Take manageable nodes that already run their OS as active."))
_verb_command("unrescue", _("Leave rescue mode and boot the deployed OS again."))

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


@node_app.command("deploy", help=_("Deploy the image in instance_info onto available nodes."))
@guard
def deploy(
    nodes: NodesArg,
    configdrive: ConfigdriveOpt = None,
    wait: WaitOpt = False,
    timeout: TimeoutOpt = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    drive = read_configdrive(configdrive) if configdrive is not None else None
    provision(
        "deploy", nodes, wait=wait, timeout=timeout, url=url, as_json=as_json, configdrive=drive
    )


@node_app.command("rebuild", help=_("Deploy active nodes again (the image in instance_info)."))
@guard
def rebuild(
    nodes: NodesArg,
    configdrive: ConfigdriveOpt = None,
    wait: WaitOpt = False,
    timeout: TimeoutOpt = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    drive = read_configdrive(configdrive) if configdrive is not None else None
    provision(
        "rebuild", nodes, wait=wait, timeout=timeout, url=url, as_json=as_json, configdrive=drive
    )


@node_app.command(
    "clean", help=_("Run manual cleaning steps on manageable nodes; they return to manageable.")
)
@guard
def clean(
    nodes: NodesArg,
    clean_steps: Annotated[
        str,
        typer.Option(
            "--clean-steps",
            metavar="JSON",
            help=_(
                'Steps as JSON, a file, or "-" for stdin: '
                '[{"interface": "deploy", "step": "erase_devices_metadata"}].'
            ),
        ),
    ],
    wait: WaitOpt = False,
    timeout: TimeoutOpt = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    steps = read_json_arg(clean_steps, "--clean-steps")
    provision(
        "clean", nodes, wait=wait, timeout=timeout, url=url, as_json=as_json, clean_steps=steps
    )


@node_app.command("rescue", help=_("Boot active nodes into the rescue ramdisk."))
@guard
def rescue(
    nodes: NodesArg,
    rescue_password: Annotated[
        str, typer.Option("--rescue-password", help=_("Password of the rescue ramdisk's user."))
    ],
    wait: WaitOpt = False,
    timeout: TimeoutOpt = None,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    provision(
        "rescue",
        nodes,
        wait=wait,
        timeout=timeout,
        url=url,
        as_json=as_json,
        rescue_password=rescue_password,
    )
