with source as (
    {{ latest_version(source('masked', 'surveys')) }}
),

renamed as (
    select
        -- ids
        record_id as response_id,
        {{ json_str('member_id_token') }} as member_token,
        {{ json_str('phone_token') }} as phone_token,
        {{ json_str('email_token') }} as email_token,
        {{ json_str('order_id') }} as order_id,
        {{ json_str('store_id') }} as store_id,
        -- strings
        {{ json_str('survey_type') }} as survey_type,
        {{ json_str('touchpoint') }} as touchpoint,
        {{ json_str('channel') }} as channel,
        {{ json_str('comment') }} as comment_text,
        {{ json_str('lang') }} as lang,
        -- numerics
        {{ json_int('score') }} as score,
        -- timestamps (local)
        {{ json_local_ts('responded_at') }} as responded_at,
        {{ json_local_ts('updated_at') }} as updated_at,
        _load_id,
        _ingested_at
    from source
)

select * from renamed
