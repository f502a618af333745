"""The CLI's Simplified Chinese catalogue: complete, faithful to its placeholders, compiled, used.

The template (`ironworks/locale/ironworks.pot`) must hold every string the CLI marks; the
zh_CN `.po` must translate each one, keep every `{placeholder}`, option and `code` span, and
the shipped `.mo` must be what the `.po` compiles to. After a change: `scripts/i18n`, translate,
`scripts/i18n` again (see ironworks/cli/i18n.py).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog, Message  # Babel: the test extra
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from ironworks.cli import i18n

LOCALE = i18n.LOCALE_DIR
POT = LOCALE / "ironworks.pot"
PO = LOCALE / "zh_CN" / "LC_MESSAGES" / "ironworks.po"
MO = LOCALE / "zh_CN" / "LC_MESSAGES" / "ironworks.mo"
CLI_DIR = Path(i18n.__file__).parent
KEYWORDS = {"_": None, "ngettext": (1, 2)}  # as scripts/i18n: -k _ -k ngettext:1,2
METHODS = [("**.py", "ironworks.cli.i18n:extract")]  # as scripts/babel.cfg: docstrings too

# str.format fields ({node}, {item!r}, {n:d}); JSON in a help text ({"interface": ...}) is not one
PLACEHOLDER = re.compile(r"\{[A-Za-z_]\w*(?:![rsa])?(?::[^{}]*)?\}")
# what a translator must leave alone: options (--wait) and `code` (`ironworks login`)
VERBATIM = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*|`[^`]+`")


def _catalog(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def _messages(catalog: Catalog) -> Iterator[Message]:
    return (m for m in catalog if m.id)


def _ids(message: Message) -> list[str]:
    return list(message.id) if message.pluralizable else [message.id]


def _strings(message: Message) -> list[str]:
    return list(message.string) if message.pluralizable else [message.string]


def _key(message: Message) -> str | tuple[str, ...]:
    return tuple(message.id) if message.pluralizable else message.id


def test_the_template_holds_every_marked_string() -> None:
    marked = {
        msg if isinstance(msg, str) else tuple(msg)
        for _file, _line, msg, _comments, _context in extract_from_dir(
            str(CLI_DIR), method_map=METHODS, keywords=KEYWORDS
        )
    }
    in_template = {_key(m) for m in _messages(_catalog(POT))}
    assert marked - in_template == set(), "new strings: run scripts/i18n and translate them"
    assert in_template - marked == set(), "strings gone from the code: run scripts/i18n"


def test_every_string_has_a_chinese_translation() -> None:
    template = {_key(m) for m in _messages(_catalog(POT))}
    po = {_key(m): m for m in _messages(_catalog(PO))}
    assert template - po.keys() == set(), "the .po lacks strings of the .pot: run scripts/i18n"
    missing = [k for k, m in po.items() if not all(s.strip() for s in _strings(m))]
    fuzzy = [k for k, m in po.items() if m.fuzzy]
    assert missing == []
    assert fuzzy == [], "check these and drop their fuzzy flag"
    assert len(po) > 200  # the catalogue is the whole CLI, not a sample


def test_placeholders_options_and_code_stay_as_they_are() -> None:
    wrong = []
    for m in _messages(_catalog(PO)):
        for source in _ids(m):
            for target in _strings(m):
                for pattern in (PLACEHOLDER, VERBATIM):
                    if Counter(pattern.findall(source)) != Counter(pattern.findall(target)):
                        wrong.append((source, target))
    assert wrong == []


def test_the_shipped_mo_is_the_compiled_po(tmp_path: Path) -> None:
    fresh = tmp_path / "ironworks.mo"
    with fresh.open("wb") as f:
        write_mo(f, _catalog(PO))  # what `pybabel compile` writes

    def contents(data: bytes) -> dict[object, object]:
        return {_key(m): tuple(_strings(m)) for m in read_mo(BytesIO(data))}

    assert contents(MO.read_bytes()) == contents(fresh.read_bytes()), "run scripts/i18n"


def _ironworks(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """A real `ironworks` process in a language chosen only by `env`."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG", "IRONWORKS_LANG"}
    }
    return subprocess.run(
        [sys.executable, "-m", "ironworks.cmd.main", *args],
        env={**clean, "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


# `node export --format pdf` is refused before any server is asked
BAD_FORMAT = ("node", "export", "--format", "pdf")


def test_an_error_in_chinese() -> None:
    out = _ironworks(*BAD_FORMAT, LANGUAGE="zh_CN")
    assert out.returncode == 2
    assert out.stderr.strip() == "ironworks: --format 必须是 csv 或 xlsx，不能是 'pdf'"


def test_the_same_error_in_english() -> None:
    out = _ironworks(*BAD_FORMAT, LANGUAGE="en")
    assert out.returncode == 2
    assert out.stderr.strip() == "ironworks: --format must be csv or xlsx, not 'pdf'"


def test_the_locale_chooses_too() -> None:
    out = _ironworks(*BAD_FORMAT, LANG="zh_CN.UTF-8")
    assert "必须是 csv 或 xlsx" in out.stderr


def test_ironworks_lang_overrides_the_locale() -> None:
    out = _ironworks(*BAD_FORMAT, LANGUAGE="en", IRONWORKS_LANG="zh_CN")
    assert "必须是 csv 或 xlsx" in out.stderr
    assert "must be" not in out.stderr


def test_help_texts_in_chinese() -> None:
    out = _ironworks("node", "--help", LANGUAGE="zh_CN")
    assert out.returncode == 0, out.stderr
    assert "裸金属节点：由 Ironworks 管理的物理服务器。" in out.stdout
    assert "将节点转入维护以便检修，或恢复服务。" in out.stdout
    english = _ironworks("node", "--help", LANGUAGE="en")
    assert "Nodes: the physical servers Ironworks manages." in english.stdout


def test_a_commands_docstring_is_its_help_in_either_language() -> None:
    chinese = _ironworks("host", "--help", LANGUAGE="zh_CN")
    assert chinese.returncode == 0, chinese.stderr
    assert "按规格和镜像创建主机" in chinese.stdout  # `host create`'s docstring, translated
    english = _ironworks("host", "create", "--help", LANGUAGE="en")
    assert "Create hosts from a flavor and an image" in english.stdout
