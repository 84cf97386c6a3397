"""Free-text redaction in Chinese and English, with near-misses that must stay."""

import pytest

from cem_pipeline.privacy import is_bank_card, is_valid_prc_id, luhn_ok, redact_text
from cem_pipeline.privacy.redact import prc_id_check_char

VALID_ID = "11010519491231002X"  # the GB 11643 example
VALID_ID_2 = "440308199001011234"[:17] + prc_id_check_char("44030819900101123")
VISA = "4111111111111111"
UNIONPAY_19 = "6222021234567890123"[:18]


def luhn_complete(prefix: str) -> str:
    for d in "0123456789":
        if luhn_ok(prefix + d):
            return prefix + d
    raise AssertionError


UNIONPAY = luhn_complete("622202123456789")  # 16 digits
UNIONPAY_19 = luhn_complete(UNIONPAY_19)


def red(text):
    return redact_text(text)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("我的电话13800138000请回电", "我的电话[PHONE]请回电"),
        ("手机：138 0013 8000，谢谢", "手机：[PHONE]，谢谢"),
        ("联系+86-138-0013-8000或0086 138 0013 8000", "联系[PHONE]或[PHONE]"),
        ("电话(+86)13800138000", "电话[PHONE]"),
        ("号码１３８００１３８０００别打错", "号码[PHONE]别打错"),
        ("＋８６ １３８ ００１３ ８０００", "[PHONE]"),
        ("+86 138-0013-8000 is my cell", "[PHONE] is my cell"),
        ("Call me at 13800138000.", "Call me at [PHONE]."),
        ("座机010-62345678或(0755)23456789", "座机[PHONE]或[PHONE]"),
        ("UK office +44 20 7946 0958, US +1 650-253-0000", "UK office [PHONE], US [PHONE]"),
        ("call (650) 253-0000 tomorrow", "call [PHONE] tomorrow"),
    ],
)
def test_phones(text, expected):
    result = red(text)
    assert result.text == expected
    assert result.counts == {"phone": expected.count("[PHONE]")}


@pytest.mark.parametrize(
    "text,expected",
    [
        ("my e-mail address: zekidemir089@gmail.com", "my e-mail address: [EMAIL]"),
        ("邮箱是Alice.Wang@Example.COM，请查收", "邮箱是[EMAIL]，请查收"),
        ("QQ邮箱13800138000@qq.com", "QQ邮箱[EMAIL]"),
        ("全角ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ地址", "全角[EMAIL]地址"),
        ("write to support@apple.com.", "write to [EMAIL]."),
    ],
)
def test_emails(text, expected):
    result = red(text)
    assert result.text == expected and result.counts == {"email": 1}


def test_id_numbers():
    assert is_valid_prc_id(VALID_ID) and is_valid_prc_id(VALID_ID.lower()) and is_valid_prc_id(VALID_ID_2)
    r = red(f"身份证号{VALID_ID}，另一个{VALID_ID_2}")
    assert r.text == "身份证号[ID_NUMBER]，另一个[ID_NUMBER]" and r.counts == {"id_number": 2}
    assert red(f"ID: {VALID_ID[:6]} {VALID_ID[6:14]} {VALID_ID[14:]} ok").text == "ID: [ID_NUMBER] ok"
    assert red("身份证１１０１０５１９４９１２３１００２Ｘ").text == "身份证[ID_NUMBER]"


def test_id_near_misses():
    bad_check = VALID_ID[:17] + "5"
    assert not is_valid_prc_id(bad_check)
    bad_date = "110105" + "19491331" + "002"
    bad_date += prc_id_check_char(bad_date)
    assert not is_valid_prc_id(bad_date)  # month 13 with a correct checksum
    future = "110105" + "21490101" + "002"
    assert not is_valid_prc_id(future + prc_id_check_char(future))
    for text in (f"订单号{bad_check}已发货", f"order {bad_date}", "订单号123456789012345678"):
        assert red(text).text == text


def test_bank_cards():
    assert is_bank_card(VISA) and is_bank_card(UNIONPAY) and is_bank_card(UNIONPAY_19)
    r = red(f"卡号{UNIONPAY}，备用卡 {VISA[:4]} {VISA[4:8]} {VISA[8:12]} {VISA[12:]}")
    assert r.text == "卡号[BANK_CARD]，备用卡 [BANK_CARD]" and r.counts == {"bank_card": 2}
    assert red(f"card {'-'.join([UNIONPAY_19[i:i+4] for i in range(0, 19, 4)])} expired").text == "card [BANK_CARD] expired"
    assert red("amex 3782 822463 10005 thanks").text == "amex [BANK_CARD] thanks"


def test_card_near_misses():
    non_luhn = "4111111111111112"
    assert not luhn_ok(non_luhn) and not is_bank_card(non_luhn)
    no_issuer = luhn_complete("123456789012345")  # Luhn-valid but no card issuer starts with 1
    assert luhn_ok(no_issuer) and not is_bank_card(no_issuer)
    for text in (f"tracking {non_luhn}", f"流水号{no_issuer}", "4111 1111 1111 1112", "timestamp 1732435200000"):
        assert red(text).text == text
    # Fifteen digits that pass Luhn and start like a Maestro / UnionPay / Diners card (a legacy-ID-shaped
    # order number): only Amex issues 15-digit cards.
    for body in ("51010319999999", "62012345678901", "36123456789012"):
        looks_like = luhn_complete(body)
        assert len(looks_like) == 15 and luhn_ok(looks_like) and not is_bank_card(looks_like)
        assert red(f"单号{looks_like}").text == f"单号{looks_like}"
    assert is_bank_card(luhn_complete("37828224631000"))


@pytest.mark.parametrize(
    "text",
    [
        "2026-10-01 10:30 下单，20261001 到货",
        "价格¥1380.00，原价￥13800，优惠1380元",
        "iPhone 13 Pro Max 256GB, model A2643",
        "订单ORD20261001123456已签收",
        "order id ORD13800138000 and SKU-13800138000",
        "周一 09:30-18:00 营业, 共 3 件",
        "满100减20, 2026年10月1日, 第138期",
        "It was 2026-10-01T09:30:00+08:00 when I called",
        "rated 5/5, 1380 reviews, 138 0013 likes",
        "Version 13.8.0013.8000 of the app",
        "room 1203, tel ext 8000",
        "我 用了 3 年",
        "",
    ],
)
def test_near_misses_untouched(text):
    result = red(text)
    assert result.text == text and result.counts == {}


def test_mixed_text_counts():
    text = f"张先生电话13800138000，邮箱a@b.cn，身份证{VALID_ID}，卡{VISA}。Order ORD20261001123456 on 2026-10-01."
    r = red(text)
    assert r.text == "[NAME]先生电话[PHONE]，邮箱[EMAIL]，身份证[ID_NUMBER]，卡[BANK_CARD]。Order ORD20261001123456 on 2026-10-01."
    assert r.counts == {"name": 1, "phone": 1, "email": 1, "id_number": 1, "bank_card": 1} and r.total == 5


def test_none_and_plain_text():
    assert red(None).text is None
    plain = "质量很好，物流很快，下次还来买。"
    assert red(plain).text is plain
