"""The inspection rules' evaluator (domain/inspection_rules.py): every condition, every action,
loops, inversion, interpolation (and what it refuses to reach), priorities, and the checks a
rule passes when it is written."""

from __future__ import annotations

from typing import Any

import pytest

from ironworks.common.errors import InvalidInput
from ironworks.domain import inspection_rules as ir

INVENTORY = {
    "cpu": {"count": 16, "architecture": "x86_64", "model_name": "Intel(R) Xeon(R) Gold 6230"},
    "memory": {"physical_mb": 65536},
    "interfaces": [
        {"name": "eth0", "mac_address": "52:54:00:00:00:01", "ipv4_address": "10.1.2.3"},
        {"name": "eth1", "mac_address": "52:54:00:00:00:02", "ipv4_address": None},
    ],
    "system_vendor": {"manufacturer": "Dell Inc.", "product_name": "PowerEdge R640"},
    "bmc_address": "192.0.2.10",
}
NODE = {
    "uuid": "1be26c0b-03f2-4d2e-ae87-c02d7f33c123",
    "name": "n1",
    "driver": "fake-hardware",
    "driver_info": {"ipmi_password": "secret"},
    "properties": {"cpus": 16, "capabilities": "boot_mode:uefi"},
    "extra": {},
    "resource_class": None,
}


def env(**more: Any) -> dict[str, Any]:
    return {"node": ir.NodeView(NODE), "inventory": INVENTORY, "plugin_data": {}, **more}


def holds(op: str, args: Any, **kw: Any) -> bool:
    cond = ir.check_condition({"op": op, "args": args, **kw}, "c")
    return ir.condition_holds(cond, env())


def rule(
    actions: list[dict[str, Any]], conditions: Any = (), uuid: str = "r", id: int = 1, **kw: Any
) -> dict[str, Any]:
    body = {"actions": actions, "conditions": list(conditions), **kw}
    return {**ir.check_rule(body), "uuid": uuid, "id": id}


# --- interpolation ---------------------------------------------------------------------------


def test_interpolation_keeps_the_type_of_a_lone_field_and_formats_text() -> None:
    e = env()
    assert ir.interpolate("{inventory[memory][physical_mb]}", e) == 65536
    assert ir.interpolate("{inventory[interfaces]}", e) == INVENTORY["interfaces"]
    assert ir.interpolate("cpu {inventory[cpu][count]}x", e) == "cpu 16x"
    assert ir.interpolate("{node.name}-{node.properties[cpus]}", e) == "n1-16"
    assert ir.interpolate("{inventory[interfaces][0][name]}", e) == "eth0"
    assert ir.interpolate({"a": ["{node.name}"]}, e) == {"a": ["n1"]}
    assert ir.interpolate("{{literal}}", e) == "{literal}"


def test_interpolation_leaves_unresolved_or_unsafe_fields_as_written() -> None:
    e = env()
    for text in (
        "{inventory[nope]}",
        "{inventory.cpu}",  # dicts take brackets, as Ironic
        "{node[name]}",  # the node takes dots
        "{node.__class__}",
        "{node._fields}",
        "{inventory.__class__.__init__}",
        "{unknown}",
        "x {inventory[cpu][nope]} y",
        "{broken",
    ):
        assert ir.interpolate(text, e) == text
    # driver_info (its secrets) is not reachable through the node
    work = ir._Work(NODE, [], {})
    assert ir.interpolate("{node.driver_info}", {"node": work.view()}) == "{node.driver_info}"


