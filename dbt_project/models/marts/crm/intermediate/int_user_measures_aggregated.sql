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
-- least lapsed_after_days without any activity.
returns as (
    select
        user_key,
        bool_or(
            days_since_previous >= {{ var('lapsed_after_days') }}
            and activity_date > {{ as_of_date() }} - {{ var('returning_within_days') }}
        ) as returned_after_silence
    from activity_days
    group by user_key
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
)

select * from final
