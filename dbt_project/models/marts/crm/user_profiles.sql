-- Indexed by reader (post hook): the workspace looks readers up one at a time.
{{
    config(
        post_hook=[
            "create index if not exists user_profiles_user_key on {{ this }} (user_key)",
        ],
    )
}}

with

users as (
    select * from {{ ref('dim_users') }}
),

measures as (
    select * from {{ ref('int_user_measures_aggregated') }}
),

segments as (
    select * from {{ ref('int_user_segments_assigned') }}
),

subjects as (
    select * from {{ ref('int_user_subjects_ranked') }}
),

engagement as (
    select * from {{ ref('int_user_engagement_ranked') }}
    where window_number = 0
),

top_classes as (
    select
        user_key,
        string_agg(clc_class, ',' order by class_rank) as top_clc_classes,
        min(clc_class) filter (where class_rank = 1) as top_clc_class
    from subjects
    group by user_key
),

final as (
    select
        users.user_key,
        users.category,
        users.department,
        users.registered_on,
        users.opt_out,
        measures.loans_total,
        measures.loans_in_window,
        measures.book_loans_in_window,
        measures.active_months,
        measures.last_loan_at,
        measures.visits_total,
        measures.visits_in_window,
        measures.library_hours_in_window,
        measures.last_visit_at,
        measures.events_registered,
        measures.events_attended,
        measures.events_attended_in_window,
        measures.feedback_given,
        measures.average_rating,
        measures.holds_in_window,
        measures.purchase_requests_in_window,
        measures.last_active_at,
        {{ as_of_date() }} - cast(measures.last_active_at as date) as days_since_last_active,
        measures.teaching_days_since_active as teaching_days_since_last_active,
        top_classes.top_clc_class,
        top_classes.top_clc_classes,
        case measures.preferred_isodow
            when 1 then 'monday'
            when 2 then 'tuesday'
            when 3 then 'wednesday'
            when 4 then 'thursday'
            when 5 then 'friday'
            when 6 then 'saturday'
            when 7 then 'sunday'
        end as preferred_weekday,
        measures.preferred_hour,
        segments.persona,
        engagement.peer_group,
        engagement.engagement,
        segments.value_segment,
        segments.lifecycle_stage,
        segments.loyalty_score
    from users
    inner join measures on users.user_key = measures.user_key
    inner join segments on users.user_key = segments.user_key
    left join top_classes on users.user_key = top_classes.user_key
    left join engagement on users.user_key = engagement.user_key
)

select * from final