# --- conditions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "args", "expected"),
    [
        ("eq", {"values": ["{inventory[cpu][count]}", 16]}, True),
        ("eq", {"values": ["{inventory[cpu][count]}", "16"]}, False),
        ("eq", {"values": ["{inventory[cpu][count]}", "16"], "force_strings": True}, True),
        ("eq", ["{inventory[cpu][architecture]}", "x86_64"], True),  # the old list form
        ("lt", {"values": [1, "{inventory[cpu][count]}", 100]}, True),
        ("lt", {"values": [16, "{inventory[cpu][count]}"]}, False),
        ("lt", {"values": [1, "a"]}, False),  # not comparable: false, not a crash
        ("gt", {"values": ["{inventory[memory][physical_mb]}", 32768]}, True),
        ("gt", {"values": [1, 2]}, False),
        ("is-true", {"value": True}, True),
        ("is-true", {"value": "yes"}, True),
        ("is-true", {"value": 1}, True),
        ("is-true", {"value": "no"}, False),
        ("is-false", {"value": 0}, True),
        ("is-false", {"value": None}, True),
        ("is-false", {"value": "False"}, True),
        ("is-false", {"value": "maybe"}, False),
        ("is-none", {"value": None}, True),
        ("is-none", {"value": "{inventory[interfaces][1][ipv4_address]}"}, True),
        ("is-none", {"value": 0}, False),
        ("is-empty", {"value": ""}, True),
        ("is-empty", {"value": []}, True),
        ("is-empty", {"value": {}}, True),
        ("is-empty", {"value": 0}, False),
        ("is-empty", {"value": "{inventory[cpu]}"}, False),
        ("contains", {"value": "{inventory[cpu][model_name]}", "regex": "Xeon"}, True),
        (
            "contains",
            {"value": "{inventory[system_vendor][manufacturer]}", "regex": "(?i)dell"},
            True,
        ),
        ("contains", {"value": "{inventory[cpu][model_name]}", "regex": "EPYC"}, False),
        ("matches", {"value": "{inventory[cpu][architecture]}", "regex": "x86_64"}, True),
        ("matches", {"value": "{inventory[cpu][architecture]}", "regex": "x86"}, False),
        ("one-of", {"value": "{inventory[cpu][count]}", "values": [8, 16]}, True),
        ("one-of", {"value": "{inventory[cpu][count]}", "values": ["16"]}, False),
        ("in-net", {"address": "{inventory[bmc_address]}", "subnet": "192.0.2.0/24"}, True),
        ("in-net", {"address": "{inventory[bmc_address]}", "subnet": "10.0.0.0/8"}, False),
        ("in-net", {"address": "not-an-ip", "subnet": "10.0.0.0/8"}, False),
    ],
)
def test_conditions(op: str, args: Any, expected: bool) -> None:
    assert holds(op, args) is expected
    assert holds(f"!{op}", args) is not expected
    assert holds(op, args, invert=True) is not expected


def test_loops_and_multiple() -> None:
    loop = ["PowerEdge R640", "HPE ProLiant DL380 Gen10"]
    args = {"values": ["{inventory[system_vendor][product_name]}", "{item}"]}
    assert holds("eq", args, loop=loop) is True  # any, the default
    assert holds("eq", args, loop=loop, multiple="all") is False
    assert holds("eq", args, loop=loop, multiple="first") is True
    assert holds("eq", args, loop=loop, multiple="last") is False
    # a loop over the inventory itself
    has_ip = {"value": "{item[ipv4_address]}"}
    assert holds("is-none", has_ip, loop="{inventory[interfaces]}") is True
    assert holds("is-none", has_ip, loop="{inventory[interfaces]}", multiple="all") is False


# --- actions ---------------------------------------------------------------------------------


