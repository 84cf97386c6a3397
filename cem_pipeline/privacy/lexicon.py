"""Word lists the free-text rules of :mod:`cem_pipeline.privacy.redact` read: surnames, place-name parts,
plate prefixes, and the words that look like names but are not. Data only; the rules live in ``redact``.
"""

from __future__ import annotations

# The ~200 most common Chinese surnames, without those that mostly end an ordinary word before a salutation
# in the real reviews (和: 家长和老师; 文: 语文老师; 时: 大学时老师; 明 成 全 向 麻 ...).
CN_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高于方安常林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔"
    "汤温康施牛樊葛邢齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴"
    "霍涂苗谷盛曲翁冉骆蓝游辛靳管柴鲍华喻祁蒲房滕屈饶解牟艾尤穆卓古吉缪简项连芦麦褚娄窦戚岑景党宫费卜"
    "冷晏席卫米柏宗瞿桂佟臧闵苟邬边卞姬仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩佘池查迟邝"
)
CN_COMPOUND_SURNAMES = (
    "欧阳", "司马", "诸葛", "上官", "东方", "慕容", "令狐", "皇甫", "尉迟", "公孙", "长孙", "宇文", "司徒",
    "夏侯", "轩辕", "端木", "西门", "南宫", "独孤", "申屠", "百里", "呼延", "澹台", "万俟", "闻人",
)
# What follows a Chinese name to address its bearer: 张先生, 李女士, 王小姐, 陈老师...
CN_SALUTATIONS = ("先生", "女士", "小姐", "太太", "老师", "经理", "师傅")  # not 夫人: 杜莎夫人蜡像馆
# Characters that are never part of a given name before a salutation (那位先生, 我先生, 这位女士...).
CN_NAME_STOP = frozenset(
    "的了在是我你他她它们这那有和与及或就都也还要会能把被给对向从于为说听看想去来住寄送收发填写改换请帮让"
    "叫找问感很太真最更已经过着吗呢吧啊哦呀嘛么什怎哪谁个位些每各等只又再才将因所而但如果其以几两老大某"
    "该本此男女客户店家卖买员工司机快递外服务名称姓号先生士姐师傅经理"
)
# Words that open with a surname character, checked at the name's start and one character before it:
# 谢谢李先生 and 多谢吕师傅 name 李 and 吕, 辛苦师傅 and 蒙牛先生 name nobody.
CN_NOT_NAME_OPENINGS = frozenset((
    "谢谢", "感谢", "多谢", "辛苦", "于是", "关于", "对于", "由于", "至于", "温馨", "方便", "江湖", "包括", "尽管",
    "主任", "基金", "蒙牛",
))

# Brands that read as surname + salutation; a deployment adds its own.
CN_NAME_BRANDS = frozenset(("康师傅", "田老师", "单太太"))

# Provinces, municipalities, autonomous regions and SARs, without their suffix (省, 市, 自治区...).
CN_PROVINCES = (
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建",
    "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海",
    "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门",
)
# Characters that end no place name part and start no road name: stop an address from reaching left
# into the sentence ("我住在" never belongs to "建设路88号").
# Not in it: characters of common place names (成都, 太原, 于洪区, 向阳路, 来安县, 达州, 经济技术开发区, 发展大道).
CN_PLACE_STOP = frozenset(
    "的了在是我你他她它们这那有与及或就也还要能把被给对从为说听看想去住寄送收填写改换请帮让叫"
    "找问谢感很真最更已过着吗呢吧啊哦呀嘛么什怎哪谁个些每各等只又再才刚因所而但果其以址到距离"
)
# Licence plates: the one-character province prefixes of GA 36 plates.
PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"

# Capitalised words that follow "Hi", "Dear", "Mr." or a dash but are not a person's name.
EN_NOT_NAMES = frozenset("""
    All Everyone Everybody Anyone Team Guys Folks Friends Friend Sir Sirs Madam Madame Customer Customers Support
    World Again There Here You Thanks Thank The This That These Those It We Me My Our Your Please Sorry Love Hope
    Good Great Happy Merry Mom Mum Dad Mother Father Baby Babe Honey Dude Man Bro Buddy Mate Ladies Gentlemen
    Admin Siri Alexa Google Cortana Kitty Santa God Jesus Lord Folk People Fans Followers Twitter Facebook Amazon
    Apple Microsoft Sony Delta Uber Netflix Spotify Customers Service Care Help Team Staff Everyone Ya Yall Y'all
    Not No Yes Ok Okay Well Just Only Also And But Or So If When Then What Why How Who Where Which Today Tomorrow
    Tonight Morning Afternoon Evening Night Monday Tuesday Wednesday Thursday Friday Saturday Sunday Again Guys
    Highly Recommended Recommend Amazing Awesome Excellent Perfect Terrible Horrible Worst Best Nice Cool Wow
    Thx Cheers Regards Sincerely Yours Best Warm Kind Many Regards Update Note Edit PS Sent From iPhone Android
    Mr Mrs Ms Miss Mx Dr Prof President Seller Daily News Post Times Tribune Journal Chronicle Mail Press Herald
    Magazine Review Online
    Put Let's Lets Poll Polls Colleague Colleagues Satan Babes Liberals Conservatives Democrats Republicans
    Americans Voters Haters Tesco Walmart Target Starbucks McDonald's
""".split()) | frozenset(
    # Places after a title are pageants and nicknames ("Miss Texas", "Ms. Philippines", "Mr. Greek"), never a
    # person's name in a text; states and countries that are also first names or surnames (Georgia, Virginia,
    # Washington, Chad, Jordan...) are left out, so "Hi Georgia," is still redacted.
    """
    Alabama Alaska Arizona Arkansas California Colorado Connecticut Delaware Florida Hawaii Idaho Illinois
    Iowa Kansas Kentucky Louisiana Maine Maryland Massachusetts Michigan Minnesota Mississippi Missouri
    Nebraska Nevada Ohio Oklahoma Oregon Pennsylvania Tennessee Texas Utah Vermont Wisconsin Wyoming
    America USA Canada Mexico Brazil England Britain Scotland Wales Ireland France Germany Italy Spain
    Portugal Greece Russia Ukraine Poland China Japan Korea India Pakistan Philippines Australia Africa
    Nigeria Egypt Turkey Europe Asia Universe Boston Chicago Texas London Paris
    American British English Irish Scottish French German Italian Spanish Greek Russian Chinese Japanese
    Korean Indian Mexican Canadian Australian African European Asian
    """.split())
