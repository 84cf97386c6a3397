"""The PII key: environment variable, demo key file, production error, short keys."""

import os
import stat

import pytest

from cem_pipeline.config import ConfigError
from cem_pipeline.privacy import Tokenizer, load_pii_key

GOOD = "k" * 40


def test_key_from_env(tmp_path):
    key, notice = load_pii_key({"CEM_PII_KEY": GOOD, "CEM_ENV": "production"}, tmp_path)
    assert key == GOOD.encode() and notice is None
    assert not (tmp_path / ".pii_key").exists()


def test_demo_key_file_created_once_and_reused(tmp_path):
    data = tmp_path / "data"
    key1, notice1 = load_pii_key({}, data)
    path = data / ".pii_key"
    assert path.exists()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(key1) == 64 and notice1 and "CEM_PII_KEY" in notice1 and "created now" in notice1
    key2, notice2 = load_pii_key({"CEM_ENV": "test"}, data)
    assert key2 == key1 and "created earlier" in notice2
    assert Tokenizer(key1).token("phone", "13800138000") == Tokenizer(key2).token("phone", "13800138000")
    # the file's content used as CEM_PII_KEY gives the same key, hence the same tokens
    key3, _ = load_pii_key({"CEM_PII_KEY": path.read_text().strip()}, data)
    assert key3 == key1


def test_demo_key_dir_from_env(tmp_path, monkeypatch):
    key, notice = load_pii_key({"CEM_DATA_DIR": str(tmp_path / "d")})
    assert (tmp_path / "d" / ".pii_key").exists() and str(tmp_path / "d") in notice


def test_demo_keys_differ_per_installation(tmp_path):
    assert load_pii_key({}, tmp_path / "a")[0] != load_pii_key({}, tmp_path / "b")[0]


def test_production_without_key_fails(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_pii_key({"CEM_ENV": "production"}, tmp_path)
    assert "CEM_PII_KEY" in str(err.value) and "secrets.token_hex(32)" in str(err.value)
    assert not (tmp_path / ".pii_key").exists()


def test_blank_key_counts_as_unset(tmp_path):
    with pytest.raises(ConfigError, match="CEM_PII_KEY"):
        load_pii_key({"CEM_ENV": "production", "CEM_PII_KEY": "   "}, tmp_path)


def test_short_key_rejected(tmp_path):
    with pytest.raises(ConfigError, match=r"CEM_PII_KEY is too short \(8 characters\).*32"):
        load_pii_key({"CEM_PII_KEY": "abcdefgh"}, tmp_path)


def test_bad_key_file_rejected(tmp_path):
    (tmp_path / ".pii_key").write_text("short\n")
    with pytest.raises(ConfigError, match="too short"):
        load_pii_key({}, tmp_path)


def test_unknown_env_rejected(tmp_path):
    with pytest.raises(ConfigError, match="CEM_ENV"):
        load_pii_key({"CEM_ENV": "staging"}, tmp_path)


def test_once_gives_the_demo_notice_on_the_first_call_only(tmp_path):
    key1, notice1 = load_pii_key({}, tmp_path / "once", once=True)
    key2, notice2 = load_pii_key({}, tmp_path / "once", once=True)
    assert key1 == key2 and notice1 and "created now" in notice1 and notice2 is None
    # Without once (and for another key file) the notice still comes.
    assert load_pii_key({}, tmp_path / "once")[1] is not None
    assert load_pii_key({}, tmp_path / "other", once=True)[1] is not None
