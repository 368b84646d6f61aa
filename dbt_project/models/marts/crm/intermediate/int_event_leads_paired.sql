-- Influence through events: a peer who signs up for an event within event_follow_max_hours
-- after a user did was, often enough, brought by them. Bounded like the book leads: a
-- registration meets only later ones of the same event inside the window.
with

registrations as (
    select
        user_key,
        event_id,
        registered_at
    from {{ ref('fct_event_attendance') }}
    where
        registered_at is not null
        and registered_at
        >= {{ as_of_end() }} - make_interval(days => {{ var('opinion_history_days') }})
),

follows as (
    select
        earlier.user_key as leader_key,
        later.user_key as follower_key,
        earlier.event_id
    from registrations as earlier
    inner join registrations as later
        on
            earlier.event_id = later.event_id
            and earlier.registered_at < later.registered_at
            and earlier.registered_at
            >= later.registered_at - make_interval(hours => {{ var('event_follow_max_hours') }})
            and earlier.user_key <> later.user_key
),

final as (
    select
        leader_key,
        follower_key,
        count(distinct event_id) as events_followed
    from follows
    group by leader_key, follower_key
)

select * from final
