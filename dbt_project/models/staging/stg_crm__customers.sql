with source as (
    {{ latest_version(source('masked', 'crm_customers')) }}
),

renamed as (
    select
        -- ids
        record_id as customer_id,
        {{ json_str('name_token') }} as name_token,
        {{ json_str('phone_token') }} as phone_token,
        {{ json_str('phone_masked_token') }} as phone_masked_token,
        {{ json_str('email_token') }} as email_token,
        {{ json_str('weibo_handle_token') }} as weibo_handle_token,
        -- strings (masked display forms only)
        {{ json_str('name') }} as name_masked,
        {{ json_str('phone') }} as phone_masked,
        {{ json_str('email') }} as email_masked,
        {{ json_str('gender') }} as gender,
        {{ json_str('city') }} as city,
        {{ json_str('preferred_language') }} as preferred_language,
        -- numerics
        {{ json_int('birth_year') }} as birth_year,
        -- timestamps (local)
        {{ json_local_ts('created_at') }} as created_at,
        {{ json_local_ts('updated_at') }} as updated_at,
        _load_id,
        _ingested_at
    from source
)

select * from renamed
