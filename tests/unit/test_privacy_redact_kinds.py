"""The PII kinds of issue 18 in free text: addresses, QQ numbers, passports, travel permits, 15-digit IDs,
licence plates and names after a salutation or in a signature; each with the near-misses that must stay."""

import pytest

from cem_pipeline.privacy import kinds, redact_text
from cem_pipeline.privacy.redact import is_legacy_prc_id


def red(text):
    return redact_text(text)


def only(kind: str, text: str, expected: str):
    result = red(text)
    assert result.text == expected
    assert result.counts == {kind: expected.count(kinds.PLACEHOLDERS[kind])}


@pytest.mark.parametrize("text,expected", [
    ("收货地址：北京市朝阳区建国路88号SOHO现代城A座1205室，谢谢", "收货地址：[ADDRESS]，谢谢"),
    ("我住在上海市浦东新区张江路100号", "我住在[ADDRESS]"),
    ("寄到广东省深圳市南山区科技园南区高新南一道9号中国科技开发院2栋1203室", "寄到[ADDRESS]"),
    ("阳光小区3栋2单元502室", "[ADDRESS]"),
    ("送到锦绣小区19-3-2604", "送到[ADDRESS]"),
    ("北京市 朝阳区 建国路88号", "[ADDRESS]"),
    ("山西省太原市迎泽区迎泽大街100号", "[ADDRESS]"),
    ("成都市武侯区人民南路四段11号", "[ADDRESS]"),
    ("地址：广东省深圳市南山区", "地址：[ADDRESS]"),
    ("广西壮族自治区南宁市青秀区民族大道一百号", "[ADDRESS]"),
    ("I live at 221B Baker Street, London NW1 6XE now", "I live at [ADDRESS] now"),
    ("send it to 1600 Amphitheatre Parkway, Mountain View, CA 94043", "send it to [ADDRESS]"),
    ("350 5th Ave, Apt 4B, New York, NY 10118", "[ADDRESS]"),
    ("my place: 12 main st", "my place: [ADDRESS]"),
    ("write to PO Box 1234 please", "write to [ADDRESS] please"),
    ("在9928 King St行", "在[ADDRESS]行"),  # glued to Chinese text
])
def test_addresses(text, expected):
    only("address", text, expected)


@pytest.mark.parametrize("text", [
    "2室1厅，12号13号都没到", "坐地铁2号线，3号线转2号线", "餐厅在3楼", "第3单元的练习", "7座SUV很好开", "9月1号发货，1号到3号",
    "waited 2 hours on the road", "Top 10 Best Places", "Route 66", "5 stars all the way", "Windows 10 Home",
    "不知道3号能不能到", "一路上3天",
])
def test_address_near_misses(text):
    assert red(text).counts.get("address") is None


@pytest.mark.parametrize("text,expected", [
    ("QQ：123456789", "QQ：[QQ]"), ("加我qq 12345678", "加我qq [QQ]"), ("扣扣：98765432", "扣扣：[QQ]"),
    ("我的QQ是1234567890", "我的QQ是[QQ]"), ("QQ/微信：55667788", "QQ/微信：[QQ]"), ("my QQ is 77889900", "my QQ is [QQ]"),
    ("QQ号码 13800138000", "QQ号码 [QQ]"),  # an 11-digit QQ number is a QQ number, not a phone
    ("ＱＱ：１２３４５６７８", "ＱＱ：[QQ]"),
])
def test_qq_numbers(text, expected):
    only("qq", text, expected)


@pytest.mark.parametrize("text", ["QQ群123456789", "QQ音乐2026", "蒙牛QQ星 250ml", "QQ 9.8.3", "QQ飞车", "12345678 件"])
def test_qq_near_misses(text):
    assert red(text).counts.get("qq") is None


@pytest.mark.parametrize("kind,text,expected", [
    ("passport", "护照号E12345678", "护照号[PASSPORT]"),
    ("passport", "passport no. 123456789 please", "passport no. [PASSPORT] please"),
    ("passport", "EA1234567 和 G12345678", "[PASSPORT] 和 [PASSPORT]"),
    ("passport", "护照号码：SE1234567", "护照号码：[PASSPORT]"),
    ("travel_permit", "港澳通行证C12345678", "港澳通行证[TRAVEL_PERMIT]"),
    ("travel_permit", "CA1234567", "[TRAVEL_PERMIT]"),
    ("travel_permit", "台胞证号码：12345678", "台胞证号码：[TRAVEL_PERMIT]"),
    ("travel_permit", "回乡证H1234567801", "回乡证[TRAVEL_PERMIT]"),
    ("travel_permit", "台湾通行证L12345678", "台湾通行证[TRAVEL_PERMIT]"),
])
def test_passports_and_travel_permits(kind, text, expected):
    only(kind, text, expected)


