with

source as (
    {{ latest_per_key(source('events', 'events'), 'event_id') }}
),

final as (
    select
        event_id,
        title,
        category,
        starts_at,
        ends_at,
        location,
        seats,
        registration_open
    from source
)

select * from final
