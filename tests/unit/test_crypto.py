"""Secrets at rest: the box, the key file cmd/ makes, and the sample config."""

from __future__ import annotations

import stat

import pytest
import typer

from ironworks.cmd.server import load_secret_box
from ironworks.common.crypto import PREFIX, SecretBox, is_sealed, new_key
from ironworks.common.errors import ConfigError, InvalidInput, SecretUndecryptable
from ironworks.common.settings import load_settings, sample_toml


def test_encrypts_with_a_prefix_and_decrypts() -> None:
    box = SecretBox(new_key())
    sealed = box.encrypt("s3cret")
    assert sealed.startswith(PREFIX) and "s3cret" not in sealed and is_sealed(sealed)
    assert box.encrypt("s3cret") != sealed  # a fresh IV each time
    assert box.decrypt(sealed) == "s3cret"
    assert box.decrypt("plain, stored before encryption") == "plain, stored before encryption"
    assert box.open({"a": sealed, "b": 5, "c": "x"}) == {"a": "s3cret", "b": 5, "c": "x"}


def test_wrong_key_names_the_setting() -> None:
    sealed = SecretBox(new_key()).encrypt("s3cret")
    with pytest.raises(SecretUndecryptable) as e:
        SecretBox(new_key()).decrypt(sealed)
    assert "secret_key" in e.value.message and "s3cret" not in e.value.message
    assert not SecretBox(new_key()).opens(sealed)


# a real key less its last two characters: base64 that does not decode to 32 bytes
@pytest.mark.parametrize(
    "key", ["", "short", "x" * 44, "QmVuY2htYXJrcyBhcmUgbm90IGtleXMsIGJ1dCBoZXk="[:-2]]
)
def test_malformed_key_is_a_config_error(key: str) -> None:
    with pytest.raises(ConfigError) as e:
        SecretBox(key, source="the key file /tmp/k")
    assert "the key file /tmp/k is not a valid key" in e.value.message


def test_repr_never_shows_the_key() -> None:
    key = new_key()
    assert key not in repr(SecretBox(key))


def test_seal_encrypts_secrets_only_and_refuses_foreign_ciphertext() -> None:
    box = SecretBox(new_key())
    secret = {"fake_password", "token"}.__contains__
    sealed = box.seal({"fake_password": "pw", "token": 1234, "user": "admin", "e": ""}, secret)
    assert is_sealed(sealed["fake_password"]) and is_sealed(sealed["token"])
    assert sealed["user"] == "admin" and sealed["e"] == ""
    assert box.open(sealed)["token"] == "1234"
    # a PATCH that leaves the stored ciphertext alone keeps it
    again = box.seal({**sealed, "user": "root"}, secret, stored=sealed)
    assert again["fake_password"] == sealed["fake_password"]
    with pytest.raises(InvalidInput) as e:
        box.seal({"fake_password": PREFIX + "forged"}, secret, stored=sealed)
    assert e.value.field == "driver_info/fake_password"
    with pytest.raises(InvalidInput):
        box.seal({"fake_password": {"nested": 1}}, secret)


def test_sample_config_shows_a_placeholder_never_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    assert '# secret_key = ""  # unset' in sample_toml()
    key = new_key()
    monkeypatch.setenv("IRONWORKS_SECRET_KEY", key)
    text = sample_toml()
    assert "secret_key" in text and key not in text


def test_key_file_is_generated_once_with_mode_0600(tmp_path) -> None:
    settings = load_settings(home=tmp_path / "home")
    box = load_secret_box(settings)
    path = tmp_path / "home" / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    sealed = box.encrypt("pw")
    assert load_secret_box(settings).decrypt(sealed) == "pw"  # read back, not regenerated
    # the setting wins over the file
    key = new_key()
    from_setting = load_secret_box(load_settings(home=tmp_path / "home", secret_key=key))
    assert SecretBox(key).decrypt(from_setting.encrypt("x")) == "x"


def test_unusable_key_file_is_a_clean_exit(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "secret.key").write_text("not a key\n")
    with pytest.raises(typer.Exit) as e:
        load_secret_box(load_settings(home=tmp_path))
    assert e.value.exit_code == 2
    err = capsys.readouterr().err
    assert "secret.key is not a valid key" in err and "Traceback" not in err
    with pytest.raises(typer.Exit):
        load_secret_box(load_settings(home=tmp_path, secret_key="bad"))
    assert "secret_key setting" in capsys.readouterr().err


def test_config_new_key_prints_a_usable_key() -> None:
    from typer.testing import CliRunner

    from ironworks.cmd.main import app

    result = CliRunner().invoke(app, ["config", "new-key"])
    assert result.exit_code == 0
    key = result.stdout.strip()
    assert len(key) == 44 and SecretBox(key).decrypt(SecretBox(key).encrypt("x")) == "x"


def test_derived_keys_agree_where_the_key_is_the_same_and_only_there() -> None:
    key = new_key()
    one, same, other = SecretBox(key), SecretBox(key + "\n"), SecretBox(new_key())
    assert one.derive("console relay") == same.derive("console relay")
    assert one.derive("console relay") != other.derive("console relay")
    assert one.derive("console relay") != one.derive("something else")
    assert key not in one.derive("console relay") and len(one.derive("console relay")) == 64
