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
        user_key,
        activity_date,
        loans,
        visits,
        events_attended,
        activity_date - lag(activity_date) over (
            partition by user_key order by activity_date
        ) as days_since_previous
    from per_day
)

select * from final
