"""mask_record over a sample record of every catalogue entity: no raw PII survives."""

import copy
import json

import pytest

from cem_pipeline.privacy import TOKENIZED, Tokenizer, display_mask, mask_record, mask_records, output_columns
from cem_pipeline.privacy import kinds as K
from cem_pipeline.sources import catalog as C

KEY = "an-installation-key-of-at-least-32-chars"
PHONE_RAW = "+86 138-0013-8000"
EMAIL_RAW = "Zhang.San@Example.COM"
NAME_RAW = "张三丰"
NAME_EN = "John Smith"
ID_RAW = "11010519491231002X"
CARD_RAW = "4111111111111111"
TEXT_PII = f"我是张先生，电话13912345678，邮箱lisi@qq.com，身份证{ID_RAW}，卡号{CARD_RAW}。"

PII_VALUES = {
    K.PHONE: PHONE_RAW,
    K.EMAIL: EMAIL_RAW,
    K.NAME: NAME_RAW,
    K.WECHAT: "oWx_UnionID_abcdef123456",
    K.MEMBER: "m00012345",
    K.HANDLE: "@ZhangSanFeng88",
    K.NICKNAME: "张三丰的小号",
    K.MASKED_PHONE: "138****8000",
}
FORBIDDEN = ["13800138000", "0013", "13912345678", "zhang.san", "lisi@qq.com", "张三丰", ID_RAW, CARD_RAW,
             "oWx_UnionID", "ZhangSanFeng88".lower(), "00012345"]


def sample(entity: C.Entity) -> dict:
    rec = {}
    for f in entity.fields:
        if f.pii == C.FREE_TEXT:
            rec[f.name] = (
                [{"turn": 1, "speaker": "customer", "text": TEXT_PII, "offset_s": 0.0},
                 {"turn": 2, "speaker": "agent", "text": "好的，请问还有什么可以帮您？", "offset_s": 3.5}]
                if f.type == "json" else TEXT_PII
            )
        elif f.pii:
            rec[f.name] = PII_VALUES[f.pii]
        elif f.type == "integer":
            rec[f.name] = 3
        elif f.type == "number":
            rec[f.name] = 99.5
        elif f.type == "timestamp":
            rec[f.name] = "2026-10-01T09:30:00+08:00"
        else:
            rec[f.name] = f"{f.name}-001"
    rec["new_unknown_field"] = f"contact {EMAIL_RAW} / 138 0013 8000"
    rec["_load_id"] = "load-1"
    return rec


@pytest.fixture(scope="module")
def tok():
    return Tokenizer(KEY)


@pytest.mark.parametrize("entity", C.ENTITIES, ids=lambda e: e.name)
def test_no_raw_pii_survives(entity, tok):
    rec = sample(entity)
    before = copy.deepcopy(rec)
    counts = {}
    out = mask_record(entity, rec, tok, counts)
    assert rec == before, "input was mutated"
    dumped = json.dumps(out, ensure_ascii=False).lower()
    for raw in FORBIDDEN:
        assert raw.lower() not in dumped, (raw, dumped)
    assert "[email]" in dumped and "[phone]" in dumped  # the unknown field was redacted
    for f in entity.fields:
        if f.pii and f.pii != C.FREE_TEXT:
            assert out[f"{f.name}_token"].startswith(f.pii + ":")
        elif not f.pii:
            assert out[f.name] == rec[f.name]
    assert out["_load_id"] == "load-1"
    assert set(output_columns(entity)) <= set(out)
    assert counts["email"] >= 1 and counts["phone"] >= 1
    assert counts.get(TOKENIZED, 0) == sum(1 for f in entity.fields if f.pii and f.pii != C.FREE_TEXT)


def test_entity_by_name_and_display_forms(tok):
    rec = sample(C.entity("crm_customers"))
    out = mask_record("crm_customers", rec, tok)
    assert out["name"] == "张**" and out["name_token"].startswith("name:")
    assert out["phone"] == "138****8000"
    assert out["email"] == "z***@example.com"
    assert out["weibo_handle"] == "Z***"
    assert out["phone_masked_token"] == tok.token(K.MASKED_PHONE, "138****8000")
    en = mask_record("crm_customers", {**rec, "name": NAME_EN}, tok)
    assert en["name"] == "J*** S****"


def test_free_text_fields_and_turns(tok):
    calls = mask_record("calls", sample(C.entity("calls")), tok)
    assert calls["turns"][0] == {"turn": 1, "speaker": "customer", "offset_s": 0.0,
                                 "text": "我是[NAME]先生，电话[PHONE]，邮箱[EMAIL]，身份证[ID_NUMBER]，卡号[BANK_CARD]。"}
    assert calls["turns"][1]["text"] == "好的，请问还有什么可以帮您？"
    review = mask_record("reviews", sample(C.entity("reviews")), tok)
    assert review["text"] == calls["turns"][0]["text"]
    assert review["buyer_phone_masked"] == "138****8000"


def test_member_id_token_joins_across_entities(tok):
    tokens = set()
    for name, value in [("crm_members", "M00012345"), ("crm_orders", " m00012345"), ("calls", "M00012345 "),
                        ("surveys", "m00012345")]:
        rec = {"member_id": value}
        out = mask_record(name, rec, tok)
        tokens.add(out["member_id_token"])
        assert out["member_id"] == "M****2345"
    assert len(tokens) == 1


def test_phone_token_joins_across_entities(tok):
    a = mask_record("crm_customers", {"phone": "138 0013 8000"}, tok)["phone_token"]
    b = mask_record("calls", {"caller_phone": "+86-138-0013-8000"}, tok)["caller_phone_token"]
    c = mask_record("surveys", {"phone": "(+86)13800138000"}, tok)["phone_token"]
    assert a == b == c


def test_nulls_and_missing_fields(tok):
    out = mask_record("surveys", {"response_id": "r1", "phone": None, "email": "", "comment": None}, tok)
    assert out == {"response_id": "r1", "phone": None, "phone_token": None, "phone_masked_token": None,
                   "email": None, "email_token": None, "comment": None}


def test_unknown_nested_field_redacted(tok):
    rec = {"post_id": "p1", "extra": {"contact": ["ping me 13800138000"], "n": 5}}
    out = mask_record("social_posts", rec, tok)
    assert out["extra"] == {"contact": ["ping me [PHONE]"], "n": 5}
    assert rec["extra"]["contact"] == ["ping me 13800138000"]


def test_mask_records_batch(tok):
    recs = [sample(C.entity("surveys")) for _ in range(3)]
    out, counts = mask_records("surveys", recs, tok)
    assert len(out) == 3 and counts["id_number"] == 3 and counts["bank_card"] == 3


def test_display_mask():
    assert display_mask(K.PHONE, "0086 13800138000") == "138****8000"
    assert display_mask(K.NAME, "欧阳娜娜") == "欧***"
    with pytest.raises(ValueError, match="no display mask"):
        display_mask(C.FREE_TEXT, "x")
