-- Closed loop: one alert per identified customer per local day, published as int_cx_alerts computes it
-- (the rules, severity, priority and SLA are there; dim_customer_360 counts the same alerts).
select * from {{ ref('int_cx_alerts') }}
