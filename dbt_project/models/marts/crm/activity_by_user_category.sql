with

attendance as (
    select * from {{ ref('fct_event_attendance') }}
    where starts_at < {{ as_of_end() }}
),

per_category as (
    select
        user_key,
        category,
        count(*) as registrations,
        count(*) filter (where attended) as attended,
        count(*) filter (where attendance = 'no_show') as no_shows,
        max(starts_at) filter (where attended) as last_attended_at
    from attendance
    group by user_key, category
),

final as (
    select
        user_key,
        category,
        registrations,
        attended,
        no_shows,
        last_attended_at,
        round(
            attended::numeric / nullif(sum(attended) over (partition by user_key), 0), 3
        ) as share_of_attendance
    from per_category
)

select * from final
