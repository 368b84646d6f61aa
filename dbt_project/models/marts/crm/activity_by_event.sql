with

events as (
    select * from {{ ref('dim_events') }}
    where starts_at < {{ as_of_end() }}
),

attendance as (
    select * from {{ ref('fct_event_attendance') }}
),

counts as (
    select
        event_id,
        count(*) as registrations,
        count(*) filter (where attendance = 'attended') as attended,
        count(*) filter (where attendance = 'no_show') as no_shows,
        count(rating) as ratings,
        avg(rating) as average_rating
    from attendance
    group by event_id
),

final as (
    select
        events.event_id,
        events.title,
        events.category,
        events.starts_at,
        events.seats,
        coalesce(counts.registrations, 0) as registrations,
        coalesce(counts.attended, 0) as attended,
        coalesce(counts.no_shows, 0) as no_shows,
        round(counts.attended::numeric / nullif(counts.attended + counts.no_shows, 0), 3)
            as attendance_rate,
        coalesce(counts.ratings, 0) as ratings,
        round(counts.average_rating, 2) as average_rating
    from events
    left join counts on events.event_id = counts.event_id
)

select * from final
