"""Webhook signatures: what verify_signature accepts and rejects, and the settings that make production sign."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from cem_pipeline import config
from cem_pipeline.alerts import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, sign, verify_signature
from cem_pipeline.config import ConfigError, load_settings

SECRET = "s" * 40
BODY = '{"alert_id": "a1", "feedback_excerpt": "物流太慢"}'.encode("utf-8")
T0 = 1_790_000_000


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    headers = sign(BODY, SECRET, T0)
    expected = hmac.new(SECRET.encode(), f"{T0}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert headers == {TIMESTAMP_HEADER: str(T0), SIGNATURE_HEADER: f"v1={expected}"}
    assert verify_signature(BODY, headers, SECRET, now=T0 + 299) == T0


def test_a_tampered_body_a_wrong_secret_and_a_forged_timestamp_are_rejected():
    headers = sign(BODY, SECRET, T0)
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature(BODY.replace(b"a1", b"a2"), headers, SECRET, now=T0)
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature(BODY, headers, "t" * 40, now=T0)
    # moving the timestamp into the window without re-signing breaks the signature
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature(BODY, {**headers, TIMESTAMP_HEADER: str(T0 + 600)}, SECRET, now=T0 + 600)


@pytest.mark.parametrize("skew", [301, -301, 86_400])
def test_timestamps_outside_the_replay_window_are_rejected(skew):
    headers = sign(BODY, SECRET, T0)
    with pytest.raises(SignatureError, match="outside the 300 s window"):
        verify_signature(BODY, headers, SECRET, now=T0 + skew)
    assert verify_signature(BODY, headers, SECRET, tolerance_s=abs(skew), now=T0 + skew) == T0


@pytest.mark.parametrize("headers", [{}, {TIMESTAMP_HEADER: str(T0)}, {SIGNATURE_HEADER: "v1=00"},
                                     {TIMESTAMP_HEADER: "yesterday", SIGNATURE_HEADER: "v1=00"},
                                     {TIMESTAMP_HEADER: str(T0), SIGNATURE_HEADER: "v0=abc"}])
def test_missing_or_malformed_headers_are_rejected(headers):
    with pytest.raises(SignatureError):
        verify_signature(BODY, headers, SECRET, now=T0)


def test_headers_any_case_and_a_second_signature_for_key_rotation():
    signed = sign(BODY, SECRET, T0)
    lower = {k.lower(): v for k, v in signed.items()}
    assert verify_signature(BODY, lower, SECRET, now=T0) == T0
    old = sign(BODY, "o" * 40, T0)[SIGNATURE_HEADER]
    both = {TIMESTAMP_HEADER: str(T0), SIGNATURE_HEADER: f"{old}, {signed[SIGNATURE_HEADER]}"}
    assert verify_signature(BODY, both, SECRET, now=T0) == T0 and verify_signature(BODY, both, "o" * 40, now=T0)


URL = {"CEM_ALERT_WEBHOOK_URL": "https://hooks.example.com/cx"}
PROD = {"CEM_ENV": "production", "CEM_PII_KEY": "k" * 40, "CEM_WAREHOUSE_PATH": "/srv/cem/w.duckdb"}


def test_production_refuses_a_webhook_without_a_secret_when_settings_are_read():
    with pytest.raises(ConfigError, match="CEM_ALERT_WEBHOOK_SECRET is not;.*Generate one with"):
        config.alert_settings({**PROD, **URL})
    # the run's own settings check says so too, before any step pulls data
    with pytest.raises(ConfigError, match="CEM_ALERT_WEBHOOK_SECRET"):
        load_settings({**PROD, **URL}, require_sources=False)
    with pytest.raises(ConfigError, match="at least 32"):
        config.alert_settings({**PROD, **URL, "CEM_ALERT_WEBHOOK_SECRET": "short"})
    ok = config.alert_settings({**PROD, **URL, "CEM_ALERT_WEBHOOK_SECRET": SECRET})
    assert ok.webhook_secret == SECRET and SECRET not in repr(ok)  # never printed with the settings
    assert load_settings({**PROD, **URL, "CEM_ALERT_WEBHOOK_SECRET": SECRET}, require_sources=False)


def test_outside_production_or_without_a_webhook_no_secret_is_needed(tmp_path):
    assert config.alert_settings({**URL}, data_dir=tmp_path).webhook_secret is None  # demo: sent unsigned
    assert config.alert_settings({**PROD}, data_dir=tmp_path).webhook_url is None  # production, outbox file
