"""Inspection rules (Ironic's `/v1/inspection_rules`, API 1.96): conditions checked against what
an inspection found, and actions run on the node when they all hold.

A rule is `{uuid, description, priority, phase, sensitive, conditions, actions}`. A condition
is `{op, args, loop, multiple, invert}`, an action `{op, args, loop}`; `args` is an object of
named arguments (a list of positional ones is accepted and named here, as Ironic still does).
An op prefixed with `!` (or a condition with `invert: true`) is negated.

Strings in `args` (and `loop`) are formatted with Python's replacement-field syntax over
`node` (dot access: `{node.name}`), `inventory` and `plugin_data` (brackets:
`{inventory[cpu][model_name]}`) and, in a loop, `item`. A string that is exactly one field
keeps the value's type (`{inventory[memory][physical_mb]}` stays a number, a list stays a
list); a field that does not resolve leaves the string as written, as Ironic does. Only names
without a leading underscore and plain keys are followed: a rule cannot reach Python
internals through `{node.__class__}`.

`apply` runs the rules of a phase in priority order (higher first) on copies and returns what
changed; the conductor writes it in the commit that ends the inspection. A `fail` action (or a
rule that cannot run) raises `RuleFailed` and the inspection fails with its message.

Pure: no I/O, so the API's validation and the conductor's evaluation share one reading.
"""

from __future__ import annotations

import copy
import ipaddress
import itertools
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ironworks.common.errors import InvalidInput
from ironworks.domain import capabilities
from ironworks.domain import traits as trait_rules

PHASES: Final = ("main",)
PRIORITY_MIN: Final = 0
PRIORITY_MAX: Final = 9999
DESCRIPTION_MAX: Final = 255
MULTIPLE: Final = ("any", "all", "first", "last")
LOG_LEVELS: Final = ("debug", "info", "warning", "error")
FIELDS: Final = frozenset(
    {"uuid", "description", "priority", "phase", "sensitive", "conditions", "actions"}
)
# The fields PATCH may change (uuid and the timestamps are the server's).
PATCHABLE: Final = FIELDS - {"uuid"}

# Each op's arguments in positional order, and how many of them are required (the first n).
CONDITIONS: Final[dict[str, tuple[tuple[str, ...], int]]] = {
    "eq": (("values", "force_strings"), 1),
    "lt": (("values", "force_strings"), 1),
    "gt": (("values", "force_strings"), 1),
    "is-empty": (("value",), 1),
    "in-net": (("address", "subnet"), 2),
    "matches": (("value", "regex"), 2),
    "contains": (("value", "regex"), 2),
    "one-of": (("value", "values"), 2),
    "is-none": (("value",), 1),
    "is-true": (("value",), 1),
    "is-false": (("value",), 1),
}
ACTIONS: Final[dict[str, tuple[tuple[str, ...], int]]] = {
    "fail": (("msg",), 1),
    "log": (("msg", "level"), 1),
    "set-attribute": (("path", "value"), 2),
    "extend-attribute": (("path", "value", "unique"), 2),
    "del-attribute": (("path",), 1),
    "set-capability": (("name", "value"), 2),
    "unset-capability": (("name",), 1),
    "add-trait": (("name",), 1),
    "remove-trait": (("name",), 1),
    "set-plugin-data": (("path", "value"), 2),
    "extend-plugin-data": (("path", "value", "unique"), 2),
    "unset-plugin-data": (("path",), 1),
}
# Ironic's ops that Ironworks does not run: refused by name when a rule is written.
UNSUPPORTED: Final = frozenset(
    {"set-port-attribute", "extend-port-attribute", "del-port-attribute", "api-call"}
)
# The node fields an action may change. driver, driver_info and the interfaces are left out:
# they need the API's sealing of secrets and its interface checks.
NODE_FIELDS: Final[dict[str, type | tuple[type, ...]]] = {
    "properties": dict,
    "extra": dict,
    "instance_info": dict,
    "network_data": dict,
    "resource_class": (str, type(None)),
    "description": (str, type(None)),
    "owner": (str, type(None)),
    "lessee": (str, type(None)),
    "retired_reason": (str, type(None)),
    "retired": bool,
    "automated_clean": (bool, type(None)),
}
MASK: Final = "******"
_BOOLS: Final = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


