-- The data-quality report: per source entity and UTC day of its gate runs, the loads gated, rows in, passed
-- and quarantined, the pass rate, rows that passed with a warning, the top 3 failing rules and warnings
-- ("rule:field (distinct record versions)") and the unknown fields (schema drift). Every entity the gates
-- have seen gets a row for every such day (zeros on a day it had no load). Published for BI.
with ledger as (
    select entity, cast(gated_at as date) as report_day, rows_in, passed, quarantined
    from {{ ref('stg_quarantine__gate_ledger') }}
),

days as (
    select distinct report_day from ledger
),

entities as (
    select distinct entity from ledger
),

gated as (
    select entity, report_day, count(*) as loads, sum(rows_in) as rows_in, sum(passed) as passed,
           sum(quarantined) as quarantined
    from ledger
    group by 1, 2
),

failing_rules as (
    select entity, cast(quarantined_at as date) as report_day, rule, coalesce(field, '-') as field,
           count(distinct _record_hash) as n
    from {{ ref('stg_quarantine__quarantined_records') }}
    group by 1, 2, 3, 4
),

warning_rules as (
    select entity, cast(observed_at as date) as report_day, rule, coalesce(field, '-') as field,
           count(distinct _record_hash) as n
    from {{ ref('stg_quarantine__quality_warnings') }}
    group by 1, 2, 3, 4
),

top_failing as (
    select entity, report_day,
           {{ string_agg_ordered("rule || ':' || field || ' (' || cast(n as string) || ')'", "', '", 'n desc, rule, field') }}
               as top_failing_rules
    from (
        select * from failing_rules
        qualify row_number() over (partition by entity, report_day order by n desc, rule, field) <= 3
    )
    group by 1, 2
),

top_warned as (
    select entity, report_day,
           {{ string_agg_ordered("rule || ':' || field || ' (' || cast(n as string) || ')'", "', '", 'n desc, rule, field') }}
               as top_warnings
    from (
        select * from warning_rules
        qualify row_number() over (partition by entity, report_day order by n desc, rule, field) <= 3
    )
    group by 1, 2
),

warned as (
    select entity, cast(observed_at as date) as report_day, count(distinct _record_hash) as warned_rows
    from {{ ref('stg_quarantine__quality_warnings') }}
    group by 1, 2
),

drift as (
    select entity, cast(observed_at as date) as report_day,
           {{ string_agg_ordered('field', "', '", 'field', distinct=true) }} as unknown_fields
    from {{ ref('stg_quarantine__schema_drift') }}
    group by 1, 2
)

select
    d.report_day,
    e.entity,
    cast(coalesce(g.loads, 0) as bigint) as loads,
    cast(coalesce(g.rows_in, 0) as bigint) as rows_in,
    cast(coalesce(g.passed, 0) as bigint) as passed,
    cast(coalesce(g.quarantined, 0) as bigint) as quarantined,
    cast({{ share('g.passed', 'g.rows_in') }} as double) as pass_rate,
    cast(coalesce(w.warned_rows, 0) as bigint) as warned_rows,
    f.top_failing_rules,
    t.top_warnings,
    dr.unknown_fields,
    {{ utc_now() }} as generated_at
from days as d
cross join entities as e
left join gated as g on g.entity = e.entity and g.report_day = d.report_day
left join warned as w on w.entity = e.entity and w.report_day = d.report_day
left join top_failing as f on f.entity = e.entity and f.report_day = d.report_day
left join top_warned as t on t.entity = e.entity and t.report_day = d.report_day
left join drift as dr on dr.entity = e.entity and dr.report_day = d.report_day
