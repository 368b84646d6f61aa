-- The run's day and the instant it ends: models measure "now" as the end of the data interval.
{% macro as_of_date() -%}
    cast('{{ var("as_of") }}' as date)
{%- endmacro %}

{% macro as_of_end() -%}
    cast(cast('{{ var("as_of") }}' as date) + 1 as timestamp)
{%- endmacro %}
