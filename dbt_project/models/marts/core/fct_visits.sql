-- Incremental: each run rebuilds the visits entered within the look-back window; a visit
-- depends only on its own passages, so older visits are final.
-- Indexed by day and by reader (post hooks): the workspace reads them so (docs/workspace.md).
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_window',
        incremental_predicates=["entered_at >= " ~ incremental_window_start()],
        on_schema_change='fail',
        post_hook=[
            "create index if not exists fct_visits_visit_date on {{ this }} (visit_date)",
            "create index if not exists fct_visits_user_key on {{ this }} (user_key)",
        ],
    )
}}

with

passages as (
    select * from {{ ref('stg_gate__passages') }}
    where
        passed_at < {{ as_of_end() }}
        {% if is_incremental() -%}
            -- One day of context before the window, for the swipe before the first one.
            and passed_at >= {{ incremental_window_start() }} - interval '1 day'
        {%- endif %}
),

ordered as (
    select
        user_key,
        passed_at,
        direction,
        lag(direction) over by_user as previous_direction,
        lag(passed_at) over by_user as previous_at
    from passages
    window by_user as (partition by user_key order by passed_at, batch_id, source_line)
),

-- A second swipe in the same direction right after the first is the same passage.
deduplicated as (
    select
        user_key,
        passed_at,
        direction
    from ordered
    where not coalesce(
        direction = previous_direction
        and passed_at - previous_at
        < make_interval(secs => {{ var('doubled_swipe_seconds') }}),
        false
    )
),

paired as (
    select
        user_key,
        passed_at,
        direction,
        lead(direction) over by_user as next_direction,
        lead(passed_at) over by_user as next_at
    from deduplicated
    window by_user as (partition by user_key order by passed_at)
),

-- Every entry starts a visit; an exit that does not follow an entry starts none.
entries as (
    select
        user_key,
        passed_at as entered_at,
        coalesce(
            next_direction = 'out'
            and next_at - passed_at <= make_interval(mins => {{ var('visit_dwell_cap_minutes') }}),
            false
        ) as has_exit,
        next_at,
        case when next_direction = 'in' then next_at end as next_entry_at,
        passed_at + make_interval(mins => {{ var('visit_dwell_cap_minutes') }}) as capped_at,
        case
            when passed_at::time < '{{ var("library_closes_at") }}'::time
                then passed_at::date + '{{ var("library_closes_at") }}'::time
        end as closing_at
    from paired
    where direction = 'in'
),

-- Without an exit, the visit ends at the first of: the next entry, closing time, the cap.
closed as (
    select
        user_key,
        entered_at,
        case
            when has_exit then next_at
            else least(next_entry_at, closing_at, capped_at)
        end as exited_at,
        case
            when has_exit then 'exit'
            when next_entry_at <= least(closing_at, capped_at) then 'next_entry'
            when closing_at <= capped_at then 'closing_time'
            else 'dwell_cap'
        end as closed_by
    from entries
    {% if is_incremental() -%}
        where entered_at >= {{ incremental_window_start() }}
    {%- endif %}
),

final as (
    select
        md5(user_key || '|' || entered_at::text) as visit_id,
        user_key,
        entered_at,
        exited_at,
        closed_by,
        closed_by <> 'exit' as exit_missing,
        exited_at::date > entered_at::date as crosses_midnight,
        entered_at::date as visit_date,
        round(extract(epoch from exited_at - entered_at) / 60.0, 1) as dwell_minutes
    from closed
)

select * from final
