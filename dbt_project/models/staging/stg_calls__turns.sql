-- One row per speaker turn of the latest version of each call (redacted text).
with calls as (
    {{ latest_version(source('masked', 'calls')) }}
),

turns as (
    select
        record_id as call_id,
        unnest(json_extract(_record, '$.turns[*]')) as turn
    from calls
),

renamed as (
    select
        call_id,
        try_cast(json_extract_string(turn, '$.turn') as integer) as turn_no,
        json_extract_string(turn, '$.speaker') as speaker,
        json_extract_string(turn, '$.text') as turn_text,
        try_cast(json_extract_string(turn, '$.offset_s') as integer) as offset_s
    from turns
)

select call_id || ':' || turn_no as turn_id, * from renamed
