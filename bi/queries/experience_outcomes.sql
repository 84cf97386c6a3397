-- Experience -> outcomes (marts.mart_experience_outcomes, built in dbt): per horizon, experience dimension and
-- value, and segment, the customers and their repurchase rate, spend per customer and churn with 95% intervals,
-- and on the detractor rows the revenue at risk. The page only selects. No rows when not published yet.
set variable cem_q = (
    select case when count(*) > 0 then $$    select as_of_day, horizon_days, dimension, experience, segment_kind, segment_value, customers, small_n,
           repurchasers, repurchase_rate, repurchase_ci_low, repurchase_ci_high, orders_per_customer,
           spend_per_customer, spend_ci_low, spend_ci_high, churn_rate, churn_ci_low, churn_ci_high,
           current_customers, revenue_at_risk, revenue_at_risk_ci_low, revenue_at_risk_ci_high
    from marts.mart_experience_outcomes
    order by horizon_days, dimension,
             case experience when 'promoter' then 0 when 'passive' then 1 when 'detractor' then 2
                             when 'satisfied' then 0 when 'neutral' then 1 when 'dissatisfied' then 2
                             when 'no_alert' then 0 when 'resolved' then 1 when 'unresolved' then 2 else 3 end,
             case segment_kind when 'overall' then 0 when 'member_tier' then 1 else 2 end, segment_value
$$ else 'select 1 as not_built_yet where false' end
    from information_schema.tables where table_schema = 'marts' and table_name = 'mart_experience_outcomes'
);
select * from query(getvariable('cem_q'))
