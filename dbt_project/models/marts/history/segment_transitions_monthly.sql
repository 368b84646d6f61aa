with

versions as (
    select * from {{ ref('user_segments_snapshot') }}
),

sequenced as (
    select
        user_key,
        value_segment,
        lifecycle_stage,
        dbt_valid_from,
        lag(value_segment) over by_user as previous_segment,
        lag(lifecycle_stage) over by_user as previous_stage
    from versions
    window by_user as (partition by user_key order by dbt_valid_from)
),

changes as (
    select
        date_trunc('month', dbt_valid_from)::date as month_starts_on,
        'value_segment' as dimension,
        previous_segment as from_state,
        value_segment as to_state,
        user_key
    from sequenced
    where previous_segment <> value_segment
    union all
    select
        date_trunc('month', dbt_valid_from)::date as month_starts_on,
        'lifecycle_stage' as dimension,
        previous_stage as from_state,
        lifecycle_stage as to_state,
        user_key
    from sequenced
    where previous_stage <> lifecycle_stage
),

final as (
    select
        month_starts_on,
        dimension,
        from_state,
        to_state,
        count(*) as transitions,
        count(distinct user_key) as distinct_users
    from changes
    group by month_starts_on, dimension, from_state, to_state
)

select * from final
