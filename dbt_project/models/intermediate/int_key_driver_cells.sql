-- The key-driver analysis input (cem_pipeline/analytics/drivers.py), aggregated: NPS responses of the last
-- var('key_driver_days') days (ending on the latest day with a survey response) counted per channel x journey
-- stage x score x set of drivers mentioned. Few distinct cells at any volume, so the bootstrap resamples
-- counts, not rows, and the analysis runs on one machine whichever engine built this.
with bounds as (
    select max(feedback_day) as as_of_day from {{ ref('int_survey_drivers') }}
)

select
    b.as_of_day,
    r.channel,
    r.journey_stage,
    r.score,
    r.drivers,
    count(*) as responses
from {{ ref('int_survey_drivers') }} as r
cross join bounds as b
where r.survey_type = 'nps'
    and r.feedback_day > b.as_of_day - {{ var('key_driver_days') }}
group by b.as_of_day, r.channel, r.journey_stage, r.score, r.drivers
