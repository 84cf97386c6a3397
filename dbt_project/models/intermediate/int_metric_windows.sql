-- NPS, CSAT and CES with their 95% margins and standard errors, per segment x window length x period
-- (current window or its trailing baseline; int_survey_segment_windows), by the one macro per metric (a
-- standard error is the margin at z = 1). The metric-drop tests (cem_pipeline/analytics/drops.py) compare
-- each current row with its baseline row.
with metrics as (
    {{ survey_metrics(ref('int_survey_segment_windows'),
                      ['segment_kind', 'segment_value', 'as_of_day', 'window_days', 'period']) | indent(4) }}
)

select
    *,
    case when nps_n > 0 then {{ nps_margin_of_error('promoters', 'detractors', 'nps_n', z=1) }} end
        as nps_standard_error,
    case when csat_n > 0 then {{ share_margin_of_error('satisfied', 'csat_n', z=1) }} end as csat_standard_error,
    case when ces_n > 1 then {{ mean_margin_of_error('ces_sd', 'ces_n', z=1) }} end as ces_standard_error
from metrics
