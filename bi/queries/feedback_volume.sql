-- Feedback volume per day x source (fct_feedback).
-- If marts.fct_feedback is not in the BI file yet this returns no rows, and the page says "not built yet".
set variable cem_q = (
    select case when count(*) > 0 then $$    select feedback_day, source, count(*) as feedback from marts.fct_feedback group by 1, 2 order by 1, 2
$$ else 'select 1 as not_built_yet where false' end
    from information_schema.tables where table_schema = 'marts' and table_name = 'fct_feedback'
);
select * from query(getvariable('cem_q'))
