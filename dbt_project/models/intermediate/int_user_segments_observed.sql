-- The rows snapshots.user_segments_snapshot records for the run's day. A day at or before
-- the latest one already recorded is history: it yields no rows, so re-running a day never
-- rewrites the snapshot. The snapshot is looked up by name, not ref(): it is built after
-- this model, from it.
{{ config(materialized='view') }}

{%- set recorded = recorded_snapshot('user_segments_snapshot') -%}

with

profiles as (
    select * from {{ ref('user_profiles') }}
),

final as (
    select
        user_key,
        value_segment,
        lifecycle_stage,
        cast({{ as_of_date() }} as timestamp) as observed_at
    from profiles
    {% if recorded -%}
        where {{ as_of_date() }} > (
            select coalesce(max(dbt_valid_from)::date, '-infinity'::date)
            from {{ recorded }}
        )
    {%- endif %}
)

select * from final
