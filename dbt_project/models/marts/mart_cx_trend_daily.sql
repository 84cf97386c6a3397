-- NPS, CSAT and CES per local day over every channel, store and touchpoint, with n, the 95% intervals and
-- small-n flags (macro survey_metrics): the trend lines and confidence bands of the overview dashboard.
{{ survey_metrics(ref('int_feedback__journey'), ['feedback_day']) }}
