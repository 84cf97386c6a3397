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
{{ config(materialized='table', post_hook="{{ drop_connected_components() }}") }}

{%- set cap = var('identity_max_anchors_per_token') | int %}
{%- set weak = (var('identity_weak_evidence') | string | lower) not in ('false', '0', 'none', '') %}

{%- set graph_ctes %}
evidence as (
    select entity, record_id, kind, token
    from {{ ref('int_identity__evidence') }}
    where record_id is not null and token is not null
),

anchors as (
    select distinct entity, record_id, concat(entity, ':', record_id) as node
    from {{ ref('int_identity__evidence') }}
    where entity in ('crm_customers', 'crm_members') and record_id is not null
),

anchor_tokens as (
    select concat(entity, ':', record_id) as node, kind, min(token) as token
    from evidence
    where (entity = 'crm_customers' and kind in ('name', 'phone', 'email', 'handle', 'phone_masked'))
        or (entity = 'crm_members' and kind = 'wechat')
    group by entity, record_id, kind
),

-- rule 3: names and masked phones are never evidence alone, so they are not capped
contact as (
    select node, kind, token
    from (
        select node, kind, token, count(*) over (partition by kind, token) as holders
        from anchor_tokens
    ) as counted
    where kind in ('name', 'phone_masked') or holders <= {{ cap }}
),

-- each order's customer node, member node, and node: its customer's, else its member's
orders as (
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
        from evidence
        where entity = 'crm_orders'
        group by record_id
    ) as o
    left join anchors as c on c.node = concat('crm_customers:', o.customer_id)
    left join anchors as m on m.node = concat('crm_members:', o.member_token)
)
{%- endset %}

{%- set edges_sql %}
with {{ graph_ctes }},

surveys as (
    select
        record_id,
        min(case when kind = 'member' then token end) as member_token,
        min(case when kind = 'order' then token end) as order_id
    from evidence
    where entity = 'surveys'
    group by record_id
),

pairs as (
    select
        node,
        max(case when kind = 'name' then token end) as name,
        max(case when kind = 'phone' then token end) as phone,
        max(case when kind = 'email' then token end) as email
    from contact
    where kind in ('name', 'phone', 'email')
    group by node
)

-- rule 1: a member's customer
select concat('crm_members:', e.record_id) as src, a.node as dst
from evidence as e
inner join anchors as a on a.node = concat('crm_customers:', e.token)
where e.entity = 'crm_members' and e.kind = 'customer_id'
-- an order's customer and member
union all
select customer_node, member_node from orders where customer_node is not null and member_node is not null
-- a survey's member and order
union all
select m.node, o.node
from surveys as s
inner join anchors as m on m.node = concat('crm_members:', s.member_token)
inner join orders as o on o.order_id = s.order_id
where o.node is not null
-- a shared WeChat id or handle (a star to the group's smallest node)
union all
select node, min(node) over (partition by kind, token) from contact where kind in ('wechat', 'handle')
-- rule 2: two agreeing identifiers
union all
select node, min(node) over (partition by name, phone) from pairs where name is not null and phone is not null
union all
select node, min(node) over (partition by name, email) from pairs where name is not null and email is not null
union all
select node, min(node) over (partition by phone, email) from pairs where phone is not null and email is not null
{%- endset %}

{%- set labels = connected_components(edges_sql) %}

with {{ graph_ctes }},

anchor_components as (
    select a.entity, a.record_id, a.node, coalesce(l.label, a.node) as component
    from anchors as a
    left join {{ labels }} as l on l.node = a.node
),

other as (
    select entity, record_id, kind, token
    from evidence
    where entity not in ('crm_customers', 'crm_members')
),

-- rule 4, by hard keys: (record, step, match_rule, component)
hard as (
    select 'crm_orders' as entity, o.order_id as record_id, 1 as step, 'customer_id' as match_rule, c.component
    from orders as o
    inner join anchor_components as c on c.node = o.node
    where o.customer_id is not null
    union all
    select r.entity, r.record_id, 2, 'member', c.component
    from other as r
    inner join anchor_components as c on c.node = concat('crm_members:', r.token)
    where r.kind = 'member'
    union all
    select r.entity, r.record_id, 3, 'order', c.component
    from other as r
    inner join orders as o on o.order_id = r.token
    inner join anchor_components as c on c.node = o.node
    where r.kind = 'order'
),

contact_candidates as (
    select distinct r.entity, r.record_id, c.component
    from other as r
    inner join contact as t on t.kind = r.kind and t.token = r.token
    inner join anchor_components as c on c.node = t.node
    where r.kind in ('phone', 'email', 'handle')
),

contact_unique as (
    select entity, record_id, 4 as step, 'contact_unique' as match_rule, min(component) as component
    from contact_candidates
    group by entity, record_id
    having count(*) = 1
),

strong as (
    select entity, record_id, step, match_rule, component
    from (
        select
            entity, record_id, step, match_rule, component,
            row_number() over (partition by entity, record_id order by step, component) as pick
        from (select * from hard union all select * from contact_unique) as found
    ) as ranked
    where pick = 1
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
    from contact as t
    inner join anchor_components as c on c.node = t.node
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
    select 'reviews' as entity, record_id, 5 as step, 'weak_unique' as match_rule, min(component) as component
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
from anchor_components
union all
select r.entity, r.record_id, a.component, a.match_rule, false
from records as r
left join attached as a on a.entity = r.entity and a.record_id = r.record_id
