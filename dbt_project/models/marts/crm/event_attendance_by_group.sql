-- Registrations of each event held up to the run's day, per group of patrons (the workspace's
-- events page): summed over the groups a filter chooses, the page reads these rows instead of
-- every registration. Registrations of a user unknown to dim_users have no group (nulls), so
-- they count only when no filter is chosen, as on the facts. The category and month are the
-- registration's (an incremental fact keeps those of older rows when an event moves).
with

events as (
    select * from {{ ref('activity_by_event') }}
),

attendance as (
    select * from {{ ref('fct_event_attendance') }}
),

users as (
    select * from {{ ref('dim_users') }}
),

final as (
    select
        a.event_id,
        a.category as event_category,
        cast(date_trunc('month', a.starts_at) as date) as month_starts_on,
        u.department,
        u.category,
        u.enrolled_year,
        count(*) as registrations,
        count(*) filter (where a.attendance = 'attended') as attended,
        count(*) filter (where a.attendance = 'no_show') as no_shows,
        count(a.rating) as ratings,
        coalesce(sum(a.rating), 0) as rating_sum
    from attendance as a
    inner join events as e on a.event_id = e.event_id
    left join users as u on a.user_key = u.user_key
    group by
        a.event_id, a.category, cast(date_trunc('month', a.starts_at) as date),
        u.department, u.category, u.enrolled_year
)

select * from final
