-- The overview's two periods for the run's day: this term so far, and as many days from the
-- start of the same term a year earlier.
with

calendar as (
    select * from {{ ref('academic_calendar') }}
),

-- Whether the calendar reaches the run's day: from its first period to its last. A day past
-- its end is in no term of it, however long ago its last term started.
reach as (
    select {{ as_of_date() }} between min(first_day) and max(last_day) as reaches
    from calendar
),

-- The term the run's day falls in (or, in a vacation, the term just ended): the latest term of
-- the academic calendar starting on or before it. A day the calendar does not reach falls back
-- to the last var('term_fallback_days') days.
this_term as (
    select
        coalesce(
            max(c.first_day), {{ as_of_date() }} - {{ var('term_fallback_days') }}
        ) as starts_on,
        max(c.first_day) is not null as from_calendar
    from reach as r
    left join calendar as c
        on r.reaches and c.kind = 'term' and c.first_day <= {{ as_of_date() }}
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
            t.from_calendar
            and c.kind = 'term'
            and c.first_day <= t.starts_on - {{ var('term_same_season_days') }}
    group by t.starts_on
),

final as (
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
)

select * from final
