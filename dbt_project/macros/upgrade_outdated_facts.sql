-- Run at the start of every dbt invocation (on-run-start): an incremental fact built by an
-- older version of this project, before a column it now has existed, is dropped so that
-- this run rebuilds it in full instead of failing on the changed columns. A no-op otherwise.
{% macro upgrade_outdated_facts() -%}
    {%- set required = {'fct_visits': 'exit_missing'} -%}
    {%- if execute -%}
        {%- for model, column in required.items() -%}
            {%- set relation = adapter.get_relation(
                database=target.database, schema='marts', identifier=model
            ) -%}
            {%- if relation is not none -%}
                {%- set names = adapter.get_columns_in_relation(relation)
                    | map(attribute='name') | list -%}
                {%- if column not in names -%}
                    {{ log("marts." ~ model ~ " predates column " ~ column
                        ~ ": dropping it to rebuild it in full", info=true) }}
                    {%- do adapter.drop_relation(relation) -%}
                {%- endif -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}
