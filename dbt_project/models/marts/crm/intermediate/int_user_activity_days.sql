with

loans as (
    select * from {{ ref('fct_loans') }}
),

visits as (
    select * from {{ ref('fct_visits') }}
),

attendance as (
    select * from {{ ref('fct_event_attendance') }}
    where attended
),

calendar_days as (
    select * from {{ ref('int_calendar_days_counted') }}
),

activity as (
    select
        user_key,
        checkout_date as activity_date,
        1 as loans,
        0 as visits,
        0 as events_attended
    from loans
    union all
    select
        user_key,
        visit_date as activity_date,
        0 as loans,
        1 as visits,
        0 as events_attended
    from visits
    union all
    select
        user_key,
        cast(starts_at as date) as activity_date,
        0 as loans,
        0 as visits,
        1 as events_attended
    from attendance
),

per_day as (
    select
        user_key,
        activity_date,
        sum(loans) as loans,
        sum(visits) as visits,
        sum(events_attended) as events_attended
    from activity
    where activity_date <= {{ as_of_date() }}
    group by user_key, activity_date
),

final as (
    select
        per_day.user_key,
        per_day.activity_date,
        per_day.loans,
        per_day.visits,
        per_day.events_attended,
        calendar_days.teaching_day_number,
        per_day.activity_date - lag(per_day.activity_date) over by_user as days_since_previous,
        calendar_days.teaching_day_number
        - lag(calendar_days.teaching_day_number) over by_user as teaching_days_since_previous
    from per_day
    inner join calendar_days on per_day.activity_date = calendar_days.calendar_date
    window by_user as (partition by per_day.user_key order by per_day.activity_date)
)

select * from final
