with source as (
    {{ latest_version(source('masked', 'crm_orders')) }}
),

renamed as (
    select
        -- ids
        record_id as order_id,
        {{ json_str('customer_id') }} as customer_id,
        {{ json_str('member_id_token') }} as member_token,
        {{ json_str('store_id') }} as store_id,
        {{ json_str('product_id') }} as product_id,
        -- strings
        {{ json_str('channel') }} as channel,
        {{ json_str('platform') }} as platform,
        {{ json_str('product_name') }} as product_name,
        {{ json_str('category') }} as category,
        {{ json_str('currency') }} as currency,
        {{ json_str('status') }} as status,
        -- numerics
        {{ json_int('quantity') }} as quantity,
        {{ json_num('amount') }} as amount,
        -- timestamps (local)
        {{ json_local_ts('ordered_at') }} as ordered_at,
        {{ json_local_ts('updated_at') }} as updated_at,
        _load_id,
        _ingested_at
    from source
)

select * from renamed
