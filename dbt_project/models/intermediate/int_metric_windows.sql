-- NPS, CSAT and CES with their 95% margins, per segment x window length x period (current window or its
-- trailing baseline; int_survey_segment_windows), by the one macro per metric. The metric-drop tests
-- (cem_pipeline/analytics/drops.py) compare each current row with its baseline row.
{{ survey_metrics(ref('int_survey_segment_windows'),
                  ['segment_kind', 'segment_value', 'as_of_day', 'window_days', 'period']) }}
