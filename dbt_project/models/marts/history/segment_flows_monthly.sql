-- Per month of the segment history, where each reader started and ended it, per group of
-- patrons (the workspace's flow chart): summed over the groups a filter chooses, a month's
-- flows read a few hundred rows instead of the whole snapshot. A reader's state at the
-- month's start is the version observed last before it, else (first seen that month) the
-- first one observed in it; at its end, the version observed last before the next month.
-- Indexed by month (post hook): the page reads one month of a history that grows each month.
{{
    config(
        post_hook=[
            "create index if not exists segment_flows_monthly_month"
            " on {{ this }} (month_starts_on, dimension)",
        ],
    )
}}

with

snapshot_versions as (
    select * from {{ ref('user_segments_snapshot') }}
),

users as (
    select * from {{ ref('dim_users') }}
),

-- Each version with the day it was observed and the day the next one was (null: current).
versions as (
    select
        user_key,
        value_segment,
        lifecycle_stage,
        cast(dbt_valid_from as date) as observed_on,
        lead(cast(dbt_valid_from as date)) over by_user as next_observed_on,
        row_number() over by_user = 1 as is_first
    from snapshot_versions
    window by_user as (partition by user_key order by dbt_valid_from)
),

months as (
    select distinct
        cast(date_trunc('month', observed_on) as date) as month_starts_on,
        cast(date_trunc('month', observed_on) + interval '1 month' as date) as next_month
    from versions
),

at_start as (
    select
        m.month_starts_on,
        v.user_key,
        v.value_segment,
        v.lifecycle_stage
    from months as m
    inner join versions as v
        on (
            m.month_starts_on > v.observed_on
            and m.month_starts_on <= coalesce(v.next_observed_on, m.month_starts_on)
        )
        or (
            m.month_starts_on <= v.observed_on
            and m.next_month > v.observed_on
            and v.is_first
        )
),

at_end as (
    select
        m.month_starts_on,
        v.user_key,
        v.value_segment,
        v.lifecycle_stage
    from months as m
    inner join versions as v
        on
            m.next_month > v.observed_on
            and m.next_month <= coalesce(v.next_observed_on, m.next_month)
),

flows as (
    select
        s.month_starts_on,
        s.user_key,
        s.value_segment as segment_at_start,
        e.value_segment as segment_at_end,
        s.lifecycle_stage as stage_at_start,
        e.lifecycle_stage as stage_at_end
    from at_start as s
    inner join at_end as e
        on s.month_starts_on = e.month_starts_on and s.user_key = e.user_key
),

by_dimension as (
    select
        month_starts_on,
        user_key,
        'value_segment' as dimension,
        segment_at_start as from_state,
        segment_at_end as to_state
    from flows
    union all
    select
        month_starts_on,
        user_key,
        'lifecycle_stage' as dimension,
        stage_at_start as from_state,
        stage_at_end as to_state
    from flows
),

final as (
    select
        f.month_starts_on,
        f.dimension,
        u.department,
        u.category,
        u.enrolled_year,
        f.from_state,
        f.to_state,
        count(*) as readers
    from by_dimension as f
    inner join users as u on f.user_key = u.user_key
    group by
        f.month_starts_on, f.dimension, u.department, u.category, u.enrolled_year,
        f.from_state, f.to_state
)

select * from final
