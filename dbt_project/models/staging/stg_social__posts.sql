with source as (
    {{ latest_version(source('masked', 'social_posts')) }}
),

renamed as (
    select
        -- ids
        record_id as post_id,
        {{ json_str('parent_post_id') }} as parent_post_id,
        {{ json_str('handle_token') }} as handle_token,
        -- strings
        {{ json_str('platform') }} as platform,
        {{ json_str('kind') }} as post_kind,
        {{ json_str('handle') }} as handle_masked,
        {{ json_str('text') }} as post_text,
        {{ json_str('lang') }} as lang,
        -- numerics
        {{ json_int('likes') }} as likes,
        -- timestamps (local)
        {{ json_local_ts('posted_at') }} as posted_at,
        {{ json_local_ts('updated_at') }} as updated_at,
        _load_id,
        _ingested_at
    from source
)

select * from renamed
