-- Incremental strategy "replace_window": delete every row of the target that falls in the
-- model's window (its incremental_predicates), then insert the freshly built window.
-- Unlike delete+insert by key, rows that left the window (a passage re-read as a doubled
-- swipe, a loan after the day being re-run) disappear too, so a run equals a full rebuild.
{% macro get_incremental_replace_window_sql(arg_dict) -%}
    {%- set predicates = arg_dict["incremental_predicates"] -%}
    {%- if not predicates -%}
        {{ exceptions.raise_compiler_error(
            "incremental_strategy 'replace_window' needs incremental_predicates that say "
            ~ "which target rows the run rebuilds; add them to the model's config"
        ) }}
    {%- endif -%}
    {%- set columns = get_quoted_csv(arg_dict["dest_columns"] | map(attribute="name")) -%}
    delete from {{ arg_dict["target_relation"] }}
    where {{ predicates | join(" and ") }};

    insert into {{ arg_dict["target_relation"] }} ({{ columns }})
    select {{ columns }}
    from {{ arg_dict["temp_relation"] }}
{%- endmacro %}

-- The first instant an incremental run rebuilds: incremental_lookback_days before the run's day.
{% macro incremental_window_start() -%}
    cast(cast('{{ var("as_of") }}' as date) - {{ var("incremental_lookback_days") }} as timestamp)
{%- endmacro %}
