-- Keep the latest version of each record: exports repeat a record whenever it changes, and
-- the later batch (then the later line) wins.
{% macro latest_per_key(relation, key) -%}
    select distinct on ({{ key }}) *
    from {{ relation }}
    order by {{ key }}, batch_id desc, source_line desc
{%- endmacro %}
