-- Weekly activity per group of patrons, for the workspace's trend charts: summed over groups,
-- any filter by department, category and cohort reads a few thousand rows instead of every
-- loan and visit.
with

users as (
    select * from {{ ref('dim_users') }}
),

days as (
    select * from {{ ref('int_user_activity_days') }}
),

visits as (
    select * from {{ ref('fct_visits') }}
    where visit_date <= {{ as_of_date() }}
),

minutes_per_week as (
    select
        user_key,
        cast(date_trunc('week', visit_date) as date) as week_starts_on,
        sum(coalesce(dwell_minutes, 0)) as library_minutes
    from visits
    group by user_key, cast(date_trunc('week', visit_date) as date)
),

per_user_week as (
    select
        user_key,
        cast(date_trunc('week', activity_date) as date) as week_starts_on,
        sum(loans) as loans,
        sum(visits) as visits,
        sum(events_attended) as event_attendance
    from days
    group by user_key, cast(date_trunc('week', activity_date) as date)
),

final as (
    select
        w.week_starts_on,
        u.department,
        u.category,
        u.enrolled_year,
        sum(w.loans) as loans,
        sum(w.visits) as visits,
        sum(coalesce(m.library_minutes, 0)) as library_minutes,
        sum(w.event_attendance) as event_attendance,
        count(*) as active_readers
    from per_user_week as w
    inner join users as u on w.user_key = u.user_key
    left join minutes_per_week as m
        on w.user_key = m.user_key and w.week_starts_on = m.week_starts_on
    group by w.week_starts_on, u.department, u.category, u.enrolled_year
)

select * from final
