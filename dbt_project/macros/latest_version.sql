{# Keep the latest version of each source record: newest source update, then newest landing. #}
{% macro latest_version(relation, id_column='record_id') -%}
    select * exclude (_version_rank)
    from (
        select
            *,
            row_number() over (
                partition by {{ id_column }}
                order by try_cast(source_updated_at as timestamptz) desc nulls last, _ingested_at desc, _record_hash
            ) as _version_rank
        from {{ relation }}
        where {{ id_column }} is not null
    )
    where _version_rank = 1
{%- endmacro %}
