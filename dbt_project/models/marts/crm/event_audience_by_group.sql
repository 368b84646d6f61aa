-- Who attended the events of each category held up to the run's day, per group of patrons
-- and value segment (the workspace's events page). Each patron is in one group and one
-- segment, so distinct attendees add up across groups and segments. Attendees unknown to
-- dim_users have no group and no segment (nulls).
with

events as (
    select * from {{ ref('activity_by_event') }}
),

attendance as (
    select * from {{ ref('fct_event_attendance') }}
    where attendance = 'attended'
),

users as (
    select * from {{ ref('dim_users') }}
),

profiles as (
    select * from {{ ref('user_profiles') }}
),

final as (
    select
        a.category as event_category,
        u.department,
        u.category,
        u.enrolled_year,
        p.value_segment,
        count(*) as attendances,
        count(distinct a.user_key) as attendees
    from attendance as a
    inner join events as e on a.event_id = e.event_id
    left join users as u on a.user_key = u.user_key
    left join profiles as p on a.user_key = p.user_key
    group by a.category, u.department, u.category, u.enrolled_year, p.value_segment
)

select * from final
