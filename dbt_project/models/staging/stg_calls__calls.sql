with source as (
    {{ latest_version(source('masked', 'calls')) }}
),

renamed as (
    select
        -- ids
        record_id as call_id,
        {{ json_str('caller_phone_token') }} as caller_phone_token,
        {{ json_str('member_id_token') }} as member_token,
        {{ json_str('agent_id') }} as agent_id,
        {{ json_str('store_id') }} as store_id,
        -- strings
        {{ json_str('caller_phone') }} as caller_phone_masked,
        {{ json_str('queue') }} as queue,
        {{ json_str('lang') }} as lang,
        -- numerics
        {{ json_array_size('_record', '$.turns') }} as turn_count,
        -- timestamps (local)
        {{ json_local_ts('started_at') }} as started_at,
        {{ json_local_ts('ended_at') }} as ended_at,
        {{ json_local_ts('updated_at') }} as updated_at,
        _load_id,
        _ingested_at
    from source
)

select * from renamed
