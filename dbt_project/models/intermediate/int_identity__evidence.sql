-- Every identifier token on every staged record, long: one row per (record, kind, token).
-- The input of identity resolution (cem_pipeline.identity.resolve); kinds are documented there.
-- CRM customers and members also get a `self` row so that records without identifiers still
-- become anchors of the identity graph.
with customers as (
    select 'crm_customers' as entity, customer_id as record_id, kind, token
    from {{ ref('stg_crm__customers') }}
    cross join lateral (values
        ('self', customer_id), ('name', name_token), ('phone', phone_token),
        ('phone_masked', phone_masked_token), ('email', email_token), ('handle', weibo_handle_token)
    ) as t(kind, token)
),

members as (
    select 'crm_members', member_token, kind, token
    from {{ ref('stg_crm__members') }}
    cross join lateral (values ('self', member_token), ('customer_id', customer_id), ('wechat', wechat_token))
        as t(kind, token)
),

orders as (
    select 'crm_orders', order_id, kind, token
    from {{ ref('stg_crm__orders') }}
    cross join lateral (values ('order', order_id), ('customer_id', customer_id), ('member', member_token))
        as t(kind, token)
),

reviews as (
    select 'reviews', review_id, kind, token
    from {{ ref('stg_reviews__reviews') }}
    cross join lateral (values
        ('order', order_id), ('nickname', nickname_token), ('phone_masked', buyer_phone_masked_token)
    ) as t(kind, token)
),

social as (
    select 'social_posts', post_id, 'handle', handle_token
    from {{ ref('stg_social__posts') }}
),

calls as (
    select 'calls', call_id, kind, token
    from {{ ref('stg_calls__calls') }}
    cross join lateral (values ('phone', caller_phone_token), ('member', member_token)) as t(kind, token)
),

surveys as (
    select 'surveys', response_id, kind, token
    from {{ ref('stg_surveys__responses') }}
    cross join lateral (values
        ('member', member_token), ('phone', phone_token), ('email', email_token), ('order', order_id)
    ) as t(kind, token)
),

unioned as (
    select * from customers
    union all select * from members
    union all select * from orders
    union all select * from reviews
    union all select * from social
    union all select * from calls
    union all select * from surveys
)

select entity, record_id, kind, token
from unioned
where record_id is not null and token is not null
