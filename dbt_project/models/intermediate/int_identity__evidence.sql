-- Every identifier token on every staged record, long: one row per (record, kind, token).
-- The input of identity resolution (int_identity__resolution, where the kinds and rules are documented).
-- CRM customers and members also get a `self` row so that records without identifiers still
-- become anchors of the identity graph. One select per (source, kind), unioned: portable SQL (Spark
-- accepts no lateral VALUES).
{%- set sources = [
    ('stg_crm__customers', 'crm_customers', 'customer_id', [
        ('self', 'customer_id'), ('name', 'name_token'), ('phone', 'phone_token'),
        ('phone_masked', 'phone_masked_token'), ('email', 'email_token'), ('handle', 'weibo_handle_token')]),
    ('stg_crm__members', 'crm_members', 'member_token', [
        ('self', 'member_token'), ('customer_id', 'customer_id'), ('wechat', 'wechat_token')]),
    ('stg_crm__orders', 'crm_orders', 'order_id', [
        ('order', 'order_id'), ('customer_id', 'customer_id'), ('member', 'member_token')]),
    ('stg_reviews__reviews', 'reviews', 'review_id', [
        ('order', 'order_id'), ('nickname', 'nickname_token'), ('phone_masked', 'buyer_phone_masked_token')]),
    ('stg_social__posts', 'social_posts', 'post_id', [('handle', 'handle_token')]),
    ('stg_calls__calls', 'calls', 'call_id', [('phone', 'caller_phone_token'), ('member', 'member_token')]),
    ('stg_surveys__responses', 'surveys', 'response_id', [
        ('member', 'member_token'), ('phone', 'phone_token'), ('email', 'email_token'), ('order', 'order_id')]),
] %}

{% for model, entity, id_column, kinds in sources %}
{%- for kind, column in kinds %}
select '{{ entity }}' as entity, {{ id_column }} as record_id, '{{ kind }}' as kind, {{ column }} as token
from {{ ref(model) }}
where {{ id_column }} is not null and {{ column }} is not null
{% if not loop.last %}union all{% endif %}
{%- endfor %}
{% if not loop.last %}union all{% endif %}
{% endfor %}
