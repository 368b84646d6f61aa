-- `dbt source freshness` measured at the end of the run's day instead of the clock's now():
-- a night re-run for an old day gets the answer it got then, and rows of later days do not
-- count. Overrides dbt's default__collect_freshness for this project.
{% macro postgres__collect_freshness(source, loaded_at_field, filter) %}
    {% call statement('collect_freshness', fetch_result=True, auto_begin=False) -%}
        select
            max({{ loaded_at_field }}) as max_loaded_at,
            {{ as_of_end() }} as snapshotted_at
        from {{ source }}
        where {{ loaded_at_field }} < {{ as_of_end() }}
        {% if filter %}
            and ({{ filter }})
        {% endif %}
    {%- endcall %}
    {{ return(load_result('collect_freshness')) }}
{% endmacro %}
