"""Provision verbs in the CLI's words, read from the state table.

The table speaks Ironic's old verbs `active` and `deleted`; the CLI (like the API since 1.73)
says `deploy` and `undeploy`. Everything else is the table's own name.
"""

from __future__ import annotations

from ironworks.domain import states

TABLE_TO_CLI = {table: cli for cli, table in states.VERB_ALIASES.items()}


def cli_verb(verb: str) -> str:
    return TABLE_TO_CLI.get(verb, verb)


def allowed(state: str) -> list[str]:
    """Verbs the CLI offers for a node in `state`, sorted."""
    return sorted(cli_verb(v) for v in states.allowed_verbs(state))


def accepts(state: str, verb: str) -> bool:
    return states.next_state(state, states.canonical_verb(verb)) is not None


def after(state: str, verb: str) -> str | None:
    """The state a node in `state` is in right after the API accepted `verb`."""
    return states.next_state(state, states.canonical_verb(verb))
