-- This term so far against the same weeks of the previous year, per group of patrons (the
-- workspace's overview). Distinct readers add up across groups, since each patron is in one.
with

users as (
    select * from {{ ref('dim_users') }}
),

days as (
    select * from {{ ref('int_user_activity_days') }}
),

visits as (
    select * from {{ ref('fct_visits') }}
),

periods as (
    select * from {{ ref('int_overview_periods_dated') }}
),

activity as (
    select
        p.period,
        p.first_day,
        p.last_day,
        p.term_starts_on,
        d.user_key,
        sum(d.loans) as loans,
        sum(d.visits) as visits,
        sum(d.events_attended) as event_attendance
    from days as d
    inner join periods as p on d.activity_date between p.first_day and p.last_day
    group by p.period, p.first_day, p.last_day, p.term_starts_on, d.user_key
),

minutes as (
    select
        p.period,
        v.user_key,
        sum(coalesce(v.dwell_minutes, 0)) as library_minutes
    from visits as v
    inner join periods as p on v.visit_date between p.first_day and p.last_day
    group by p.period, v.user_key
),

final as (
    select
        a.period,
        a.first_day,
        a.last_day,
        a.term_starts_on,
        u.department,
        u.category,
        u.enrolled_year,
        count(*) as active_readers,
        sum(a.loans) as loans,
        sum(a.visits) as visits,
        sum(coalesce(m.library_minutes, 0)) as library_minutes,
        sum(a.event_attendance) as event_attendance
    from activity as a
    inner join users as u on a.user_key = u.user_key
    left join minutes as m on a.period = m.period and a.user_key = m.user_key
    group by
        a.period, a.first_day, a.last_day, a.term_starts_on,
        u.department, u.category, u.enrolled_year
)

select * from final
