import pytest

from ironworks.common.errors import InvalidInput
from ironworks.drivers.declared_steps import declared, find, step


class _Bios:
    kind = "bios"

    @step("clean", priority=0, argsinfo={"settings": {"description": "x", "required": True}})
    @step("deploy", priority=0)
    def apply_configuration(self, task, settings):
        return "done"

    def not_a_step(self, task):
        return "done"


def test_declared_lists_each_kind_like_ironic():
    (clean,) = declared(_Bios(), "clean")
    assert clean["interface"] == "bios" and clean["step"] == "apply_configuration"
    assert clean["argsinfo"] == {"settings": {"description": "x", "required": True}}
    assert [s["step"] for s in declared(_Bios(), "deploy")] == ["apply_configuration"]
    assert declared(_Bios(), "service") == []


def test_find_refuses_an_undeclared_step_by_name():
    ifaces = {"bios": _Bios()}
    assert find(ifaces, "clean", "bios", "apply_configuration")(None, settings=[]) == "done"
    with pytest.raises(InvalidInput) as e:
        find(ifaces, "clean", "bios", "not_a_step", where="clean_steps/0")
    assert "bios.not_a_step" in e.value.message and "bios.apply_configuration" in e.value.message
    assert e.value.field == "clean_steps/0"
