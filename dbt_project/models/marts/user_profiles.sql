with

users as (
    select * from {{ ref('dim_users') }}
),

loans as (
    select * from {{ ref('fct_loans') }}
),

visits as (
    select * from {{ ref('fct_visits') }}
),

attendance as (
    select * from {{ ref('fct_event_attendance') }}
    where attended
),

window_start as (
    select {{ as_of_end() }} - make_interval(days => {{ var('activity_window_days') }}) as starts_at
),

loan_activity as (
    select
        loans.user_key,
        count(*) as loans_total,
        count(*) filter (where loans.checkout_at >= window_start.starts_at) as loans_in_window,
        count(distinct date_trunc('month', loans.checkout_at))
        filter (where loans.checkout_at >= window_start.starts_at) as active_months,
        max(loans.checkout_at) as last_loan_at
    from loans
    cross join window_start
    group by loans.user_key
),

visit_activity as (
    select
        visits.user_key,
        count(*) filter (where visits.entered_at >= window_start.starts_at) as visits_in_window,
        coalesce(
            sum(visits.dwell_minutes) filter (where visits.entered_at >= window_start.starts_at)
            / 60.0,
            0
        ) as library_hours_in_window,
        max(visits.entered_at) as last_visit_at
    from visits
    cross join window_start
    group by visits.user_key
),

event_activity as (
    select
        user_key,
        count(*) as events_attended,
        count(rating) as feedback_given,
        max(starts_at) as last_event_at
    from attendance
    where starts_at < {{ as_of_end() }}
    group by user_key
),

combined as (
    select
        users.user_key,
        users.category,
        users.department,
        users.registered_on,
        users.opt_out,
        coalesce(loan_activity.loans_total, 0) as loans_total,
        coalesce(loan_activity.loans_in_window, 0) as loans_in_window,
        coalesce(loan_activity.active_months, 0) as active_months,
        coalesce(visit_activity.visits_in_window, 0) as visits_in_window,
        round(coalesce(visit_activity.library_hours_in_window, 0)::numeric, 1)
            as library_hours_in_window,
        coalesce(event_activity.events_attended, 0) as events_attended,
        coalesce(event_activity.feedback_given, 0) as feedback_given,
        greatest(
            loan_activity.last_loan_at, visit_activity.last_visit_at, event_activity.last_event_at
        ) as last_active_at
    from users
    left join loan_activity on users.user_key = loan_activity.user_key
    left join visit_activity on users.user_key = visit_activity.user_key
    left join event_activity on users.user_key = event_activity.user_key
),

final as (
    select
        user_key,
        category,
        department,
        registered_on,
        opt_out,
        loans_total,
        loans_in_window,
        active_months,
        visits_in_window,
        library_hours_in_window,
        events_attended,
        feedback_given,
        last_active_at,
        case
            when
                loans_in_window >= {{ var('long_term_min_loans') }}
                and active_months >= {{ var('long_term_min_active_months') }}
                then 'long_term'
            when loans_in_window >= {{ var('growth_min_loans') }} then 'growth'
            when loans_in_window + visits_in_window > 0 then 'short_term'
            else 'inactive'
        end as value_segment,
        case
            when registered_on > {{ as_of_date() }} - {{ var('new_user_days') }} then 'new'
            when
                last_active_at is null
                or last_active_at
                < {{ as_of_end() }} - make_interval(days => {{ var('lapsed_after_days') }})
                then 'lapsed'
            when
                last_active_at
                < {{ as_of_end() }} - make_interval(days => {{ var('at_risk_after_days') }})
                then 'at_risk'
            else 'active'
        end as lifecycle_stage
    from combined
)

select * from final
