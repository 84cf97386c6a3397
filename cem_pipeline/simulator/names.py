"""Vocabularies the simulator draws from: names, cities, stores, products, platforms, touchpoints."""

ZH_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘") + ["欧阳", "司马", "诸葛"]
ZH_GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力梅琳晨宇浩然子轩欣怡梓涵诗雨嘉")
ZH_PINYIN = ["wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou", "xu", "sun",
             "ma", "zhu", "hu", "guo", "he", "gao", "lin", "luo"]
EN_FIRST = ["James", "Mary", "John", "Linda", "Robert", "Emma", "David", "Olivia", "Michael", "Sophia",
            "William", "Ava", "Daniel", "Mia", "Thomas", "Chloe", "Kevin", "Grace", "Ryan", "Lucy",
            "Jason", "Amy", "Eric", "Helen", "Tony", "Cindy", "Peter", "Jenny", "Alex", "Vivian"]
EN_LAST = ["Smith", "Johnson", "Brown", "Taylor", "Wilson", "Lee", "Wong", "Chan", "Martin", "Clark",
           "Walker", "Hall", "Young", "King", "Wright", "Green", "Baker", "Adams", "Nelson", "Carter"]
EMAIL_DOMAINS = ["qq.com", "163.com", "126.com", "gmail.com", "outlook.com", "foxmail.com", "sina.com",
                 "hotmail.com", "yahoo.com", "icloud.com"]
SHARED_SHOP_EMAIL = "service@xiaodian-shop.com"  # a shop's e-mail many buyers' accounts carry

CITIES = [  # (zh name, region, weight)
    ("上海", "华东", 14), ("北京", "华北", 12), ("广州", "华南", 9), ("深圳", "华南", 9), ("杭州", "华东", 7),
    ("成都", "西南", 7), ("武汉", "华中", 6), ("南京", "华东", 6), ("西安", "西北", 5), ("重庆", "西南", 5),
    ("苏州", "华东", 4), ("天津", "华北", 4), ("长沙", "华中", 4), ("青岛", "华东", 3), ("厦门", "华南", 3),
    ("香港", "港澳台", 2),
]
MALLS = ["万象城", "大悦城", "来福士", "太古里", "恒隆广场", "万达广场", "龙湖天街", "印象城", "银泰城", "K11"]
STORE_FORMATS = ["mall", "mall", "mall", "street", "outlet"]
ONLINE_STORES = [("ONL-TMALL", "天猫旗舰店", "tmall"), ("ONL-JD", "京东自营旗舰店", "jd"),
                 ("ONL-APP", "官方App商城", "own_app"), ("ONL-WEB", "官方网站商城", "own_web"),
                 ("ONL-WX", "微信小程序商城", "wechat")]

PRODUCTS = [  # (id, zh name, category, price CNY)
    ("P1001", "经典纯棉T恤", "apparel", 99.0), ("P1002", "轻薄羽绒服", "apparel", 599.0),
    ("P1003", "修身牛仔裤", "apparel", 299.0), ("P2001", "无线降噪耳机", "electronics", 899.0),
    ("P2002", "智能手环", "electronics", 249.0), ("P2003", "快充移动电源", "electronics", 129.0),
    ("P3001", "保湿洗发水", "personal_care", 69.0), ("P3002", "氨基酸洁面乳", "personal_care", 89.0),
    ("P4001", "有机纯牛奶 12盒", "food", 79.0), ("P4002", "每日坚果礼盒", "food", 139.0),
    ("P5001", "不粘炒锅", "home", 259.0), ("P5002", "电热水壶", "home", 159.0),
    ("P6001", "畅销小说精装版", "books", 49.0), ("P6002", "儿童绘本套装", "books", 128.0),
]

REVIEW_PLATFORMS = {"zh": ["tmall", "jd", "dianping", "meituan"], "en": ["amazon", "yelp", "google"]}
SOCIAL_PLATFORMS = {"zh": ["weibo", "xiaohongshu", "douyin"], "en": ["twitter", "instagram"]}
ORDER_CHANNELS = [("store", 0.40), ("app", 0.25), ("web", 0.15), ("mini_program", 0.20)]
CALL_QUEUES = ["delivery", "returns", "billing", "product", "complaint", "membership"]
TIERS = [("bronze", 0.50), ("silver", 0.30), ("gold", 0.15), ("platinum", 0.05)]

# touchpoint -> channel where the survey was answered (the journey seed in dbt maps stages).
TOUCHPOINTS = [
    ("store_visit", "store"), ("store_checkout", "store"), ("app_browse", "app"),
    ("app_checkout", "app"), ("web_checkout", "web"), ("mini_program_order", "mini_program"),
    ("delivery", "web"), ("returns", "web"), ("call_center", "call_center"), ("membership", "app"),
]
SURVEY_TYPES = [("nps", 0.5), ("csat", 0.3), ("ces", 0.2)]
