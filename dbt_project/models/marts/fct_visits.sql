with

passages as (
    select * from {{ ref('stg_gate__passages') }}
    where passed_at < {{ as_of_end() }}
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

-- A second swipe in the same direction within two minutes is the same passage.
deduplicated as (
    select
        user_key,
        passed_at,
        direction
    from ordered
    where not coalesce(
        direction = previous_direction
        and passed_at - previous_at < interval '2 minutes', false
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

visits as (
    select
        user_key,
        passed_at as entered_at,
        coalesce(
            next_direction = 'out'
            and next_at - passed_at
            <= make_interval(mins => {{ var('visit_dwell_cap_minutes') }}),
            false
        ) as has_exit,
        next_at
    from paired
    where direction = 'in'
),

final as (
    select
        md5(user_key || entered_at::text) as visit_id,
        user_key,
        entered_at,
        case
            when has_exit then next_at
            else entered_at + make_interval(mins => {{ var('visit_dwell_cap_minutes') }})
        end as exited_at,
        case when has_exit then 'exit' else 'dwell_cap' end as closed_by,
        entered_at::date as visit_date
    from visits
)

select
    visit_id,
    user_key,
    entered_at,
    exited_at,
    closed_by,
    visit_date,
    extract(epoch from exited_at - entered_at) / 60.0 as dwell_minutes
from final
