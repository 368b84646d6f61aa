{#- The text two copies of one work share: the title and the author, each in Unicode NFKC form
    (full-width letters and digits become ordinary ones), lower-cased, with runs of spaces
    made one and the ends trimmed; a missing author counts as empty. -#}
{% macro work_key(title, author) -%}
    lower(normalize(btrim(regexp_replace({{ title }}, '\s+', ' ', 'g')), nfkc))
    || chr(31)
    || lower(normalize(btrim(regexp_replace(coalesce({{ author }}, ''), '\s+', ' ', 'g')), nfkc))
{%- endmacro %}
