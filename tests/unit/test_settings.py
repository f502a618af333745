from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ironworks.cmd.main import app
from ironworks.common.errors import ConfigError
from ironworks.common.settings import load_settings, sample_toml


def test_defaults():
    s = load_settings()
    assert s.api.port == 6385 and s.effective_database_url.startswith("sqlite:///")


def test_toml_and_env(tmp_path, monkeypatch):
    f = tmp_path / "ironworks.toml"
    f.write_text('log_level = "debug"\n[api]\nport = 7000\n[conductor]\nworkers = 4\n')
    monkeypatch.setenv("IRONWORKS_CONDUCTOR__WORKERS", "8")
    s = load_settings(f)
    assert s.log_level == "DEBUG" and s.api.port == 7000 and s.conductor.workers == 8


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[api]\nport = 99999\n", "api.port"),
        ('log_level = "loud"\n', "log_level"),
        ("nonsense = 1\n", "nonsense"),
        ("[api\n", "cannot read"),
    ],
)
def test_bad_settings_name_the_option(tmp_path, text, needle):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_settings(f)
    assert needle in e.value.message


def test_sample_lists_every_option_and_parses(tmp_path):
    text = sample_toml()
    for option in ("port", "workers", "job_lease", "deploy_callback", "delay", "database_url"):
        assert option in text
    f = tmp_path / "sample.toml"
    f.write_text(text)
    assert load_settings(f).api.port == 6385


def test_cli_config_sample_and_states_dot():
    r = CliRunner().invoke(app, ["config", "sample"])
    assert r.exit_code == 0 and "[conductor]" in r.output
    r = CliRunner().invoke(app, ["states", "--dot"])
    assert r.exit_code == 0 and '"enroll" -> "verifying"' in r.output


def test_serve_refuses_bad_config(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text("[api]\nport = -1\n")
    r = CliRunner().invoke(app, ["serve", "--config", str(f)])
    assert r.exit_code == 2 and "api.port" in r.output
