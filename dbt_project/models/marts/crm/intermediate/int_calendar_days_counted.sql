-- Teaching days are what the lifecycle timers count: a silence over a vacation is no silence.
with

calendar as (
    select * from {{ ref('academic_calendar') }}
),

users as (
    select * from {{ ref('dim_users') }}
),

loans as (
    select * from {{ ref('fct_loans') }}
),

visits as (
    select * from {{ ref('fct_visits') }}
),

attendance as (
    select * from {{ ref('fct_event_attendance') }}
),

-- Every day from the first that anything happened on (or the calendar starts) to the later of
-- the run's day and the calendar's end, so every registration and active day has a number.
bounds as (
    select
        least(
            (select min(calendar.first_day) from calendar),
            (select min(users.registered_on) from users),
            (select min(loans.checkout_date) from loans),
            (select min(visits.visit_date) from visits),
            (select min(cast(attendance.starts_at as date)) from attendance)
        ) as first_day,
        greatest((select max(calendar.last_day) from calendar), {{ as_of_date() }}) as last_day
),

days as (
    select
        cast(generate_series(bounds.first_day, bounds.last_day, interval '1 day') as date)
            as calendar_date
    from bounds
),

periods as (
    select
        days.calendar_date,
        coalesce(bool_or(calendar.kind = 'term'), false) as in_term,
        coalesce(bool_or(calendar.kind in ('holiday', 'closure')), false) as in_holiday,
        count(calendar.kind) > 0 as is_covered
    from days
    left join calendar
        on days.calendar_date between calendar.first_day and calendar.last_day
    group by days.calendar_date
),

-- A day the calendar does not cover counts as a teaching day: without a calendar for a
-- year, its timers run in calendar days.
teaching as (
    select
        calendar_date,
        is_covered,
        (in_term or not is_covered) and not in_holiday as is_teaching_day
    from periods
),

final as (
    select
        calendar_date,
        is_covered,
        is_teaching_day,
        sum(case when is_teaching_day then 1 else 0 end) over (
            order by calendar_date
        ) as teaching_day_number
    from teaching
)

select * from final
