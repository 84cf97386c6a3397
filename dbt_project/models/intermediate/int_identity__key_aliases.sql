-- Keys retired by a merge of two customers, and the key that replaced them (follow chains to the
-- key in use now). BI joins old keys through this table.
with merges as (
    select distinct cast(previous_key as bigint) as alias_key, customer_key, assigned_at
    from {{ ref('int_identity__key_map') }}
    where reason = 'merged' and previous_key is not null
),

live as (
    select distinct customer_key from {{ ref('int_identity__record_keys') }} where customer_key is not null
)

select m.alias_key, m.customer_key, m.assigned_at as merged_at
from merges as m
where m.alias_key not in (select customer_key from live)
qualify row_number() over (partition by m.alias_key order by m.assigned_at desc) = 1
