-- One row per speaker turn of the latest version of each call (redacted text).
with calls as (
    {{ latest_version(source('masked', 'calls')) }}
),

turns as (
    select
        record_id as call_id,
        {{ json_array_rows('_record', '$.turns') }} as turn
    from calls
),

renamed as (
    select
        call_id,
        try_cast({{ json_text('turn', '$.turn') }} as integer) as turn_no,
        {{ json_str('speaker', col='turn') }} as speaker,
        {{ json_str('text', col='turn') }} as turn_text,
        try_cast({{ json_text('turn', '$.offset_s') }} as integer) as offset_s
    from turns
)

select call_id || ':' || turn_no as turn_id, * from renamed