@pytest.mark.parametrize("text", [
    "批号E20260901", "O202609010000123", "S10E", "EA888", "see https://support.hp.com/us-en/document/c05123456",
    "@C12345678 hi", "12345678 件", "型号H5",
])
def test_document_near_misses(text):
    counts = red(text).counts
    assert counts.get("passport") is None and counts.get("travel_permit") is None


def test_legacy_15_digit_ids():
    assert is_legacy_prc_id("110105491231002") and not is_legacy_prc_id("110105491331002")  # month 13
    only("id_number", "老身份证110105491231002", "老身份证[ID_NUMBER]")
    only("id_number", "ID 110105 491231 002 ok", "ID [ID_NUMBER] ok")
    for text in ("订单号202609010000123", "O202609010000123", "110105499931002"):  # no province / letter / day 99
        assert red(text).counts.get("id_number") is None


@pytest.mark.parametrize("text,expected", [
    ("京A12345", "[LICENCE_PLATE]"), ("车牌粤B·D12345", "车牌[LICENCE_PLATE]"), ("沪A-F12345", "[LICENCE_PLATE]"),
    ("苏E 12345", "[LICENCE_PLATE]"), ("川A12345D", "[LICENCE_PLATE]"), ("粤B1234学", "[LICENCE_PLATE]"),
    ("司机拒载车号琼A-45153.", "司机拒载车号[LICENCE_PLATE]."),
])
def test_licence_plates(text, expected):
    only("licence_plate", text, expected)


@pytest.mark.parametrize("text", ["夏新A8088", "新GT500", "黑A4纸", "京东E卡", "蒙X品牌", "云A1", "京A股"])
def test_plate_near_misses(text):
    assert red(text).counts.get("licence_plate") is None


@pytest.mark.parametrize("text,expected", [
    ("张先生您好", "[NAME]先生您好"), ("联系李女士", "联系[NAME]女士"), ("王小明女士", "[NAME]女士"),
    ("谢谢李先生", "谢谢[NAME]先生"), ("多谢吕师傅", "多谢[NAME]师傅"), ("欧阳娜娜小姐", "[NAME]小姐"),
    ("Dear Mr. Smith,", "Dear Mr. [NAME],"), ("Hi Jake, please", "Hi [NAME], please"),
    ("Regards, John Smith", "Regards, [NAME]"), ("Thanks for all — Mary", "Thanks for all — [NAME]"),
    ("Best regards,\nAnna Lee", "Best regards,\n[NAME]"), ("Fixed now. -Karla", "Fixed now. -[NAME]"),
    ("Mrs. Brown You got it", "Mrs. [NAME] You got it"), ("Hi Georgia, thanks", "Hi [NAME], thanks"),
    ("No more Mr. Cobbhttps://t.co/x1", "No more Mr. [NAME]https://t.co/x1"),
])
def test_names_after_a_salutation_or_in_a_signature(text, expected):
    only("name", text, expected)


@pytest.mark.parametrize("text", [
    "谢谢那位先生", "我先生也喜欢", "这位女士很客气", "女士手表很好看", "蒙牛先生好勤快", "辛苦师傅了", "康师傅的面",
    "杜莎夫人蜡像馆", "Hi there, ok", "Dear customer,", "Thanks, Apple", "Great phone - Recommended",
    "Hello everyone,", "headline - Daily Mail", "iPhone 15 Pro", "the pageant Miss Texas (Ylianna)",
    "Our Little Ms. Philippines", "Hey Liberals. I'm going", "Pitbull - \"Mr. Put It Down\"", "call in U.S. - Poll",
])
def test_name_near_misses(text):
    assert red(text).counts.get("name") is None


@pytest.mark.parametrize("text", [
    "O202609010000123", "iPhone 15 Pro", "XR-500", "¥1299.00", "2026-09-01", "10:30-22:00", "SF1234567890123",
    "共计3,500.00元", "订单号O202609010000123于2026-09-01 10:30发货，¥1299.00，型号XR-500",
])
def test_common_near_misses_stay(text):
    result = red(text)
    assert result.text == text and result.counts == {}


def test_a_text_with_every_new_kind():
    text = ("李女士，QQ：123456789，护照E12345678，港澳通行证C12345678，老身份证110105491231002，车牌京A12345，"
            "地址：北京市朝阳区建国路88号3栋2单元502室。Regards, John Smith")
    result = red(text)
    assert result.text == ("[NAME]女士，QQ：[QQ]，护照[PASSPORT]，港澳通行证[TRAVEL_PERMIT]，老身份证[ID_NUMBER]，"
                           "车牌[LICENCE_PLATE]，地址：[ADDRESS]。Regards, [NAME]")
    assert result.counts == {"name": 2, "qq": 1, "passport": 1, "travel_permit": 1, "id_number": 1,
                             "licence_plate": 1, "address": 1}
