-- The segment and stage of every profile as observed on the run's day. A day at or before the
-- latest one already recorded is history: it yields no rows, so re-running a day never
-- rewrites the snapshot. The snapshot reads its own table (this), which does not exist yet on
-- the first run. Indexed by reader (post hook): a reader's page reads their history.
{% snapshot user_segments_snapshot %}

{{
    config(
        unique_key='user_key',
        strategy='check',
        check_cols=['value_segment', 'lifecycle_stage'],
        updated_at='observed_at',
        post_hook=[
            "create index if not exists user_segments_snapshot_user_key on {{ this }} (user_key)",
        ],
    )
}}

{%- set recorded = adapter.get_relation(
    database=this.database, schema=this.schema, identifier=this.identifier
) if execute -%}

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
            from {{ this }}
        )
    {%- endif %}
)

select * from final

{% endsnapshot %}
