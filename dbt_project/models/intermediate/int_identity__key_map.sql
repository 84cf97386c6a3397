-- The persistent customer_key map: append-only history of the key each anchor record (CRM customer or
-- member) holds; an anchor's key is its latest row. Incremental and never fully refreshed, so keys survive
-- every rebuild. Per component of this run (int_identity__resolution):
-- - no anchor holds a key yet: a new key (max key ever + 1, in order of the component's first anchor,
--   'entity:record_id');
-- - its anchors hold keys: the oldest (smallest) wins; an anchor that held another gets a row with reason
--   merged and previous_key = its old key (the alias);
-- - a key claimed by two components (a split): the one holding most of the key's anchors keeps it (then
--   the first anchor decides), the other gets a new key (reason split).
-- Only changes are appended: an unchanged graph appends nothing.
{{ config(materialized='incremental', incremental_strategy='append', full_refresh=false) }}

with anchors as (
    select entity as anchor_entity, record_id as anchor_id, component, concat(entity, ':', record_id) as sort_id
    from {{ ref('int_identity__resolution') }}
    where is_anchor
),

history as (
    {%- if is_incremental() %}
    select anchor_entity, anchor_id, customer_key, run_seq from {{ this }}
    {%- else %}
    select
        cast(null as string) as anchor_entity,
        cast(null as string) as anchor_id,
        cast(null as bigint) as customer_key,
        cast(null as bigint) as run_seq
    where 1 = 0
    {%- endif %}
),

current_keys as (
    select anchor_entity, anchor_id, customer_key
    from (
        select
            anchor_entity, anchor_id, customer_key,
            row_number() over (partition by anchor_entity, anchor_id order by run_seq desc) as latest
        from history
    ) as ranked
    where latest = 1
),

this_run as (
    select coalesce(max(customer_key), 0) as max_key, coalesce(max(run_seq), 0) + 1 as run_seq from history
),

held as (
    select a.anchor_entity, a.anchor_id, a.component, a.sort_id, k.customer_key as current_key
    from anchors as a
    left join current_keys as k on k.anchor_entity = a.anchor_entity and k.anchor_id = a.anchor_id
),

components as (
    select component, min(sort_id) as first_anchor, min(current_key) as claim
    from held
    group by component
),

-- each component's claim on its oldest key, with how many of that key's anchors it holds
claims as (
    select c.component, c.claim as customer_key, c.first_anchor, count(*) as support
    from components as c
    inner join held as h on h.component = c.component and h.current_key = c.claim
    group by c.component, c.claim, c.first_anchor
),

winners as (
    select component, customer_key
    from (
        select
            component, customer_key,
            row_number() over (partition by customer_key order by support desc, first_anchor) as rank_of_claim
        from claims
    ) as ranked
    where rank_of_claim = 1
),

-- every other component gets a new key; a component that lost its claim has split off
fresh as (
    select
        c.component,
        cast(r.max_key + row_number() over (order by c.first_anchor) as bigint) as customer_key,
        l.component is not null as split_off
    from components as c
    cross join this_run as r
    left join winners as w on w.component = c.component
    left join claims as l on l.component = c.component
    where w.component is null
),

keys as (
    select component, customer_key, false as split_off from winners
    union all
    select component, customer_key, split_off from fresh
)

select
    h.anchor_entity,
    h.anchor_id,
    k.customer_key,
    h.current_key as previous_key,
    case when h.current_key is null then 'new' when k.split_off then 'split' else 'merged' end as reason,
    r.run_seq,
    {{ utc_now() }} as assigned_at
from held as h
inner join keys as k on k.component = h.component
cross join this_run as r
where h.current_key is null or h.current_key <> k.customer_key
