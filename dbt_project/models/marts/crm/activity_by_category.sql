with

events as (
    select * from {{ ref('activity_by_event') }}
),

attendance as (
    select * from {{ ref('fct_event_attendance') }}
    where starts_at < {{ as_of_end() }}
),

per_registration as (
    select
        category,
        count(distinct user_key) filter (where attended) as distinct_attendees,
        avg(rating) as average_rating
    from attendance
    group by category
),

totals as (
    select
        category,
        count(*) as events_held,
        sum(registrations) as registrations,
        sum(attended) as attended,
        sum(no_shows) as no_shows,
        sum(ratings) as ratings
    from events
    group by category
),

final as (
    select
        totals.category,
        totals.events_held,
        totals.registrations,
        totals.attended,
        totals.no_shows,
        round(totals.attended::numeric / nullif(totals.attended + totals.no_shows, 0), 3)
            as attendance_rate,
        totals.ratings,
        round(per_registration.average_rating, 2) as average_rating,
        coalesce(per_registration.distinct_attendees, 0) as distinct_attendees
    from totals
    left join per_registration on totals.category = per_registration.category
)

select * from final
