-- One row per piece of feedback, every channel: the published copy of int_feedback__unioned.
select * from {{ ref('int_feedback__unioned') }}
