with

registrations as (
    select * from {{ ref('stg_events__registrations') }}
),

events as (
    select * from {{ ref('dim_events') }}
),

final as (
    select
        registrations.registration_id,
        registrations.event_id,
        registrations.user_key,
        events.category,
        events.starts_at,
        registrations.registered_at,
        registrations.attendance,
        registrations.attendance = 'attended' as attended,
        registrations.rating
    from registrations
    inner join events on registrations.event_id = events.event_id
)

select * from final
