{# Keep the latest version of each source record: newest source update, then newest landing. #}
{% macro latest_version(relation, id_column='record_id') -%}
    select {{ star_except(['_version_rank']) }}
    from (
        select
            *,
            row_number() over (
                partition by {{ id_column }}
                order by {{ parse_timestamp('source_updated_at') }} desc nulls last, _ingested_at desc, _record_hash
            ) as _version_rank
        from {{ relation }}
        where {{ id_column }} is not null
    )
    where _version_rank = 1
{%- endmacro %}
