with source as (
    {{ latest_version(source('masked', 'crm_stores')) }}
),

renamed as (
    select
        -- ids
        record_id as store_id,
        -- strings
        {{ json_str('name') }} as store_name,
        {{ json_str('city') }} as city,
        {{ json_str('region') }} as region,
        {{ json_str('format') }} as store_format,
        -- timestamps (local)
        {{ json_local_ts('opened_at') }} as opened_at,
        {{ json_local_ts('updated_at') }} as updated_at,
        _load_id,
        _ingested_at
    from source
)

select * from renamed
