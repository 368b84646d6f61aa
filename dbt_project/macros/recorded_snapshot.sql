-- The snapshot relation as it stands before this run, or none on the first run.
{% macro recorded_snapshot(name) -%}
    {%- if execute -%}
        {{ return(adapter.get_relation(
            database=target.database, schema='snapshots', identifier=name
        )) }}
    {%- endif -%}
{%- endmacro %}
