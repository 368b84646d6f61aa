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

registrations as (
    select * from {{ ref('fct_event_attendance') }}
    where starts_at < {{ as_of_end() }}
),

holds as (
    select * from {{ ref('fct_holds') }}
),

purchase_requests as (
    select * from {{ ref('fct_purchase_requests') }}
),

activity_days as (
    select * from {{ ref('int_user_activity_days') }}
),

calendar_days as (
    select * from {{ ref('int_calendar_days_counted') }}
),

academic_years as (
    select * from {{ ref('int_academic_years_dated') }}
),

today as (
    select teaching_day_number from calendar_days
    where calendar_date = {{ as_of_date() }}
),

-- The categories that are students, with their years of study.
study_years as (
    select
        'undergraduate' as category,
        {{ var('undergraduate_study_years') }} as years
    union all
    select
        'graduate' as category,
        {{ var('graduate_study_years') }} as years
),

-- The academic year whose first (autumn) term started last by the run's day.
current_year as (
    select
        academic_year,
        first_term_ends_on
    from academic_years
    where first_term_starts_on <= {{ as_of_date() }}
    order by first_term_starts_on desc
    limit 1
),

-- Students of the current year's cohort are in their first term until it ends; a patron
-- leaves when the card has expired or, for a student, when the cohort's last term is over.
cohorts as (
    select
        users.user_key,
        study_years.years is not null as is_student,
        coalesce(
            study_years.years is not null
            and users.enrolled_year = current_year.academic_year
            and {{ as_of_date() }} <= current_year.first_term_ends_on,
            false
        ) as in_first_term,
        coalesce(users.expires_on < {{ as_of_date() }}, false)
        or coalesce(final_year.last_term_ends_on < {{ as_of_date() }}, false) as has_left
    from users
    left join study_years on users.category = study_years.category
    left join academic_years as final_year
        on users.enrolled_year + study_years.years - 1 = final_year.academic_year
    left join current_year on true
),

window_start as (
    select {{ as_of_end() }} - make_interval(days => {{ var('activity_window_days') }}) as starts_at
),

loan_activity as (
    select
        loans.user_key,
        count(*) as loans_total,
        count(*) filter (where loans.checkout_at >= window_start.starts_at) as loans_in_window,
        count(*) filter (
            where loans.is_book and loans.checkout_at >= window_start.starts_at
        ) as book_loans_in_window,
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
        count(*) as visits_total,
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
        registrations.user_key,
        count(*) as events_registered,
        count(*) filter (where registrations.attended) as events_attended,
        count(*) filter (
            where registrations.attended and registrations.starts_at >= window_start.starts_at
        ) as events_attended_in_window,
        count(registrations.rating) as feedback_given,
        avg(registrations.rating) as average_rating,
        max(registrations.starts_at) filter (where registrations.attended) as last_event_at
    from registrations
    cross join window_start
    group by registrations.user_key
),

-- Holds and purchase suggestions are demand the loans do not show: what a user waited for,
-- and what they asked the library to buy.
hold_activity as (
    select
        holds.user_key,
        count(*) as holds_in_window
    from holds
    cross join window_start
    where holds.placed_at >= window_start.starts_at
    group by holds.user_key
),

request_activity as (
    select
        purchase_requests.user_key,
        count(*) as purchase_requests_in_window
    from purchase_requests
    cross join window_start
    where purchase_requests.requested_at >= window_start.starts_at
    group by purchase_requests.user_key
),

-- When and at what hour a user comes: checkouts and entries in the window, most frequent
-- first (ties go to the earlier day of the week or hour).
moments as (
    select
        loans.user_key,
        loans.checkout_at as happened_at
    from loans
    cross join window_start
    where loans.checkout_at >= window_start.starts_at
    union all
    select
        visits.user_key,
        visits.entered_at as happened_at
    from visits
    cross join window_start
    where visits.entered_at >= window_start.starts_at
),

rhythms as (
    select
        user_key,
        mode() within group (order by extract(isodow from happened_at)) as preferred_isodow,
        mode() within group (order by extract(hour from happened_at)) as preferred_hour
    from moments
    group by user_key
),

-- Back after a long silence: an active day within returning_within_days that followed at
-- least lapsed_after_days without any activity (teaching days).
returns as (
    select
        activity_days.user_key,
        bool_or(
            activity_days.teaching_days_since_previous >= {{ var('lapsed_after_days') }}
            and today.teaching_day_number - activity_days.teaching_day_number
            < {{ var('returning_within_days') }}
        ) as returned_after_silence
    from activity_days
    cross join today
    group by activity_days.user_key
),

final as (
    select
        users.user_key,
        users.registered_on,
        coalesce(loan_activity.loans_total, 0) as loans_total,
        coalesce(loan_activity.loans_in_window, 0) as loans_in_window,
        coalesce(loan_activity.book_loans_in_window, 0) as book_loans_in_window,
        coalesce(loan_activity.active_months, 0) as active_months,
        loan_activity.last_loan_at,
        coalesce(visit_activity.visits_total, 0) as visits_total,
        coalesce(visit_activity.visits_in_window, 0) as visits_in_window,
        round(coalesce(visit_activity.library_hours_in_window, 0)::numeric, 1)
            as library_hours_in_window,
        visit_activity.last_visit_at,
        coalesce(event_activity.events_registered, 0) as events_registered,
        coalesce(event_activity.events_attended, 0) as events_attended,
        coalesce(event_activity.events_attended_in_window, 0) as events_attended_in_window,
        coalesce(event_activity.feedback_given, 0) as feedback_given,
        round(event_activity.average_rating, 2) as average_rating,
        coalesce(hold_activity.holds_in_window, 0) as holds_in_window,
        coalesce(request_activity.purchase_requests_in_window, 0) as purchase_requests_in_window,
        greatest(
            loan_activity.last_loan_at, visit_activity.last_visit_at, event_activity.last_event_at
        ) as last_active_at,
        today.teaching_day_number - last_active_day.teaching_day_number
            as teaching_days_since_active,
        today.teaching_day_number - registration_day.teaching_day_number
            as teaching_days_since_registered,
        cohorts.is_student,
        cohorts.in_first_term,
        cohorts.has_left,
        rhythms.preferred_isodow::integer as preferred_isodow,
        rhythms.preferred_hour::integer as preferred_hour,
        coalesce(returns.returned_after_silence, false) as returned_after_silence
    from users
    left join loan_activity on users.user_key = loan_activity.user_key
    left join visit_activity on users.user_key = visit_activity.user_key
    left join event_activity on users.user_key = event_activity.user_key
    left join hold_activity on users.user_key = hold_activity.user_key
    left join request_activity on users.user_key = request_activity.user_key
    left join rhythms on users.user_key = rhythms.user_key
    left join returns on users.user_key = returns.user_key
    inner join cohorts on users.user_key = cohorts.user_key
    cross join today
    left join calendar_days as registration_day
        on users.registered_on = registration_day.calendar_date
    left join calendar_days as last_active_day
        on
            greatest(
                loan_activity.last_loan_at,
                visit_activity.last_visit_at,
                event_activity.last_event_at
            )::date
            = last_active_day.calendar_date
)

select * from final
