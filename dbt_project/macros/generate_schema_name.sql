-- Models land in the schema their folder names (staging, marts, ...), not <target>_<schema>:
-- the schema names are part of libcrm's contract.
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
