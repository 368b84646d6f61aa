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

-- The term the run's day falls in: the latest term start (var term_starts) on or before it.
term as (
    select max(make_date(y.year, s.month, s.day)) as starts_on
    from
        (
            values
            {%- for start in var('term_starts') %}
                ({{ start[:2] | int }}, {{ start[3:] | int }}){{ "," if not loop.last }}
            {%- endfor %}
        ) as s (month, day)
    cross join (
        values
        (cast(extract(year from {{ as_of_date() }}) as integer) - 1),
        (cast(extract(year from {{ as_of_date() }}) as integer))
    ) as y (year)
    where make_date(y.year, s.month, s.day) <= {{ as_of_date() }}
),

periods as (
    select
        'this_term' as period,
        starts_on as first_day,
        {{ as_of_date() }} as last_day,
        starts_on as term_starts_on
    from term
    union all
    select
        'same_weeks_last_year' as period,
        starts_on - {{ var('year_before_days') }} as first_day,
        {{ as_of_date() }} - {{ var('year_before_days') }} as last_day,
        starts_on as term_starts_on
    from term
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