def test_actions_change_copies_and_report_what_changed() -> None:
    rules = [
        rule(
            [
                {"op": "set-attribute", "args": {"path": "/resource_class", "value": "gold"}},
                {
                    "op": "set-attribute",
                    "args": {
                        "path": "properties.cpu_model",
                        "value": "{inventory[cpu][model_name]}",
                    },
                },
                {"op": "set-attribute", "args": {"path": "/extra/rack/row", "value": 7}},
                {"op": "extend-attribute", "args": {"path": "/extra/tags", "value": "a"}},
                {
                    "op": "extend-attribute",
                    "args": {"path": "/extra/tags", "value": "a", "unique": True},
                },
                {"op": "set-capability", "args": {"name": "gpu", "value": "none"}},
                {"op": "unset-capability", "args": {"name": "boot_mode"}},
                {"op": "add-trait", "args": {"name": "CUSTOM_GOLD"}},
                {"op": "add-trait", "args": ["CUSTOM_GOLD"]},
                {"op": "remove-trait", "args": {"name": "CUSTOM_OLD"}},
                {"op": "set-plugin-data", "args": {"path": "seen/by", "value": "{node.name}"}},
                {"op": "log", "args": {"msg": "gold {node.name}", "level": "warning"}},
            ],
            [
                {
                    "op": "contains",
                    "args": {"value": "{inventory[cpu][model_name]}", "regex": "Gold"},
                }
            ],
        )
    ]
    before = {**NODE, "properties": dict(NODE["properties"])}
    out = ir.apply(rules, NODE, ["CUSTOM_OLD", "CUSTOM_KEEP"], INVENTORY)
    assert before == NODE  # the node given is never changed
    assert out.node["resource_class"] == "gold"
    assert out.node["properties"] == {
        "cpus": 16,
        "capabilities": "gpu:none",
        "cpu_model": "Intel(R) Xeon(R) Gold 6230",
    }
    assert out.node["extra"] == {"rack": {"row": 7}, "tags": ["a"]}
    assert out.traits == ["CUSTOM_KEEP", "CUSTOM_GOLD"]
    assert out.plugin_data == {"seen": {"by": "n1"}}
    assert out.logs == [("warning", "gold n1")]
    assert out.matched == ["r"]
    assert set(out.node) == {"resource_class", "properties", "extra"}


def test_a_rule_whose_conditions_fail_does_nothing() -> None:
    rules = [
        rule(
            [{"op": "fail", "args": {"msg": "never"}}],
            [{"op": "eq", "args": {"values": ["{inventory[cpu][count]}", 2]}}],
        )
    ]
    out = ir.apply(rules, NODE, [], INVENTORY)
    assert out.node == {} and out.traits is None and out.matched == []


def test_fail_action_and_runtime_errors_raise_rule_failed() -> None:
    failing = rule([{"op": "fail", "args": {"msg": "no BMC on {node.name}"}}], uuid="u-fail")
    with pytest.raises(ir.RuleFailed, match="inspection rule u-fail: no BMC on n1"):
        ir.apply([failing], NODE, [], INVENTORY)
    bad_trait = rule([{"op": "add-trait", "args": {"name": "{inventory[cpu][model_name]}"}}])
    with pytest.raises(ir.RuleFailed, match="Invalid trait"):
        ir.apply([bad_trait], NODE, [], INVENTORY)
    bad_type = rule([{"op": "set-attribute", "args": {"path": "/extra", "value": "text"}}])
    with pytest.raises(ir.RuleFailed, match="extra cannot be"):
        ir.apply([bad_type], NODE, [], INVENTORY)
    bad_path = rule(
        [{"op": "set-attribute", "args": {"path": "{item}", "value": 1}, "loop": ["/driver"]}]
    )
    with pytest.raises(ir.RuleFailed, match="cannot change the node's 'driver'"):
        ir.apply([bad_path], NODE, [], INVENTORY)


def test_priority_orders_the_rules_and_later_rules_see_earlier_changes() -> None:
    low = rule(
        [{"op": "set-attribute", "args": {"path": "/resource_class", "value": "low"}}],
        priority=1,
        uuid="low",
        id=1,
    )
    high = rule(
        [{"op": "set-attribute", "args": {"path": "/resource_class", "value": "high"}}],
        priority=90,
        uuid="high",
        id=2,
    )
    reader = rule(
        [
            {
                "op": "set-attribute",
                "args": {"path": "/description", "value": "rc {node.resource_class}"},
            }
        ],
        priority=0,
        uuid="reader",
        id=3,
    )
    out = ir.apply([low, reader, high], NODE, [], INVENTORY)
    assert out.matched == ["high", "low", "reader"]
    assert out.node["resource_class"] == "low"  # the last to run wins
    assert out.node["description"] == "rc low"


def test_loop_in_actions() -> None:
    r = rule(
        [
            {
                "op": "set-attribute",
                "args": {"path": "{item[path]}", "value": "{item[value]}"},
                "loop": [
                    {"path": "/extra/vendor", "value": "{inventory[system_vendor][manufacturer]}"},
                    {"path": "/extra/bmc", "value": "{inventory[bmc_address]}"},
                ],
            },
            {"op": "add-trait", "args": {"name": "CUSTOM_{item}"}, "loop": ["A", "B"]},
        ]
    )
    out = ir.apply([r], NODE, [], INVENTORY)
    assert out.node["extra"] == {"vendor": "Dell Inc.", "bmc": "192.0.2.10"}
    assert out.traits == ["CUSTOM_A", "CUSTOM_B"]


