-- NPS, CSAT and CES per local day x channel (over stores, touchpoints and stages), with n, the 95%
-- intervals and small-n flags (macro survey_metrics): the per-channel trend lines of the overview.
{{ survey_metrics(ref('int_feedback__journey'), ['feedback_day', 'channel']) }}
