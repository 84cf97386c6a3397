with source as (
    {{ latest_version(source('masked', 'reviews')) }}
),

renamed as (
    select
        -- ids
        record_id as review_id,
        {{ json_str('order_id') }} as order_id,
        {{ json_str('product_id') }} as product_id,
        {{ json_str('store_id') }} as store_id,
        {{ json_str('nickname_token') }} as nickname_token,
        {{ json_str('buyer_phone_masked_token') }} as buyer_phone_masked_token,
        -- strings
        {{ json_str('platform') }} as platform,
        {{ json_str('nickname') }} as nickname_masked,
        {{ json_str('text') }} as review_text,
        {{ json_str('lang') }} as lang,
        -- numerics
        {{ json_int('rating') }} as rating,
        -- timestamps (local)
        {{ json_local_ts('created_at') }} as created_at,
        {{ json_local_ts('updated_at') }} as updated_at,
        _load_id,
        _ingested_at
    from source
)

select * from renamed
