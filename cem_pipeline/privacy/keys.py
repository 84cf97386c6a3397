"""The HMAC key for PII tokens: from ``CEM_PII_KEY``, or a per-installation demo key file.

Production (``CEM_ENV=production``) must set ``CEM_PII_KEY``; demo and test runs without it get a random
key created once in ``<data_dir>/.pii_key`` (64 hex characters = 32 random bytes, mode 0600) and a notice
saying so. The key is used as the UTF-8 bytes of the configured string, so copying the demo key file's
content into ``CEM_PII_KEY`` keeps every token unchanged. The variables are read by ``cem_pipeline.config``.

With ``once=True`` the notice comes only on the first call per key file in this process, so a run that
gates eight entities says it once.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cem_pipeline import config
from cem_pipeline.config import MIN_PII_KEY_CHARS as MIN_KEY_CHARS
from cem_pipeline.config import PII_KEY_HINT as GENERATE_HINT
from cem_pipeline.config import PII_KEY_VAR as KEY_VAR
from cem_pipeline.config import ConfigError

KEY_FILE_NAME = ".pii_key"
_noticed: set[Path] = set()  # demo key files whose notice this process has given (once=True)


def _check_key(key: str, where: str) -> bytes:
    if len(key) < MIN_KEY_CHARS:
        raise ConfigError(
            f"{where} is too short ({len(key)} characters); the PII key needs at least {MIN_KEY_CHARS} "
            f"characters. Generate one with: {GENERATE_HINT}"
        )
    return key.encode("utf-8")


def parse_key(text: str, where: str) -> bytes:
    """A key given as text (e.g. the old key of a rotation): trimmed, at least 32 characters, as UTF-8 bytes."""
    return _check_key(text.strip(), where)


def _read_key_file(path: Path) -> bytes:
    text = path.read_text(encoding="utf-8").strip()
    return _check_key(text, f"the demo PII key file {path} (delete it to create a new one, or set {KEY_VAR})")


def _create_key_file(path: Path) -> bool:
    """Write a new random key to ``path`` unless one exists; True when this call created it.

    The key is written to a temporary file first and hard-linked into place, so a concurrent reader
    never sees a half-written key and two concurrent creators agree on one key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (secrets.token_hex(32) + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


def load_pii_key(environ=None, data_dir: Path | str | None = None, *, once: bool = False) -> tuple[bytes, str | None]:
    """Return ``(key, notice)``; ``notice`` is None when the key came from ``CEM_PII_KEY``.

    ``environ`` defaults to ``os.environ``; ``data_dir`` defaults to ``CEM_DATA_DIR`` or ``data``.
    Raises :class:`ConfigError` in production without a key, and for keys shorter than 32 characters.
    """
    environ = os.environ if environ is None else environ
    raw = config.pii_key_setting(environ)
    if raw:
        return _check_key(raw, KEY_VAR), None

    if config.env_name(environ) == "production":
        raise ConfigError(config.MISSING_PII_KEY)

    if data_dir is None:
        data_dir = config.data_dir_setting(environ)
    path = Path(data_dir) / KEY_FILE_NAME
    created = False
    if not path.exists():
        created = _create_key_file(path)
    key = _read_key_file(path)
    notice = (
        f"{KEY_VAR} is not set; using the per-installation demo PII key in {path} "
        f"({'created now' if created else 'created earlier'}). Tokens stay stable only while that file "
        f"is kept; in production set {KEY_VAR} (e.g. to this file's content to keep the same tokens)."
    )
    if once:
        if path.resolve() in _noticed:
            return key, None
        _noticed.add(path.resolve())
    return key, notice
