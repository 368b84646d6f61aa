-- Incremental: each run rebuilds registrations made within the look-back window and those of
-- events that start within it or later (attendance is recorded when an event ends).
-- Indexed by day and by reader (post hooks): the workspace reads them so (docs/workspace.md).
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_window',
        incremental_predicates=[
            "(starts_at >= " ~ incremental_window_start()
            ~ " or registered_at is null or registered_at >= " ~ incremental_window_start() ~ ")"
        ],
        on_schema_change='fail',
        post_hook=[
            "create index if not exists fct_event_attendance_user_key on {{ this }} (user_key)",
        ],
    )
}}

with

registrations as (
    select * from {{ ref('stg_events__registrations') }}
    where coalesce(registered_at < {{ as_of_end() }}, true)
),

events as (
    select * from {{ ref('dim_events') }}
),

joined as (
    select
        registrations.registration_id,
        registrations.event_id,
        registrations.user_key,
        events.category,
        events.starts_at,
        registrations.registered_at,
        registrations.attendance,
        registrations.rating
    from registrations
    inner join events on registrations.event_id = events.event_id
    {% if is_incremental() -%}
        where
            events.starts_at >= {{ incremental_window_start() }}
            or registrations.registered_at is null
            or registrations.registered_at >= {{ incremental_window_start() }}
    {%- endif %}
),

-- Attendance of an event after the run's day is not known yet as of that day.
final as (
    select
        registration_id,
        event_id,
        user_key,
        category,
        starts_at,
        registered_at,
        case when starts_at < {{ as_of_end() }} then attendance else 'unknown' end as attendance,
        coalesce(starts_at < {{ as_of_end() }} and attendance = 'attended', false) as attended,
        case when starts_at < {{ as_of_end() }} then rating end as rating
    from joined
)

select * from final