class RuleFailed(Exception):
    """A rule failed the inspection: a `fail` action, or an action that cannot run."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- validation ---------------------------------------------------------------------------------


def _bad(message: str, where: str) -> InvalidInput:
    """400 naming the field; inside a condition or an action, the message says which."""
    return InvalidInput(f"{where}: {message}" if "[" in where else message, field=where)


def _named_args(
    op: str, raw: Any, table: Mapping[str, tuple[tuple[str, ...], int]], where: str
) -> dict[str, Any]:
    """`args` as a dict of named arguments, checked against the op's signature."""
    names, required = table[op]
    if raw is None:
        raw = {}
    if isinstance(raw, list):
        if op in ("eq", "lt", "gt"):  # the old form eq(*values): the list is the values
            raw = {"values": raw}
        else:
            if len(raw) > len(names):
                raise _bad(f"{op} takes at most {len(names)} arguments", f"{where}.args")
            raw = dict(zip(names, raw, strict=False))
    if not isinstance(raw, dict):
        raise _bad(f"args of {op} must be an object (or a list)", f"{where}.args")
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise _bad(f"{op} does not take the argument {unknown[0]!r}", f"{where}.args")
    missing = [n for n in names[:required] if n not in raw]
    if missing:
        raise _bad(f"{op} needs the argument {missing[0]!r}", f"{where}.args")
    return raw


def _literal(value: Any) -> bool:
    """A value that holds no replacement field (checkable when the rule is written)."""
    return not (isinstance(value, str) and "{" in value)


def _split_op(raw: Any, where: str) -> tuple[str, bool]:
    if not isinstance(raw, str) or not raw.strip():
        raise _bad("op must be a non-empty string", f"{where}.op")
    op = raw.strip()
    if op.startswith("!"):
        return op[1:].strip(), True
    return op, False


def _check_loop(loop: Any, where: str) -> None:
    if loop is not None and not isinstance(loop, list | dict | str):
        raise _bad("loop must be a list, an object or a string", f"{where}.loop")


