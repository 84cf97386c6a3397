"""Normalizers, keyed tokens and display masks."""

import pytest

from cem_pipeline.privacy import Tokenizer, normalize
from cem_pipeline.privacy import kinds as K
from cem_pipeline.privacy.masks import (
    mask_email,
    mask_handle,
    mask_masked_phone,
    mask_member_id,
    mask_name,
    mask_phone,
)
from cem_pipeline.privacy.normalize import normalize_email, normalize_handle, normalize_member_id, normalize_phone

KEY = b"0123456789abcdef0123456789abcdef"

PHONE_FORMS = [
    "138 0013 8000",
    "13800138000",
    "+86-138-0013-8000",
    "0086 138 0013 8000",
    "+86 138-0013-8000",
    "(+86)13800138000",
    "１３８００１３８０００",
    "（＋８６）１３８ ００１３ ８０００",
    " 86 13800138000 ",
    "+8613800138000",
]


@pytest.fixture()
def tok():
    return Tokenizer(KEY)


@pytest.mark.parametrize("form", PHONE_FORMS)
def test_phone_normalizes_to_e164(form):
    assert normalize_phone(form) == "+8613800138000"


def test_phone_international_and_landline():
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"
    assert normalize_phone("+1 (650) 253-0000") == "+16502530000"
    assert normalize_phone("010-62345678") == "+861062345678"
    assert normalize_phone("not a phone") is None
    assert normalize_phone("") is None and normalize_phone(None) is None


def test_same_token_for_every_phone_format(tok):
    tokens = {tok.token(K.PHONE, f) for f in PHONE_FORMS}
    assert len(tokens) == 1
    (token,) = tokens
    assert token.startswith("phone:") and len(token) == len("phone:") + 32
    assert "13800138000" not in token
    assert tok.token(K.PHONE, "13900139000") != token


def test_token_depends_on_key():
    assert Tokenizer(KEY).token(K.PHONE, "13800138000") != Tokenizer(b"x" * 32).token(K.PHONE, "13800138000")
    assert Tokenizer(KEY).token(K.PHONE, "13800138000") == Tokenizer(KEY.decode()).token(K.PHONE, "13800138000")


def test_short_key_rejected_by_tokenizer():
    with pytest.raises(ValueError, match="32"):
        Tokenizer(b"short")


def test_email_normalization_and_tokens(tok):
    assert normalize_email("  Alice.Wang@Example.COM ") == "alice.wang@example.com"
    assert normalize_email("ＡＬＩＣＥ．ＷＡＮＧ＠ｅｘａｍｐｌｅ．ｃｏｍ") == "alice.wang@example.com"
    assert normalize_email("mailto:Bob@QQ.com") == "bob@qq.com"
    assert tok.token(K.EMAIL, "ALICE.WANG@EXAMPLE.COM") == tok.token(K.EMAIL, "alice.wang@example.com ")
    assert tok.token(K.EMAIL, "ＡＬＩＣＥ．ＷＡＮＧ＠ｅｘａｍｐｌｅ．ｃｏｍ").startswith("email:")


def test_handles_nicknames_wechat(tok):
    assert normalize_handle(" @Lily_88 ") == "lily_88"
    assert normalize_handle("＠ＬＩＬＹ＿８８") == "lily_88"
    assert normalize_handle("小红书用户 Ａｍｙ") == "小红书用户 amy"
    assert tok.token(K.HANDLE, "@Lily_88") == tok.token(K.HANDLE, "lily_88")
    assert tok.token(K.NICKNAME, "Lily_88") != tok.token(K.HANDLE, "Lily_88")  # kind prefix differs
    assert tok.token(K.NICKNAME, "Lily_88").split(":")[1] == tok.token(K.HANDLE, "Lily_88").split(":")[1]
    assert tok.token(K.WECHAT, " oABCdef123 ") == tok.token(K.WECHAT, "oabcdef123")
    assert tok.token("wechat", "x1") == tok.token(K.WECHAT, "x1")  # alias


def test_member_id_same_token_everywhere(tok):
    assert normalize_member_id(" m00012345 ") == "M00012345"
    forms = ["M00012345", " m00012345", "Ｍ００Ｏ１２３４５".replace("Ｏ", "０")]
    assert len({tok.token(K.MEMBER, f) for f in forms}) == 1


def test_empty_and_unnormalizable(tok):
    assert tok.token(K.PHONE, None) is None
    assert tok.token(K.PHONE, "   ") is None
    assert tok.token(K.EMAIL, "") is None
    bad = tok.token(K.PHONE, "call me maybe")
    assert bad.startswith("phone:") and "call" not in bad
    assert tok.token(K.EMAIL, "Not An Email") == tok.token(K.EMAIL, "not an email")
    with pytest.raises(ValueError, match="unknown PII kind"):
        tok.token("shoe_size", "42")


def test_normalize_dispatch():
    assert normalize(K.PHONE, "138-0013-8000") == "+8613800138000"
    assert normalize(K.MASKED_PHONE, "138 **** 8000") == "138****8000"
    assert normalize(K.MASKED_PHONE, "+86 138xxxx8000") == "138****8000"
    assert normalize(K.MASKED_PHONE, "13800138000") == "138****8000"  # a full number is masked first
    assert normalize(K.NAME, " John  SMITH ") == "john smith"


def test_masked_phone_token_links_to_phone_mask(tok):
    assert tok.token(K.MASKED_PHONE, "138****8000") == tok.token(K.MASKED_PHONE, mask_phone("+86 138 0013 8000"))


@pytest.mark.parametrize(
    "name,masked",
    [("张三", "张*"), ("欧阳娜娜", "欧***"), ("John Smith", "J*** S****"), ("李", "*"), (" 王小明 ", "王**"),
     ("Mary Ann O'Neil", "M*** A** O*****")],
)
def test_mask_name(name, masked):
    assert mask_name(name) == masked


def test_masks():
    for form in PHONE_FORMS:
        assert mask_phone(form) == "138****8000"
    assert mask_phone("+44 20 7946 0958") == "+44 207****0958"
    assert mask_phone("12345") == "*****"
    assert mask_email("Alice@Example.com") == "a***@example.com"
    assert mask_email("ｂｏｂ＠ｑｑ．ｃｏｍ") == "b***@qq.com"
    assert mask_member_id("M00012345") == "M****2345"
    assert mask_member_id("m00012345") == "M****2345"
    assert mask_member_id("1234") == "****"
    assert mask_handle("@Lily_88") == "L***"
    assert mask_handle("小红书用户") == "小***"
    assert mask_masked_phone("138****8000") == "138****8000"
    assert mask_masked_phone("13800138000") == "138****8000"
    for f in (mask_name, mask_phone, mask_email, mask_member_id, mask_handle, mask_masked_phone):
        assert f(None) is None and f("  ") is None
