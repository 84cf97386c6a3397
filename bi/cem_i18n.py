"""The dashboards' two languages: every title, label, axis, caption and message in English and Chinese.

gettext-style: a page writes the English text, ``t("Store scorecard")``, and :data:`ZH` holds its Chinese.
``t`` formats after translating, so a figure is put into either sentence the same way:
``t("Window {start} … {end}.", start=..., end=...)``. A text without a Chinese entry is a defect:
tests/unit/test_bi_i18n.py reads every ``t("…")`` in bi/ and fails on a missing or unused entry, and on any
user-facing string a page passes to Streamlit without ``t``.

The language: the page's switch (kept for the browser session), else ``?lang=zh|en`` in the URL, else
``CEM_BI_LANG``, else the locale (cem_pipeline.config.bi_language_setting).
"""

from __future__ import annotations

import streamlit as st

from cem_pipeline.config import BI_LANGUAGES, ConfigError, bi_language_setting

LANGUAGE_NAMES = {"en": "English", "zh": "中文"}
_STATE = "cem_lang"


def language() -> str:
    """The language of this browser session (set once, then changed only by the switch)."""
    if _STATE not in st.session_state:
        asked = st.query_params.get("lang")
        if asked in BI_LANGUAGES:
            st.session_state[_STATE] = asked
        else:
            try:
                st.session_state[_STATE] = bi_language_setting()
            except ConfigError as error:
                st.error(str(error))
                st.session_state[_STATE] = "en"
    return st.session_state[_STATE]


def language_switch() -> str:
    """The sidebar's language switch (the same label in both languages); the URL follows it, so a link keeps it."""
    language()
    choice = st.sidebar.radio("Language · 语言", BI_LANGUAGES, key=_STATE, horizontal=True,
                              format_func=LANGUAGE_NAMES.get)
    st.query_params["lang"] = choice
    return choice


def t(text: str, **values) -> str:
    """``text`` in the session's language, with ``values`` formatted in (``str.format``)."""
    if language() == "zh":
        text = ZH.get(text, text)
    return text.format(**values) if values else text


# Column names of the marts as table headers (the mart's own name where none is listed).
COLUMNS = {
    "channel": "channel", "n": "responses", "nps": "NPS", "nps_margin_of_error": "± 95% MoE", "small_n": "small n",
    "journey_stage": "journey stage", "stage_order": "stage order", "feedback_volume": "feedback",
    "share_negative": "share negative", "share_positive": "share positive", "nps_n": "NPS responses",
    "csat_n": "CSAT responses", "csat": "CSAT", "ces_n": "CES responses", "ces": "CES",
    "pain_rank": "rank", "touchpoint": "touchpoint", "topic": "topic", "topic_zh": "topic (Chinese)",
    "volume": "volume", "negative": "negative", "neutral": "neutral", "positive": "positive",
    "nps_others": "NPS of the others", "nps_points_at_stake": "NPS points at stake",
    "prev_volume": "volume, period before", "volume_change": "Δ volume",
    "share_negative_change": "Δ share negative", "nps_points_at_stake_change": "Δ NPS points at stake",
    "period_start": "from", "period_end": "to", "mentions": "mentions", "feedback_items": "feedback items",
    "mean_sentiment": "mean sentiment",
    "nps_rank": "NPS rank", "nps_rank_reliable": "rank reliable", "store_id": "store", "store_name": "store name",
    "city": "city", "region": "region", "store_format": "format", "nps_ci_low": "NPS 95% low",
    "nps_ci_high": "NPS 95% high", "reviews": "reviews", "avg_rating": "mean rating",
    "alert_id": "alert", "priority": "priority", "severity": "severity", "member_tier": "member tier",
    "alert_day": "day", "opened_at": "opened at", "due_at": "due at", "triggers": "triggers",
    "trigger_count": "triggers (n)", "worst_source": "worst source", "worst_nps_score": "lowest NPS answer",
    "worst_csat_score": "lowest CSAT answer", "worst_rating": "lowest rating",
    "min_sentiment_score": "lowest sentiment", "feedback_excerpt": "feedback (redacted)", "overdue": "past SLA",
}