def check_condition(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _bad("a condition must be an object", where)
    unknown = sorted(set(raw) - {"op", "args", "loop", "multiple", "invert"})
    if unknown:
        raise _bad(f"unexpected key {unknown[0]!r} in a condition", f"{where}.{unknown[0]}")
    op, _bang = _split_op(raw.get("op"), where)
    if op not in CONDITIONS:
        raise _bad(
            f"unknown condition {op!r}; one of {', '.join(sorted(CONDITIONS))}", f"{where}.op"
        )
    args = _named_args(op, raw.get("args"), CONDITIONS, where)
    for key in ("values",):
        if key in args and _literal(args[key]) and not isinstance(args[key], list):
            raise _bad(f"{key} of {op} must be a list", f"{where}.args")
    if "regex" in args and _literal(args["regex"]):
        try:
            re.compile(str(args["regex"]))
        except re.error as e:
            raise _bad(
                f"invalid regular expression {args['regex']!r}: {e}", f"{where}.args"
            ) from None
    _check_loop(raw.get("loop"), where)
    multiple = raw.get("multiple")
    if multiple is not None and multiple not in MULTIPLE:
        raise _bad(f"multiple must be one of {', '.join(MULTIPLE)}", f"{where}.multiple")
    if raw.get("invert") is not None and not isinstance(raw["invert"], bool):
        raise _bad("invert must be a boolean", f"{where}.invert")
    out = {**raw, "op": raw["op"].strip(), "args": args}
    return out


def check_action(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _bad("an action must be an object", where)
    unknown = sorted(set(raw) - {"op", "args", "loop"})
    if unknown:
        raise _bad(f"unexpected key {unknown[0]!r} in an action", f"{where}.{unknown[0]}")
    op, bang = _split_op(raw.get("op"), where)
    if bang:
        raise _bad("an action cannot be inverted", f"{where}.op")
    if op in UNSUPPORTED:
        raise _bad(f"the action {op!r} is not supported by Ironworks", f"{where}.op")
    if op not in ACTIONS:
        raise _bad(f"unknown action {op!r}; one of {', '.join(sorted(ACTIONS))}", f"{where}.op")
    args = _named_args(op, raw.get("args"), ACTIONS, where)
    if op.endswith("-attribute") and _literal(args["path"]):
        try:
            _node_path(args["path"])
        except RuleFailed as e:
            raise _bad(e.message, f"{where}.args") from None
    name = args.get("name")
    if op in ("add-trait", "remove-trait") and _literal(name) and not trait_rules.is_valid(name):
        raise _bad(trait_rules.INVALID.format(trait=name), f"{where}.args")
    if op == "log" and args.get("level", "info") not in LOG_LEVELS:
        raise _bad(f"level must be one of {', '.join(LOG_LEVELS)}", f"{where}.args")
    _check_loop(raw.get("loop"), where)
    return {**raw, "op": op, "args": args}


def check_rule(body: Any) -> dict[str, Any]:
    """A whole rule (create, or the document after a PATCH), checked and with its defaults;
    400 naming the field otherwise."""
    if not isinstance(body, dict):
        raise _bad("the body must be a JSON object", "inspection_rule")
    unknown = sorted(set(body) - FIELDS - {"created_at", "updated_at", "links"})
    if unknown:
        raise _bad(
            f"Additional properties are not allowed ('{unknown[0]}' was unexpected)", unknown[0]
        )
    desc = body.get("description")
    if desc is not None and (not isinstance(desc, str) or len(desc) > DESCRIPTION_MAX):
        raise _bad(
            f"description must be a string of at most {DESCRIPTION_MAX} characters", "description"
        )
    priority = body.get("priority", 0)
    if priority is None:
        priority = 0
    if isinstance(priority, str) and re.fullmatch(r"\s*-?\d{1,6}\s*", priority):
        priority = int(priority)  # `baremetal inspection rule create --priority 50` sends "50"
    if (
        isinstance(priority, bool)
        or not isinstance(priority, int)
        or not PRIORITY_MIN <= priority <= PRIORITY_MAX
    ):
        raise _bad(f"priority must be an integer from {PRIORITY_MIN} to {PRIORITY_MAX}", "priority")
    phase = body.get("phase") or "main"
    if phase not in PHASES:
        raise _bad(f"phase must be one of {', '.join(PHASES)}", "phase")
    sensitive = body.get("sensitive", False)
    if sensitive is None:
        sensitive = False
    if isinstance(sensitive, str) and sensitive.strip().lower() in _BOOLS:
        sensitive = _BOOLS[sensitive.strip().lower()]  # the CLI sends "true"
    if not isinstance(sensitive, bool):
        raise _bad("sensitive must be a boolean", "sensitive")
    conditions = body.get("conditions")
    if conditions is None:
        conditions = []
    if not isinstance(conditions, list):
        raise _bad("conditions must be a list", "conditions")
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions:
        raise _bad("actions must be a non-empty list", "actions")
    return {
        "description": desc,
        "priority": priority,
        "phase": phase,
        "sensitive": sensitive,
        "conditions": [check_condition(c, f"conditions[{i}]") for i, c in enumerate(conditions)],
        "actions": [check_action(a, f"actions[{i}]") for i, a in enumerate(actions)],
    }


def masked(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A sensitive rule's conditions or actions as the API shows them: each argument's value
    hidden, the ops and their loops' shape kept."""
    return [
        {**it, "args": {k: MASK for k in it.get("args") or {}}}
        | ({"loop": MASK} if it.get("loop") is not None else {})
        for it in items
    ]


# --- interpolation ------------------------------------------------------------------------------

_FIELD = re.compile(r"([A-Za-z]\w*)((?:\.[A-Za-z]\w*|\[[^\]\[]*\])*)")
_STEP = re.compile(r"\.([A-Za-z]\w*)|\[([^\]\[]*)\]")
_MISSING = object()


class NodeView:
    """The node as replacement fields see it: `{node.name}`, `{node.properties[cpus]}`."""

    def __init__(self, fields: Mapping[str, Any]) -> None:
        self._fields = dict(fields)

    def get(self, name: str) -> Any:
        return self._fields.get(name, _MISSING)


def _resolve(name: str, env: Mapping[str, Any]) -> Any:
    m = _FIELD.fullmatch(name.strip())
    if m is None or m.group(1) not in env:
        return _MISSING
    value: Any = env[m.group(1)]
    for attr, key in _STEP.findall(m.group(2)):
        if attr:
            value = value.get(attr) if isinstance(value, NodeView) else _MISSING
        elif isinstance(value, Mapping):
            value = value.get(key, _MISSING)
        elif isinstance(value, list) and key.lstrip("-").isdigit():
            i = int(key)
            value = value[i] if -len(value) <= i < len(value) else _MISSING
        else:
            value = _MISSING
        if value is _MISSING:
            return _MISSING
    return value


def _format_string(text: str, env: Mapping[str, Any]) -> Any:
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError:
        return text
    fields = [p for p in parts if p[1] is not None]
    if not fields:
        return text.replace("{{", "{").replace("}}", "}")
    if len(parts) == 1 and parts[0][0] == "" and not parts[0][2] and not parts[0][3]:
        value = _resolve(parts[0][1] or "", env)  # exactly one field: keep the value's type
        return text if value is _MISSING or isinstance(value, NodeView) else value
    out = []
    for literal, name, spec, conversion in parts:
        out.append(literal)
        if name is None:
            continue
        value = _resolve(name, env)
        if value is _MISSING or isinstance(value, NodeView):
            return text
        if conversion == "r":
            value = repr(value)
        elif conversion in ("s", "a"):
            value = str(value) if conversion == "s" else ascii(value)
        try:
            out.append(format(value, spec or ""))
        except (ValueError, TypeError):
            return text
    return "".join(out)


def interpolate(value: Any, env: Mapping[str, Any]) -> Any:
    """`value` with the replacement fields of its strings filled from `env`, recursively."""
    if isinstance(value, str):
        return _format_string(value, env)
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    return value


# --- conditions ---------------------------------------------------------------------------------


def _ordered(values: list[Any], force: bool, cmp: Callable[[Any, Any], bool]) -> bool:
    vals = [str(v) for v in values] if force else values
    try:
        return all(cmp(a, b) for a, b in itertools.pairwise(vals))
    except TypeError:  # numbers against strings: not in order
        return False


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    return isinstance(value, str) and value.strip().lower() in ("yes", "true")


def _falsy(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return value is None or value is False
    if isinstance(value, int | float):
        return value == 0
    return isinstance(value, str) and value.strip().lower() in ("no", "false")


def _regex(args: Mapping[str, Any]) -> re.Pattern[str]:
    try:
        return re.compile(str(args["regex"]))
    except re.error as e:
        raise RuleFailed(f"invalid regular expression {args['regex']!r}: {e}") from None


def _in_net(address: Any, subnet: Any) -> bool:
    try:
        return ipaddress.ip_address(str(address)) in ipaddress.ip_network(str(subnet), strict=False)
    except ValueError:
        return False


def check(op: str, args: Mapping[str, Any]) -> bool:
    """One condition on arguments already interpolated."""
    if op in ("eq", "lt", "gt"):
        values = args["values"]
        if not isinstance(values, list):
            raise RuleFailed(f"values of {op} must be a list, not {values!r}")
        force = bool(args.get("force_strings"))
        cmp: Callable[[Any, Any], bool] = {
            "eq": lambda a, b: a == b,
            "lt": lambda a, b: a < b,
            "gt": lambda a, b: a > b,
        }[op]
        return _ordered(values, force, cmp)
    value = args.get("value")
    if op == "is-empty":
        return value is None or (isinstance(value, str | list | dict) and not value)
    if op == "is-none":
        return value is None
    if op == "is-true":
        return _truthy(value)
    if op == "is-false":
        return _falsy(value)
    if op == "matches":
        return value is not None and _regex(args).fullmatch(str(value)) is not None
    if op == "contains":
        return value is not None and _regex(args).search(str(value)) is not None
    if op == "one-of":
        values = args["values"]
        return isinstance(values, list) and value in values
    if op == "in-net":
        return _in_net(args["address"], args["subnet"])
    raise RuleFailed(f"unknown condition {op!r}")


def _items(loop: Any, env: Mapping[str, Any]) -> list[Any]:
    items = interpolate(loop, env)
    if isinstance(items, dict):
        return list(items.items())
    if not isinstance(items, list):
        raise RuleFailed(f"loop did not give a list: {items!r}")
    return items


def condition_holds(cond: Mapping[str, Any], env: Mapping[str, Any]) -> bool:
    op, bang = _split_op(cond["op"], "condition")
    invert = bang != bool(cond.get("invert"))
    loop = cond.get("loop")
    if loop is None:
        return check(op, interpolate(cond.get("args") or {}, env)) != invert
    results = []
    for item in _items(loop, env):
        results.append(check(op, interpolate(cond.get("args") or {}, {**env, "item": item})))
        if cond.get("multiple") == "first":
            break
    how = cond.get("multiple") or "any"
    if how == "all":
        held = all(results)
    elif how in ("first", "last"):
        held = bool(results) and results[0 if how == "first" else -1]
    else:
        held = any(results)
    return held != invert


# --- actions ------------------------------------------------------------------------------------


def _split_path(path: Any) -> list[str]:
    if not isinstance(path, str) or not path.strip("/. "):
        raise RuleFailed(f"invalid path {path!r}")
    text = path.strip().lstrip("/")
    return [p for p in (text.split("/") if "/" in text else text.split(".")) if p]


def _node_path(path: Any) -> list[str]:
    parts = _split_path(path)
    if parts[0] not in NODE_FIELDS:
        raise RuleFailed(
            f"an inspection rule cannot change the node's {parts[0]!r}; it may change "
            + ", ".join(sorted(NODE_FIELDS))
        )
    if len(parts) > 1 and NODE_FIELDS[parts[0]] is not dict:
        raise RuleFailed(f"{parts[0]} has no keys: {path!r}")
    return parts


def _parent(doc: dict[str, Any], parts: list[str], create: bool) -> dict[str, Any] | None:
    cur: Any = doc
    for p in parts[:-1]:
        nxt = cur.get(p) if isinstance(cur, dict) else None
        if not isinstance(nxt, dict):
            if not create:
                return None
            nxt = {}
            cur[p] = nxt
        cur = nxt
    return cur if isinstance(cur, dict) else None


def _set(doc: dict[str, Any], parts: list[str], value: Any) -> None:
    parent = _parent(doc, parts, create=True)
    assert parent is not None
    parent[parts[-1]] = value


def _extend(doc: dict[str, Any], parts: list[str], value: Any, unique: bool) -> None:
    parent = _parent(doc, parts, create=True)
    assert parent is not None
    current = parent.get(parts[-1])
    if current is None:
        current = []
    if not isinstance(current, list):
        raise RuleFailed(f"{'/'.join(parts)} is not a list")
    if not (unique and value in current):
        parent[parts[-1]] = [*current, value]


def _delete(doc: dict[str, Any], parts: list[str]) -> None:
    parent = _parent(doc, parts, create=False)
    if parent is not None:
        parent.pop(parts[-1], None)


@dataclass
class Outcome:
    """What the rules did: the node fields they changed (whole values), the node's traits if
    they changed, the plugin data, log lines (level, message) and the rules that matched."""

    node: dict[str, Any] = field(default_factory=dict)
    traits: list[str] | None = None
    plugin_data: dict[str, Any] = field(default_factory=dict)
    logs: list[tuple[str, str]] = field(default_factory=list)
    matched: list[str] = field(default_factory=list)


class _Work:
    """The node, its traits and the plugin data while the rules run."""

    def __init__(self, node: Mapping[str, Any], traits: list[str], plugin_data: dict[str, Any]):
        self.doc = {k: copy.deepcopy(node.get(k)) for k in NODE_FIELDS}
        for k, kind in NODE_FIELDS.items():
            if kind is dict and not isinstance(self.doc[k], dict):
                self.doc[k] = {}
        self.original = copy.deepcopy(self.doc)
        self.traits = list(traits)
        self.plugin_data = copy.deepcopy(plugin_data)
        self.node = node
        self.logs: list[tuple[str, str]] = []

    def view(self) -> NodeView:
        hidden = ("driver_info", "driver_internal_info", "reservation")  # secrets, tokens, locks
        safe = {k: v for k, v in self.node.items() if k not in hidden}
        return NodeView({**safe, **self.doc, "traits": list(self.traits)})


def _act(work: _Work, op: str, args: Mapping[str, Any], sensitive: bool) -> None:
    if op == "fail":
        raise RuleFailed(str(args["msg"]))
    if op == "log":
        work.logs.append((args.get("level") or "info", MASK if sensitive else str(args["msg"])))
    elif op in ("set-attribute", "extend-attribute", "del-attribute"):
        parts = _node_path(args["path"])
        if op == "del-attribute":
            if len(parts) == 1:
                work.doc[parts[0]] = {} if NODE_FIELDS[parts[0]] is dict else None
            else:
                _delete(work.doc, parts)
        elif op == "set-attribute":
            _set(work.doc, parts, args["value"])
        else:
            _extend(work.doc, parts, args["value"], bool(args.get("unique")))
        kind = NODE_FIELDS[parts[0]]
        if not isinstance(work.doc[parts[0]], kind):
            raise RuleFailed(f"{parts[0]} cannot be {work.doc[parts[0]]!r}")
    elif op in ("set-capability", "unset-capability"):
        props = work.doc["properties"]
        caps = capabilities.parse(props.get("capabilities"))
        if op == "set-capability":
            caps[str(args["name"])] = str(args["value"])
        else:
            caps.pop(str(args["name"]), None)
        props["capabilities"] = capabilities.unparse(caps)
    elif op == "add-trait":
        name = args["name"]
        if not trait_rules.is_valid(name):
            raise RuleFailed(trait_rules.INVALID.format(trait=name))
        work.traits = trait_rules.merged(work.traits, [name])
        if len(work.traits) > trait_rules.MAX_PER_NODE:
            raise RuleFailed(f"a node carries at most {trait_rules.MAX_PER_NODE} traits")
    elif op == "remove-trait":
        work.traits = [t for t in work.traits if t != args["name"]]
    elif op == "set-plugin-data":
        _set(work.plugin_data, _split_path(args["path"]), args["value"])
    elif op == "extend-plugin-data":
        parts = _split_path(args["path"])
        _extend(work.plugin_data, parts, args["value"], bool(args.get("unique")))
    elif op == "unset-plugin-data":
        _delete(work.plugin_data, _split_path(args["path"]))
    else:
        raise RuleFailed(f"unknown action {op!r}")


def _env(work: _Work, inventory: Mapping[str, Any]) -> dict[str, Any]:
    return {"node": work.view(), "inventory": inventory, "plugin_data": work.plugin_data}


def ordered(rules: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Higher priority first; equal priorities in the order they were created."""
    return sorted(rules, key=lambda r: (-int(r.get("priority") or 0), r.get("id") or 0))


def apply(
    rules: list[Mapping[str, Any]],
    node: Mapping[str, Any],
    traits: list[str],
    inventory: Mapping[str, Any],
    plugin_data: dict[str, Any] | None = None,
) -> Outcome:
    """Run `rules` (of one phase) on `node`; what changed. RuleFailed on a failing rule."""
    work = _Work(node, traits, plugin_data or {})
    matched = []
    for rule in ordered(rules):
        label = str(rule.get("uuid"))
        try:
            if not all(condition_holds(c, _env(work, inventory)) for c in rule["conditions"]):
                continue
            matched.append(label)
            for action in rule["actions"]:
                op = action["op"]
                if action.get("loop") is None:
                    _act(
                        work,
                        op,
                        interpolate(action["args"], _env(work, inventory)),
                        rule.get("sensitive", False),
                    )
                    continue
                for item in _items(action["loop"], _env(work, inventory)):
                    env = {**_env(work, inventory), "item": item}
                    _act(work, op, interpolate(action["args"], env), rule.get("sensitive", False))
        except RuleFailed as e:
            raise RuleFailed(f"inspection rule {label}: {e.message}") from None
        except (KeyError, TypeError, ValueError) as e:  # a shape the rule did not expect
            raise RuleFailed(f"inspection rule {label} could not run: {e!r}") from None
    changed = {k: v for k, v in work.doc.items() if v != work.original[k]}
    return Outcome(
        node=changed,
        traits=work.traits if work.traits != list(traits) else None,
        plugin_data=work.plugin_data,
        logs=work.logs,
        matched=matched,
    )
