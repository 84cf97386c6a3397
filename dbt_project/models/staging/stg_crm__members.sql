with source as (
    {{ latest_version(source('masked', 'crm_members')) }}
),

renamed as (
    select
        -- ids
        record_id as member_token,
        {{ json_str('customer_id') }} as customer_id,
        {{ json_str('wechat_union_id_token') }} as wechat_token,
        {{ json_str('home_store_id') }} as home_store_id,
        -- strings
        {{ json_str('member_id') }} as member_id_masked,
        {{ json_str('tier') }} as tier,
        -- numerics
        {{ json_int('points') }} as points,
        -- timestamps (local)
        {{ json_local_ts('joined_at') }} as joined_at,
        {{ json_local_ts('updated_at') }} as updated_at,
        _load_id,
        _ingested_at
    from source
)

select * from renamed
