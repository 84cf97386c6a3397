-- customer_key of every staged record: the key its component's anchors hold now (the smallest if a
-- component's anchors disagree, which assign_keys prevents). Records that match no customer keep a
-- null key; match_rule says how each record was tied to its customer.
with current_keys as (
    select anchor_entity, anchor_id, customer_key
    from {{ ref('int_identity__key_map') }}
    qualify row_number() over (partition by anchor_entity, anchor_id order by run_seq desc) = 1
),

component_keys as (
    select r.component, min(k.customer_key) as customer_key
    from {{ ref('int_identity__resolution') }} as r
    inner join current_keys as k on k.anchor_entity = r.entity and k.anchor_id = r.record_id
    where r.is_anchor
    group by r.component
)

select
    r.entity,
    r.record_id,
    cast(c.customer_key as bigint) as customer_key,
    r.match_rule,
    r.is_anchor
from {{ ref('int_identity__resolution') }} as r
left join component_keys as c on c.component = r.component
