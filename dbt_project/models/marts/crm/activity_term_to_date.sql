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

calendar as (
    select * from {{ ref('academic_calendar') }}
),

-- The term the run's day falls in (or, in a vacation, the term just ended): the latest term of
-- the academic calendar starting on or before it. A day the calendar does not reach falls back
-- to the last var('term_fallback_days') days.
this_term as (
    select
        coalesce(
            max(first_day), {{ as_of_date() }} - {{ var('term_fallback_days') }}
        ) as starts_on
    from calendar
    where kind = 'term' and first_day <= {{ as_of_date() }}
),

-- Like with like: the same term of the year before (the latest term starting at least
-- var('term_same_season_days') before this one, i.e. the same season), over as many days.
-- Without one in the calendar, the same days var('year_before_days') earlier.
last_year as (
    select
        coalesce(
            max(c.first_day), t.starts_on - {{ var('year_before_days') }}
        ) as starts_on
    from this_term as t
    left join calendar as c
        on
            c.kind = 'term'
            and c.first_day <= t.starts_on - {{ var('term_same_season_days') }}
    group by t.starts_on
),

periods as (
    select
        'this_term' as period,
        starts_on as first_day,
        {{ as_of_date() }} as last_day,
        starts_on as term_starts_on
    from this_term
    union all
    select
        'same_weeks_last_year' as period,
        l.starts_on as first_day,
        l.starts_on + ({{ as_of_date() }} - t.starts_on) as last_day,
        t.starts_on as term_starts_on
    from this_term as t
    cross join last_year as l
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
