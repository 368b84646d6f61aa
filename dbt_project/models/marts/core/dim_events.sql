with

events as (
    select * from {{ ref('stg_events__events') }}
),

registrations as (
    select * from {{ ref('stg_events__registrations') }}
),

counts as (
    select
        event_id,
        count(*) as registrations
    from registrations
    group by event_id
),

final as (
    select
        events.event_id,
        events.title,
        events.category,
        events.starts_at,
        events.ends_at,
        events.location,
        events.seats,
        events.registration_open,
        coalesce(counts.registrations, 0) as registrations,
        greatest(events.seats - coalesce(counts.registrations, 0), 0) as seats_left,
        events.starts_at >= {{ as_of_end() }} as is_upcoming
    from events
    left join counts on events.event_id = counts.event_id
)

select * from final
