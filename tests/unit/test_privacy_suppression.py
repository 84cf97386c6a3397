"""Erasure requests and the suppression list without a pipeline: request parsing and its errors, the sealed
suppression key, what a suppressed record is (by id, identifier in any format, reference, a phone in its text),
the gates' treatment of one, and the `cem privacy` command's one-line errors."""

from __future__ import annotations

import duckdb
import orjson
import pytest

import cem_cli
from cem_pipeline import schema
from cem_pipeline.gates import ERASED_RULE, gate_batch
from cem_pipeline.privacy import Tokenizer
from cem_pipeline.privacy.erasure import ErasureError, make_request, read_requests
from cem_pipeline.privacy.suppression import (
    Suppression, SuppressionKeyError, ensure_tables, found_in_text, reseal, suppression_key,
)
from cem_pipeline.sources.catalog import entity

KEY, OTHER = "a" * 40, "b" * 40


def test_requests_in_any_format_the_normalizers_accept(tmp_path):
    assert make_request("phone", "+86 138-0013-8000", "--phone").kind == "phone"
    assert make_request("member-id", "m0001", "--member-id").kind == "member_id"
    batch = tmp_path / "requests.txt"
    batch.write_text('# three people\nphone,138 0013 8000\n\n{"email": "Mary@Example.COM"}\nmember_id, M0002\n')
    assert [r.kind for r in read_requests(batch)] == ["phone", "email", "member_id"]
    pii = Tokenizer(KEY)
    assert pii.token("phone", "+86 138-0013-8000") == pii.token("phone", read_requests(batch)[0].value)


@pytest.mark.parametrize("line, says", [
    ("phone,12", "line 1: the value is not a phone number"),
    ("fax,12345678", "line 1: unknown identifier kind"),
    ("email Mary@example.com", "line 1: write kind,value"),
    ('{"email": "a@b.com", "phone": "138"}', "exactly one of"),
    ("{oops", "not valid JSON"),
])
def test_bad_requests_say_which_line_and_never_echo_the_value(tmp_path, line, says):
    batch = tmp_path / "r.txt"
    batch.write_text(line + "\n")
    with pytest.raises(ErasureError, match=says) as err:
        read_requests(batch)
    assert "\n" not in str(err.value) and "12345678" not in str(err.value) and "Mary" not in str(err.value)


def test_the_suppression_key_is_sealed_by_the_pii_key_and_survives_a_reseal():
    old, new = Tokenizer(KEY), Tokenizer(OTHER)
    with duckdb.connect() as con:
        ensure_tables(con)
        key = suppression_key(con, old, create=True)
        assert suppression_key(con, old) == key and len(key) == 32
        assert key.hex() not in str(con.execute(f"SELECT * FROM {schema.SUPPRESSION_KEY_TABLE}").fetchall())
        with pytest.raises(SuppressionKeyError, match="sealed with another PII key"):
            suppression_key(con, new)
        assert reseal(con, old, new) and reseal(con, old, new)  # the second time: already sealed with new
        assert suppression_key(con, new) == key
        with pytest.raises(SuppressionKeyError):
            suppression_key(con, old)


def _suppressing(*pairs, records=()) -> Suppression:
    blank = Suppression(b"s" * 32)
    tokens = {blank.identifier_token(kind, value) for kind, value in pairs}
    tokens |= {blank.record_token(e, rid) for e, rid in records}
    return Suppression(b"s" * 32, frozenset(tokens))


def test_what_a_suppressed_record_is():
    supp = _suppressing(("phone", "13800138000"), ("email", "mary@example.com"),
                        records=[("crm_customers", "C0007"), ("surveys", "SV1")])
    survey = {"response_id": "SV9", "survey_type": "nps", "score": 9, "comment": "fine"}
    assert supp.matches("surveys", {**survey, "response_id": "SV1"})                 # its own id
    assert supp.matches("surveys", {**survey, "phone": "+86 138-0013-8000"})         # an identifier, reformatted
    assert supp.matches("surveys", {**survey, "email": " MARY@example.com"})
    assert supp.matches("crm_orders", {"order_id": "O1", "customer_id": "C0007"})    # a reference
    assert supp.matches("reviews", {"review_id": "R1", "text": "call me on 138 0013 8000 please"})  # in its text
    assert supp.matches("calls", {"call_id": "X", "turns": [{"turn": 1, "text": "Mary@Example.com is mine"}]})
    assert not supp.matches("surveys", survey)
    assert not supp.matches("surveys", {**survey, "phone": "13900139000", "comment": "13800138001"})
    assert not Suppression().matches("surveys", {**survey, "response_id": "SV1"})


def test_found_in_text_returns_what_redaction_replaces():
    text = "我的电话是138-0013-8000，请尽快联系我 邮箱A.B@Example.com"
    assert found_in_text(text) == [("email", "A.B@Example.com"), ("phone", "138-0013-8000")]
    assert found_in_text("no digits here") == []


def test_the_gates_quarantine_a_suppressed_record_without_anything_readable():
    ent = entity("surveys")
    rows = [{"response_id": f"SV{i}", "survey_type": "nps", "score": 9, "touchpoint": "delivery", "channel": "app",
             "phone": "138 0013 8000" if i == 1 else None, "comment": "Great, call 13800138000" if i == 1 else "ok",
             "responded_at": "2026-10-01T09:30:00+08:00", "updated_at": "2026-10-01T09:30:00+08:00"}
            for i in range(3)]
    cols = {"record_id": [r["response_id"] for r in rows], "source_updated_at": [r["updated_at"] for r in rows],
            "_record": [orjson.dumps(r).decode() for r in rows], "_record_hash": [f"h{i}" for i in range(3)],
            "_load_id": ["L"] * 3, "_ingested_at": [None] * 3}
    out = gate_batch(ent, cols, Tokenizer(KEY), set(), suppression=_suppressing(("phone", "13800138000")))
    assert out.per_load["L"] == [3, 2, 1] and out.rules[ERASED_RULE] == 1
    bad = out.quarantined.to_pylist()
    assert bad == [{"record_id": None, "_load_id": "L", "_record_hash": "h1", "rule": ERASED_RULE, "field": None,
                    "value_masked": None}]
    assert sorted(out.masked.column("record_id").to_pylist()) == ["SV0", "SV2"]


@pytest.mark.parametrize("argv, says", [
    (["forget", "--phone", "12"], "--phone #1: the value is not a phone number"),
    (["forget", "--file", "/nonexistent/requests.txt"], "cannot read the request file"),
    (["forget"], "no request"),
    (["rotate-key", "--old-key", "short"], "too short"),
])
def test_cli_errors_are_one_line(tmp_path, monkeypatch, capsys, argv, says):
    monkeypatch.setenv("CEM_WAREHOUSE_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("CEM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CEM_PII_KEY", KEY)
    duckdb.connect(str(tmp_path / "w.duckdb")).close()
    assert cem_cli.main(["privacy", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0] and "Traceback" not in err[0], err