def column_label(name: str) -> str:
    return t(COLUMNS.get(name, name))


def column_config(frame, **configs) -> dict:
    """``st.dataframe``'s column_config with every column of ``frame`` labelled in the session's language;
    ``configs`` maps a column to a ``st.column_config`` factory taking the label (``lambda label: ...``)."""
    return {name: configs[name](column_label(name)) if name in configs else st.column_config.Column(column_label(name))
            for name in frame.columns}


# The metric definitions shown where a number appears (tile help, captions).
NPS_DEFINITION = ("NPS = % promoters (9–10) − % detractors (0–6) of the 0–10 likelihood-to-recommend answers, "
                  "from −100 to +100.")
CSAT_DEFINITION = "CSAT = share of 4 and 5 answers on the 1–5 satisfaction scale; its interval is Wilson's."
CES_DEFINITION = "CES = mean answer on the 1–7 customer-effort scale (7 = very easy)."
MOE_DEFINITION = ("± is the 95% margin of error; cells with fewer than 30 responses are flagged small n and are "
                  "not reliable.")


ZH: dict[str, str] = {
    # navigation and shared
    "CX overview": "体验总览",
    "Pain points": "痛点",
    "Store scorecard": "门店计分卡",
    "Closed-loop alerts": "闭环预警",
    "Key drivers": "关键驱动因素",
    "Metric alerts": "指标下跌预警",
    "Source: `{path}` · published {published} UTC": "数据来源：`{path}` · 发布于 {published} UTC",
    "The BI file `{path}` does not exist yet. Run `make demo` (or materialize `bi_publication` in the Dagster "
    "UI), then reload this page.":
        "BI 文件 `{path}` 尚不存在。请先运行 `make demo`（或在 Dagster 界面中物化 `bi_publication`），然后刷新本页。",
    "**{what} — not built yet.** `{table}` is not in the BI file. It appears here after the next pipeline run "
    "that builds it (`make demo`).":
        "**{what}——尚未生成。** BI 文件中还没有 `{table}`。下一次生成它的流水线运行（`make demo`）之后会显示在这里。",
    "Query `{name}` failed against the BI file: {error}": "查询 `{name}` 在 BI 文件上执行失败：{error}",
    "day": "日期",
    "{metric} 95% low": "{metric} 95% 下限",
    "{metric} 95% high": "{metric} 95% 上限",
    NPS_DEFINITION: "NPS = 推荐者（9–10 分）占比 − 贬损者（0–6 分）占比，基于 0–10 分的推荐意愿回答，取值 −100 到 +100。",
    CSAT_DEFINITION: "CSAT = 1–5 分满意度中 4 分和 5 分的占比；区间为 Wilson 区间。",
    CES_DEFINITION: "CES = 1–7 分客户费力度的平均分（7 = 非常容易）。",
    MOE_DEFINITION: "± 为 95% 误差范围；回答少于 30 条的格子标记为样本小，结果不可靠。",
    # columns
    "channel": "渠道", "responses": "回答数", "± 95% MoE": "± 95% 误差", "small n": "样本小",
    "journey stage": "旅程阶段", "stage order": "阶段顺序", "feedback": "反馈量", "share negative": "负面占比",
    "share positive": "正面占比", "NPS responses": "NPS 回答数", "CSAT responses": "CSAT 回答数",
    "CES responses": "CES 回答数", "rank": "排名", "touchpoint": "触点", "topic": "话题",
    "topic (Chinese)": "话题（中文）", "volume": "提及量", "negative": "负面", "neutral": "中性", "positive": "正面",
    "NPS of the others": "其他客户的 NPS", "NPS points at stake": "NPS 影响分值",
    "volume, period before": "上期提及量", "Δ volume": "提及量变化", "Δ share negative": "负面占比变化",
    "Δ NPS points at stake": "NPS 影响分值变化", "from": "起", "to": "止", "mentions": "提及次数",
    "feedback items": "反馈条数", "mean sentiment": "平均情感分", "NPS rank": "NPS 排名",
    "rank reliable": "排名可靠", "store": "门店", "store name": "门店名称", "city": "城市", "region": "区域",
    "format": "业态", "NPS 95% low": "NPS 95% 下限", "NPS 95% high": "NPS 95% 上限", "reviews": "评价数",
    "mean rating": "平均评分", "alert": "预警", "priority": "优先级", "severity": "严重程度",
    "member tier": "会员等级", "opened at": "开启时间", "due at": "截止时间", "triggers": "触发条件",
    "triggers (n)": "触发数", "worst source": "最差来源", "lowest NPS answer": "最低 NPS 分",
    "lowest CSAT answer": "最低 CSAT 分", "lowest rating": "最低评分", "lowest sentiment": "最低情感分",
    "feedback (redacted)": "反馈（已脱敏）",
    # overview
    "Customer experience — executive overview": "客户体验——管理层总览",
    "NPS by channel — last 7 days of data ({start} … {end})": "各渠道 NPS——最近 7 天数据（{start} … {end}）",
    "yes": "是",
    "NPS trend with its 95% confidence band": "NPS 趋势及其 95% 置信带",
    "NPS by channel": "各渠道 NPS",
    "NPS by journey stage — last 28 days of data": "各旅程阶段 NPS——最近 28 天数据",
    "No NPS by journey stage in the BI file yet (the touchpoint → stage mapping is not published).":
        "BI 文件中还没有各旅程阶段的 NPS（触点 → 阶段映射尚未发布）。",
    "CSAT — share of 4–5 answers": "CSAT——4–5 分占比",
    "CES — mean of the 1–7 ease scale": "CES——1–7 分费力度均值",
    "Journey stages — last 28 days of data": "旅程阶段——最近 28 天数据",
    "Feedback volume by source": "各来源反馈量",
    "source": "来源",
    "Feedback": "反馈",
    "Journey stages": "旅程阶段",
    # pain points
    "mart_pain_points is published but has no rows yet.": "mart_pain_points 已发布，但还没有数据。",
    "Period {start} … {end}. NPS points at stake = how much the overall NPS would rise if this group scored like "
    "everyone else.": "统计期 {start} … {end}。NPS 影响分值 = 若该组客户的评分与其他客户相同，整体 NPS 会上升多少分。",
    "No topic mentions published yet: showing every touchpoint as a whole (topic = (any)).":
        "尚未发布话题提及：按触点整体显示（话题 = (any)）。",
    "Topics × sentiment": "话题 × 情感",
    "Topic sentiment": "话题情感",
    "share of mentions": "提及占比",
    "sentiment": "情感",
    "count": "数量",
    # store scorecard
    "mart_store_scorecard is published but has no rows yet.": "mart_store_scorecard 已发布，但还没有数据。",
    "Window {start} … {end}. Bars show the 95% interval; stores with fewer than 30 NPS responses are flagged "
    "small n and get no reliable rank.":
        "统计窗口 {start} … {end}。横线为 95% 区间；NPS 回答少于 30 条的门店标记为样本小，不给出可靠排名。",
    "NPS (95% interval)": "NPS（95% 区间）",
    # closed-loop alerts
    "No open alerts.": "没有未关闭的预警。",
    "open alerts": "未关闭预警",
    "critical": "严重",
    "past SLA": "已超时",
    "Open alerts for one customer each per day; an alert is past its SLA when its due time is before the newest "
    "alert's opening (the data's clock).":
        "每位客户每天最多一条预警；截止时间早于最新预警开启时间（数据的时钟）即为超时。",
    "Customer keys and redacted text only: the BI file never holds raw PII.":
        "只有客户键和已脱敏文本：BI 文件从不包含原始个人信息。",
    # key drivers
    "overall": "整体", "journey_stage": "旅程阶段",
    "lowers": "拉低", "no clear effect": "无明确影响", "raises": "拉高",
    "performance: mean 0–10 answer of those who mention it": "表现：提及该因素的客户 0–10 分回答的均值",
    "importance: share of the answer's variance it explains": "重要性：该因素解释的回答方差占比",
    "effect": "影响方向",
    "share affected": "受影响占比",
    "driver": "驱动因素",
    "direction": "方向",
    "effect (points)": "影响（分）",
    "effect 95% low": "影响 95% 下限",
    "effect 95% high": "影响 95% 上限",
    "importance": "重要性",
    "importance 95% low": "重要性 95% 下限",
    "importance 95% high": "重要性 95% 上限",
    "share of explained": "解释占比",
    "mean answer, affected": "受影响者平均分",
    "mean answer, others": "其他人平均分",
    "fix-first rank": "优先改进排名",
    "fix first: important, poorly rated": "优先改进：重要且评价差",
    "strengths: important, well rated": "优势：重要且评价好",
    "secondary: less important, poorly rated": "次要：不太重要、评价差",
    "less important, well rated": "不太重要、评价好",
    "**No key drivers yet.** `analytics.mart_key_drivers` is published but empty: no segment had enough NPS "
    "answers (`CEM_KEY_DRIVER_MIN_RESPONSES`) whose comments mention a topic often enough "
    "(`CEM_KEY_DRIVER_MIN_MENTIONS`). It fills in once the daily run sees enough survey comments.":
        "**尚无关键驱动因素。** `analytics.mart_key_drivers` 已发布但为空：没有哪个细分群体有足够多的 NPS 回答"
        "（`CEM_KEY_DRIVER_MIN_RESPONSES`），其评论提及某个话题的次数也不够（`CEM_KEY_DRIVER_MIN_MENTIONS`）。"
        "日常运行收集到足够的调研评论后即会填充。",
    "segment": "细分",
    "NPS answers": "NPS 回答数",
    "drivers analysed": "分析的驱动因素",
    "variance explained (R²)": "解释方差（R²）",
    "drivers that lower it": "拉低得分的因素",
    "effect interval below 0; ranked to fix first": "影响区间低于 0；按优先改进排序",
    "No driver clearly lowers the score in this segment: every lowering effect's 95% interval covers 0.":
        "该细分群体中没有明确拉低得分的因素：所有负向影响的 95% 区间都包含 0。",
    "**Fix first: `{driver}`** — mentioned in {share} of answers; those customers answer {affected} on average "
    "against {others} for the rest, and a mention moves the answer by {effect} points.":
        "**优先改进：`{driver}`**——{share} 的回答提及它；这些客户的平均分为 {affected}，其他客户为 {others}；"
        "提及它使回答变化 {effect} 分。",
    "Priority quadrant — {segment}": "优先级象限——{segment}",
    "As of {day}. How to read it: **importance** (y) is the share of the variance of likelihood-to-recommend (the "
    "0–10 answer) the driver explains — Johnson's relative weight; a segment's importances add up to its R², so "
    "*share of explained* = importance / R². **Performance** (x) is the mean answer of the customers who mention "
    "the driver. Dashed lines are the medians: top left (important and poorly rated) is where to act first. Point "
    "size is the share of answers that mention the driver, colour whether it **lowers** or **raises** the answer "
    "(its effect interval excludes 0) or has no clear effect. **Effect** is how many points the 0–10 answer moves "
    "when a customer mentions it, other drivers held fixed. Bars and intervals are bootstrap 95% intervals "
    "({resamples} resamples). These are associations in observational data, not proven causes.":
        "数据截至 {day}。读图方法：**重要性**（纵轴）是该因素解释的推荐意愿（0–10 分回答）方差占比——Johnson "
        "相对权重；一个细分群体的重要性之和等于其 R²，因此 *解释占比* = 重要性 / R²。**表现**（横轴）是提及该因素的"
        "客户的平均回答。虚线为中位数：左上角（重要且评价差）是最应优先行动之处。点的大小为提及该因素的回答占比，"
        "颜色表示它 **拉低** 还是 **拉高** 回答（影响区间不含 0），或无明确影响。**影响** 是在其他因素不变时，"
        "客户提及它使 0–10 分回答变化的分数。误差线和区间为自助法 95% 区间（{resamples} 次重抽样）。"
        "这些是观察数据中的关联，并非已证实的因果。",
    "Drivers — fix first, then by importance": "驱动因素——先列优先改进项，再按重要性排序",
    "fix first": "优先改进",
    "effect (points, 95%)": "影响（分，95%）",
    "importance (95%)": "重要性（95%）",
    "1 = fix first; only drivers that lower the score, by share of explained × share affected":
        "1 = 最优先改进；仅限拉低得分的因素，按解释占比 × 受影响占比排序",
    "importance / R²": "重要性 / R²",
    # metric alerts
    "alerts": "预警数",
    "NPS alerts": "NPS 预警",
    "segments tested": "检验的细分",
    "Rows of analytics.metric_tests: every metric × segment × window tested in the run.":
        "analytics.metric_tests 的行数：本次运行检验的每个指标 × 细分 × 窗口。",
    "as of": "截至",
    "Each metric of each segment (overall, store, channel, touchpoint, member tier) on its latest day and latest 7 "
    "days is tested against the 28 days before. Hundreds of segments are tested per run, so a drop alerts only "
    "when its Benjamini–Hochberg adjusted **q** stays within the false-discovery rate (5% by default, "
    "`CEM_DROP_FDR`); **p** is the one-sided test's own p-value. Change = window − baseline with its 95% interval: "
    "NPS in points, CSAT in percentage points, CES on the 1–7 scale.":
        "每个细分（整体、门店、渠道、触点、会员等级）的每个指标，以最近 1 天和最近 7 天对比之前 28 天进行检验。"
        "每次运行检验数百个细分，因此只有经 Benjamini–Hochberg 校正的 **q** 不超过错误发现率（默认 5%，"
        "`CEM_DROP_FDR`）时才预警；**p** 为单侧检验本身的 p 值。变化 = 窗口 − 基线，附 95% 区间：NPS 以分计，"
        "CSAT 以百分点计，CES 以 1–7 分计。",
    "metric": "指标",
    "No significant drops among the {n} tests of the run.": "本次运行的 {n} 项检验中没有显著下跌。",
    "No significant drops.": "没有显著下跌。",
    "Significant drops — newest first ({shown} of {total})": "显著下跌——最新的在前（{total} 条中的 {shown} 条）",
    "No significant drops in the chosen metrics.": "所选指标中没有显著下跌。",
    "window": "窗口",
    "change (95%)": "变化（95%）",
    "drivers that moved": "变动的驱动因素",
    "now → baseline": "当前 → 基线",
    "flagged in": "标记窗口",
    "Drivers whose share of the segment's answers moved most the harmful way: change in percentage points "
    "(baseline → window).": "在该细分回答中占比向不利方向变动最大的驱动因素：百分点变化（基线 → 窗口）。",
    "Every test of the run": "本次运行的全部检验",
    "All tests of the run ({n}): drops or not, the most significant first":
        "本次运行的全部检验（{n} 项）：无论是否下跌，最显著的在前",
    "No tests in the run: no segment had enough answers in its window and baseline (`CEM_DROP_MIN_CURRENT`, "
    "`CEM_DROP_MIN_BASELINE`).":
        "本次运行没有检验：没有哪个细分在窗口和基线中有足够的回答（`CEM_DROP_MIN_CURRENT`、`CEM_DROP_MIN_BASELINE`）。",
    "n now": "当前 n", "n baseline": "基线 n", "now": "当前", "baseline": "基线", "drop": "下跌",
    "significant drop": "显著下跌",
    "{value} (n={n}) vs {baseline} (n={baseline_n})": "{value}（n={n}）对比 {baseline}（n={baseline_n}）",
    " pts": " 分", " pp": " 个百分点",
    # outcomes
    "Outcomes": "体验与经营结果",
    "horizon": "观察期",
    "{days} days": "{days} 天",
    "experience": "体验",
    "NPS group": "NPS 分组", "CSAT band": "CSAT 档位", "alert status": "预警状态", "tenure band": "客龄段",
    "promoter": "推荐者", "passive": "被动者", "detractor": "贬损者", "satisfied": "满意", "dissatisfied": "不满意",
    "no_alert": "无预警", "resolved": "已解决", "unresolved": "未解决",
    "repurchase rate": "复购率", "spend per customer": "人均消费", "churn (no order in 90 days)": "流失（90 天无订单）",
    "Repurchase within {days} days, by {what}": "{days} 天内复购率，按{what}",
    "Promoters against detractors": "推荐者对比贬损者",
    "**No outcomes yet.** `marts.mart_experience_outcomes` is published but empty: no customer answered a survey at "
    "least 30 days before the latest order, so no outcome window has ended yet.":
        "**尚无经营结果。** `marts.mart_experience_outcomes` 已发布但为空：还没有客户在最近一笔订单的 30 天以前回答过"
        "调研，因此还没有结束的观察窗口。",
    "revenue at risk": "风险收入",
    "current detractors": "当前贬损者",
    "repurchase, promoters − detractors (adjusted)": "复购率差，推荐者 − 贬损者（已调整）",
    "Today's detractors × (promoters' − detractors' spend per customer in the {days} days after their answer).":
        "当前贬损者人数 ×（回答后 {days} 天内推荐者人均消费 − 贬损者人均消费）。",
    "Mantel–Haenszel difference within member tier × tenure band strata, 95% interval.":
        "在会员等级 × 客龄段分层内的 Mantel–Haenszel 差值，95% 区间。",
    "As of {day}: the latest day with an order. Each customer counts once, with their latest survey answer from "
    "before {days} days earlier, so every outcome window has ended. **Repurchase** = at least one order in the "
    "{days} days after the answer (Wilson 95% interval); **spend** = net spend per customer (normal 95% "
    "interval); **churn** = no order in 90 days. These are associations, not causes: member tier and tenure move "
    "both experience and spend, which is why the difference below is adjusted for them.":
        "数据截至 {day}：最近一个有订单的日期。每位客户只计一次，取其在 {days} 天以前的最近一次调研回答，因此每个"
        "观察窗口都已结束。**复购** = 回答后 {days} 天内至少一笔订单（Wilson 95% 区间）；**消费** = 人均净消费"
        "（正态 95% 区间）；**流失** = 90 天内无订单。这些是关联而非因果：会员等级和客龄同时影响体验和消费，"
        "因此下面的差值按它们做了调整。",
    "customers": "客户数",
    "repurchase (95%)": "复购率（95%）",
    "spend per customer (95%)": "人均消费（95%）",
    "churn (95%)": "流失率（95%）",
    "95% low": "95% 下限", "95% high": "95% 上限",
    "No promoter − detractor comparison yet: too few promoters or detractors with an ended outcome window.":
        "尚无推荐者 − 贬损者对比：观察窗口已结束的推荐者或贬损者太少。",
    "promoters": "推荐者数", "detractors": "贬损者数",
    "difference, unadjusted (95%)": "差值，未调整（95%）",
    "difference, adjusted for tier × tenure (95%)": "差值，按等级 × 客龄调整（95%）",
    "strata used": "使用的分层数",
    "Promoter − detractor: the unadjusted difference compares everyone; the adjusted one compares promoters and "
    "detractors within the same member tier and tenure band (Mantel–Haenszel weights), so a tier that both answers "
    "higher and buys more does not inflate it. Strata without both groups are left out.":
        "推荐者 − 贬损者：未调整差值比较所有客户；调整后的差值只在同一会员等级和客龄段内比较推荐者与贬损者"
        "（Mantel–Haenszel 权重），因此评分更高且购买更多的等级不会虚增差值。缺少任一组的分层不计入。",
}
