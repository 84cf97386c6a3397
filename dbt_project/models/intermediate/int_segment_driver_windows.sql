-- Per segment x window length x period (as in int_metric_windows): how many survey responses mention each
-- driver, and how many responses there are. What a metric alert names as "the drivers that moved".
with placed as (
    select * from {{ ref('int_survey_segment_windows') }}
),

totals as (
    select segment_kind, segment_value, as_of_day, window_days, period, count(*) as responses
    from placed
    group by segment_kind, segment_value, as_of_day, window_days, period
),

mentioned as (
    select p.segment_kind, p.segment_value, p.as_of_day, p.window_days, p.period, m.driver,
           count(*) as mentions
    from placed as p
    inner join {{ ref('int_survey_driver_mentions') }} as m on m.record_id = p.record_id
    group by p.segment_kind, p.segment_value, p.as_of_day, p.window_days, p.period, m.driver
)

select m.*, t.responses
from mentioned as m
inner join totals as t
    on t.segment_kind = m.segment_kind and t.segment_value = m.segment_value
    and t.window_days = m.window_days and t.period = m.period