def test_sensitive_rules_mask_their_logs_and_their_arguments() -> None:
    r = rule([{"op": "log", "args": {"msg": "pw {node.name}"}}], sensitive=True)
    assert ir.apply([r], NODE, [], INVENTORY).logs == [("info", ir.MASK)]
    shown = ir.masked(r["actions"])
    assert shown == [{"op": "log", "args": {"msg": ir.MASK}}]


# --- checks when a rule is written ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "actions"),
        ({"actions": []}, "actions"),
        ({"actions": [{"op": "explode"}]}, "actions[0].op"),
        ({"actions": [{"op": "fail"}]}, "actions[0].args"),
        ({"actions": [{"op": "fail", "args": {"msg": "x", "code": 1}}]}, "actions[0].args"),
        ({"actions": [{"op": "!fail", "args": {"msg": "x"}}]}, "actions[0].op"),
        ({"actions": [{"op": "api-call", "args": {"url": "http://x"}}]}, "actions[0].op"),
        (
            {"actions": [{"op": "set-attribute", "args": {"path": "/driver_info/x", "value": 1}}]},
            "actions[0].args",
        ),
        ({"actions": [{"op": "add-trait", "args": {"name": "lower"}}]}, "actions[0].args"),
        ({"actions": [{"op": "log", "args": {"msg": "x", "level": "loud"}}]}, "actions[0].args"),
        ({"actions": [{"op": "fail", "args": {"msg": "x"}, "when": 1}]}, "actions[0].when"),
        ({"actions": [{"op": "fail", "args": {"msg": "x"}}], "priority": -1}, "priority"),
        ({"actions": [{"op": "fail", "args": {"msg": "x"}}], "priority": 10000}, "priority"),
        ({"actions": [{"op": "fail", "args": {"msg": "x"}}], "priority": True}, "priority"),
        ({"actions": [{"op": "fail", "args": {"msg": "x"}}], "phase": "early"}, "phase"),
        ({"actions": [{"op": "fail", "args": {"msg": "x"}}], "sensitive": "perhaps"}, "sensitive"),
        (
            {"actions": [{"op": "fail", "args": {"msg": "x"}}], "description": "x" * 256},
            "description",
        ),
        ({"actions": [{"op": "fail", "args": {"msg": "x"}}], "scope": "x"}, "scope"),
        ({"actions": [{"op": "fail", "args": {"msg": "x"}}], "conditions": {}}, "conditions"),
        (
            {
                "actions": [{"op": "fail", "args": {"msg": "x"}}],
                "conditions": [{"op": "eq", "args": {"values": 3}}],
            },
            "conditions[0].args",
        ),
        (
            {
                "actions": [{"op": "fail", "args": {"msg": "x"}}],
                "conditions": [{"op": "matches", "args": {"value": "a", "regex": "("}}],
            },
            "conditions[0].args",
        ),
        (
            {
                "actions": [{"op": "fail", "args": {"msg": "x"}}],
                "conditions": [{"op": "is-none", "args": {"value": 1}, "multiple": "some"}],
            },
            "conditions[0].multiple",
        ),
        (
            {
                "actions": [{"op": "fail", "args": {"msg": "x"}}],
                "conditions": [{"op": "is-none", "args": {"value": 1}, "invert": "yes"}],
            },
            "conditions[0].invert",
        ),
    ],
)
def test_bad_rules_are_refused_naming_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as e:
        ir.check_rule(body)
    assert e.value.field == field


def test_defaults_and_the_clients_string_forms() -> None:
    r = ir.check_rule(
        {"actions": [{"op": "fail", "args": ["m"]}], "priority": "50", "sensitive": "true"}
    )
    assert r["priority"] == 50 and r["sensitive"] is True and r["phase"] == "main"
    assert r["conditions"] == [] and r["actions"] == [{"op": "fail", "args": {"msg": "m"}}]
