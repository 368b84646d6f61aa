with

latest as (
    {{ latest_per_key(source('events', 'event_registrations'), 'registration_id') }}
),

source as (
    {{ with_card_holder('latest', 'barcode') }}
),

final as (
    select
        registration_id,
        event_id,
        user_key,
        registered_at,
        attendance,
        rating
    from source
)

select * from final
