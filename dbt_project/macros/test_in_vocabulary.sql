-- Generic test: every non-null value of the column is a code of the given kind(s) in the
-- crm_vocabulary seed, or one the library's export mapping adds to an open vocabulary (event
-- and patron categories, material types), which the pipeline passes as the var
-- vocabulary_additions; each failing row names an unknown value and how often it occurs.
{% test in_vocabulary(model, column_name, kinds) -%}
    {%- set kinds = [kinds] if kinds is string else kinds -%}
    {%- set added = [] -%}
    {%- for kind in kinds -%}
        {%- do added.extend(var("vocabulary_additions").get(kind, [])) -%}
    {%- endfor %}
    select
        {{ column_name }} as unknown_code,
        count(*) as rows_with_it
    from {{ model }}
    where
        {{ column_name }} is not null
        and {{ column_name }} not in (
            select vocabulary.code from {{ ref('crm_vocabulary') }} as vocabulary
            where vocabulary.kind in ('{{ kinds | join("', '") }}')
        )
        {% for code in added -%}
            and {{ column_name }} <> '{{ code }}'
        {% endfor %}
    group by {{ column_name }}
{%- endtest %}
