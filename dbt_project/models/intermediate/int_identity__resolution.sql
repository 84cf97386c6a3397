-- Identity resolution: every record of int_identity__evidence -> a run-local component (null: none).
-- Kinds of evidence: customer_id (a CRM customer id the record names), member (a member token), order (an
-- order id; its own on an order), name, phone, email, handle, wechat, phone_masked, nickname, self.
-- The rules, over-merge guards marked [guard]:
-- 1. Anchors (CRM customers, members) are the graph's nodes, joined by hard links: a member's customer; an
--    order's customer and member; a survey's member and order; members sharing a WeChat id; customers
--    sharing a social handle.
-- 2. [guard] Two CRM customers join through contact data only when two identifiers agree: (name, phone),
--    (name, email) or (phone, email). A shared phone (a family) or e-mail (a shop) alone joins nobody.
-- 3. [guard] A contact token (phone, email, handle, wechat) on more than var identity_max_anchors_per_token
--    anchors is no evidence at all, neither to join nor to attach.
-- 4. Other records attach to one component, by the first step that finds one: an order's customer (else
--    its member) when it names a customer id; the member it names; the order it names; [guard] a contact
--    token, only when every candidate names the same component; for reviews (var identity_weak_evidence)
--    the nickname (components of reviews attached so far with that nickname) intersected with the masked
--    phone (components of customers with it), when exactly one component remains. Attaching never joins.
-- A record's token of a kind is its smallest (records carry one per kind). The component is its smallest
-- anchor 'entity:record_id': deterministic, and the order in which the key map numbers new customers.
-- tests/support/identity_reference.py is the same rules in pandas, the oracle of tests/unit/test_identity_sql.py.
{#- The graph's parts are built once as scratch tables beside the model (macros/identity.sql), read by the
    component rounds and by the final select, and dropped by the post-hook. -#}
{%- set scratch = ['anchors', 'contact', 'orders', 'components'] %}
{{ config(materialized='table', post_hook="{{ drop_scratch_tables(" ~ scratch ~ ") }}") }}

{%- set cap = var('identity_max_anchors_per_token') | int %}
{%- set weak = (var('identity_weak_evidence') | string | lower) not in ('false', '0', 'none', '') %}
{#- match_rule of each attachment step, in order: a record keeps the first step that attaches it -#}
{%- set steps = ['customer_id', 'member', 'order', 'contact_unique', 'weak_unique'] %}
{%- set evidence = ref('int_identity__evidence') %}

{%- set anchors_sql %}
select distinct entity, record_id, concat(entity, ':', record_id) as node
from {{ evidence }}
where entity in ('crm_customers', 'crm_members')
{%- endset %}
{%- set anchors = scratch_table('anchors', anchors_sql) %}

{#- each anchor's token of each kind, less those too common to be evidence (rule 3; names and masked
    phones are never evidence alone, so they are not capped) -#}
{%- set contact_sql %}
with anchor_tokens as (
    select concat(entity, ':', record_id) as node, kind, min(token) as token
    from {{ evidence }}
    where (entity = 'crm_customers' and kind in ('name', 'phone', 'email', 'handle', 'phone_masked'))
        or (entity = 'crm_members' and kind = 'wechat')
    group by entity, record_id, kind
),

common as (
    select kind, token
    from anchor_tokens
    where kind not in ('name', 'phone_masked')
    group by kind, token
    having count(*) > {{ cap }}
)

select t.node, t.kind, t.token
from anchor_tokens as t
left join common as c on c.kind = t.kind and c.token = t.token
where c.token is null
{%- endset %}
{%- set contact = scratch_table('contact', contact_sql) %}

{#- each order's customer node, member node, and node: its customer's, else its member's -#}
{%- set orders_sql %}
select
    o.order_id,
    o.customer_id,
    c.node as customer_node,
    m.node as member_node,
    coalesce(c.node, m.node) as node
from (
    select
        record_id as order_id,
        min(case when kind = 'customer_id' then token end) as customer_id,
        min(case when kind = 'member' then token end) as member_token
    from {{ evidence }}
    where entity = 'crm_orders'
    group by record_id
) as o
left join {{ anchors }} as c on c.node = concat('crm_customers:', o.customer_id)
left join {{ anchors }} as m on m.node = concat('crm_members:', o.member_token)
{%- endset %}
{%- set orders = scratch_table('orders', orders_sql) %}

{#- the edges between anchors (rules 1 and 2); a group sharing an identifier is joined as a star, each
    node to the group's smallest -#}
{%- set edges_sql %}
with surveys as (
    select
        record_id,
        min(case when kind = 'member' then token end) as member_token,
        min(case when kind = 'order' then token end) as order_id
    from {{ evidence }}
    where entity = 'surveys'
    group by record_id
),

pairs as (
    select
        node,
        max(case when kind = 'name' then token end) as name,
        max(case when kind = 'phone' then token end) as phone,
        max(case when kind = 'email' then token end) as email
    from {{ contact }}
    where kind in ('name', 'phone', 'email')
    group by node
),

shared as (
    select kind, token, min(node) as centre
    from {{ contact }}
    where kind in ('wechat', 'handle')
    group by kind, token
)

-- rule 1: a member's customer
select concat('crm_members:', e.record_id) as src, a.node as dst
from {{ evidence }} as e
inner join {{ anchors }} as a on a.node = concat('crm_customers:', e.token)
where e.entity = 'crm_members' and e.kind = 'customer_id'
-- an order's customer and member
union all
select customer_node, member_node from {{ orders }} where customer_node is not null and member_node is not null
-- a survey's member and order
union all
select m.node, o.node
from surveys as s
inner join {{ anchors }} as m on m.node = concat('crm_members:', s.member_token)
inner join {{ orders }} as o on o.order_id = s.order_id
where o.node is not null
-- a shared WeChat id or handle
union all
select c.node, s.centre from {{ contact }} as c inner join shared as s on s.kind = c.kind and s.token = c.token
-- rule 2: two agreeing identifiers
{%- for a, b in [('name', 'phone'), ('name', 'email'), ('phone', 'email')] %}
union all
select p.node, g.centre
from pairs as p
inner join (select {{ a }}, {{ b }}, min(node) as centre from pairs group by {{ a }}, {{ b }}) as g
    on g.{{ a }} = p.{{ a }} and g.{{ b }} = p.{{ b }}
{%- endfor %}
{%- endset %}
{%- set labels = connected_components(edges_sql) %}

{%- set components_sql %}
select a.entity, a.record_id, a.node, coalesce(l.label, a.node) as component
from {{ anchors }} as a
left join {{ labels }} as l on l.node = a.node
{%- endset %}
{%- set components = scratch_table('components', components_sql) %}

with other as (
    select entity, record_id, kind, token
    from {{ evidence }}
    where entity not in ('crm_customers', 'crm_members')
),

-- rule 4, by hard keys: (record, step, component)
hard as (
    select 'crm_orders' as entity, o.order_id as record_id, 1 as step, c.component
    from {{ orders }} as o
    inner join {{ components }} as c on c.node = o.node
    where o.customer_id is not null
    union all
    select r.entity, r.record_id, 2, c.component
    from other as r
    inner join {{ components }} as c on c.node = concat('crm_members:', r.token)
    where r.kind = 'member'
    union all
    select r.entity, r.record_id, 3, c.component
    from other as r
    inner join {{ orders }} as o on o.order_id = r.token
    inner join {{ components }} as c on c.node = o.node
    where r.kind = 'order'
),

contact_candidates as (
    select distinct r.entity, r.record_id, c.component
    from other as r
    inner join {{ contact }} as t on t.kind = r.kind and t.token = r.token
    inner join {{ components }} as c on c.node = t.node
    where r.kind in ('phone', 'email', 'handle')
),

contact_unique as (
    select entity, record_id, 4 as step, min(component) as component
    from contact_candidates
    group by entity, record_id
    having count(*) = 1
),

-- per record the first step that finds a component (the smallest if several): the smallest of the
-- texts step || component (steps are one digit), a plain aggregate (no window)
strong as (
    select entity, record_id, cast(substring(found, 1, 1) as int) as step, substring(found, 2) as component
    from (
        select entity, record_id, min(concat(cast(step as string), component)) as found
        from (select * from hard union all select * from contact_unique) as candidates
        group by entity, record_id
    ) as firsts
),

{%- if weak %}

-- the weak rule: (review, kind, component) candidates of the reviews not attached yet
weak_lookup as (
    select distinct 'nickname' as kind, r.token, s.component
    from other as r
    inner join strong as s on s.entity = r.entity and s.record_id = r.record_id
    where r.entity = 'reviews' and r.kind = 'nickname'
    union all
    select distinct 'phone_masked', t.token, c.component
    from {{ contact }} as t
    inner join {{ components }} as c on c.node = t.node
    where t.kind = 'phone_masked'
),

weak_candidates as (
    select distinct r.record_id, r.kind, w.component
    from other as r
    inner join weak_lookup as w on w.kind = r.kind and w.token = r.token
    left join strong as s on s.entity = r.entity and s.record_id = r.record_id
    where r.entity = 'reviews' and s.record_id is null
),

weak_kinds as (
    select record_id, count(distinct kind) as kinds from weak_candidates group by record_id
),

-- components named by every kind that names any
weak_fits as (
    select c.record_id, c.component
    from weak_candidates as c
    inner join weak_kinds as k on k.record_id = c.record_id
    group by c.record_id, c.component, k.kinds
    having count(*) = k.kinds
),

weak_unique as (
    select 'reviews' as entity, record_id, 5 as step, min(component) as component
    from weak_fits
    group by record_id
    having count(*) = 1
),
{%- endif %}

attached as (
    select * from strong
    {%- if weak %}
    union all
    select * from weak_unique
    {%- endif %}
),

records as (
    select distinct entity, record_id from other
)

select entity, record_id, component, 'anchor' as match_rule, true as is_anchor
from {{ components }}
union all
select
    r.entity,
    r.record_id,
    a.component,
    case a.step {%- for rule in steps %} when {{ loop.index }} then '{{ rule }}'{% endfor %} end as match_rule,
    false
from records as r
left join attached as a on a.entity = r.entity and a.record_id = r.record_id
