{{ config(materialized='view') }}
-- Each survey response placed, per window length (1 and 7 days ending on as_of_day, the latest day with a
-- response), in the window ('current') or in the var('metric_baseline_days') days before it ('baseline'),
-- once per segment it belongs to: overall, store, channel, touchpoint, member tier. What the metric-drop
-- tests compare (int_metric_windows, int_segment_driver_windows).
{%- set segments = [('overall', "'all'"), ('store', 'store_id'), ('channel', 'channel'),
                    ('touchpoint', 'touchpoint'), ('member_tier', 'member_tier')] %}
with bounds as (
    select max(feedback_day) as as_of_day from {{ ref('int_survey_drivers') }}
),

windows as (
    select 1 as window_days
    union all select 7
),

placed as (
    select
        r.record_id, r.survey_type, r.score, r.store_id, r.channel, r.touchpoint, r.member_tier,
        b.as_of_day,
        w.window_days,
        case when r.feedback_day > b.as_of_day - w.window_days then 'current' else 'baseline' end as period
    from {{ ref('int_survey_drivers') }} as r
    cross join bounds as b
    cross join windows as w
    where r.feedback_day <= b.as_of_day
        and r.feedback_day > b.as_of_day - w.window_days - {{ var('metric_baseline_days') }}
)

{% for kind, column in segments %}
select '{{ kind }}' as segment_kind, cast({{ column }} as string) as segment_value, record_id, survey_type, score,
       as_of_day, window_days, period
from placed
where {{ column }} is not null{% if kind == 'store' %} and store_id <> '(none)'{% endif %}
{% if not loop.last %}union all{% endif %}
{% endfor %}
