-- How each user uses the library in four ways, ranked among their peers: the input of the
-- value segments. Window 0 is the activity window up to the run's day, window 1 the one
-- before it; a user is ranked in a window when they used the library in it.
with

users as (
    select * from {{ ref('dim_users') }}
),

measures as (
    select * from {{ ref('int_user_measures_aggregated') }}
),

loans as (
    select * from {{ ref('fct_loans') }}
),

visits as (
    select * from {{ ref('fct_visits') }}
),

attendance as (
    select * from {{ ref('fct_event_attendance') }}
    where attended and starts_at < {{ as_of_end() }}
),

holds as (
    select * from {{ ref('fct_holds') }}
),

purchase_requests as (
    select * from {{ ref('fct_purchase_requests') }}
),

windows as (
    select
        window_number,
        {{ as_of_end() }}
        - make_interval(days => {{ var('activity_window_days') }} * (window_number + 1))
            as starts_at,
        {{ as_of_end() }}
        - make_interval(days => {{ var('activity_window_days') }} * window_number) as ends_at
    from (values (0), (1)) as numbers (window_number)
),

-- Every dated act of a user, by dimension: a loan, hours in the library, an attended event,
-- a hold or a purchase request (demand the loans do not show).
acts as (
    select
        user_key,
        checkout_at as happened_at,
        1.0 as loans,
        0.0 as library_hours,
        0.0 as events_attended,
        0.0 as requests
    from loans
    union all
    select
        user_key,
        entered_at as happened_at,
        0.0 as loans,
        dwell_minutes / 60.0 as library_hours,
        0.0 as events_attended,
        0.0 as requests
    from visits
    union all
    select
        user_key,
        starts_at as happened_at,
        0.0 as loans,
        0.0 as library_hours,
        1.0 as events_attended,
        0.0 as requests
    from attendance
    union all
    select
        user_key,
        placed_at as happened_at,
        0.0 as loans,
        0.0 as library_hours,
        0.0 as events_attended,
        1.0 as requests
    from holds
    union all
    select
        user_key,
        requested_at as happened_at,
        0.0 as loans,
        0.0 as library_hours,
        0.0 as events_attended,
        1.0 as requests
    from purchase_requests
),

per_window as (
    select
        acts.user_key,
        windows.window_number,
        sum(acts.loans) as loans,
        sum(acts.library_hours) as library_hours,
        sum(acts.events_attended) as events_attended,
        sum(acts.requests) as requests,
        count(distinct date_trunc('month', acts.happened_at)) as active_months
    from acts
    inner join windows
        on acts.happened_at >= windows.starts_at and acts.happened_at < windows.ends_at
    group by acts.user_key, windows.window_number
),

-- Peers: the users of the window (any act in it) of the same category and, for students, the
-- same cohort (enrolled_year); a cohort smaller than segment_min_peers is ranked with its
-- whole category instead. Cards nobody used are left out: they would lift everyone else.
-- Each step carries the window's measures along rather than joining per_window again: a
-- join of two such intermediate results on (user, window), planned on a misestimate of
-- their size, ran for minutes on an incremental night of the large library.
members as (
    select
        users.user_key,
        windows.window_number,
        users.category,
        case when measures.is_student then users.enrolled_year end as cohort,
        per_window.active_months,
        per_window.loans,
        per_window.library_hours,
        per_window.events_attended,
        per_window.requests,
        -- A card registered during the window is measured over the days it was valid, at
        -- least segment_min_exposure_days, so a newcomer is not ranked low for being new.
        greatest(
            least(
                {{ var('activity_window_days') }},
                windows.ends_at::date - users.registered_on
            ),
            {{ var('segment_min_exposure_days') }}
        ) as exposure_days
    from users
    inner join measures on users.user_key = measures.user_key
    inner join per_window on users.user_key = per_window.user_key
    inner join windows on per_window.window_number = windows.window_number
    where not measures.has_left
),

-- Each measure scaled to a full window, so the newcomer's fewer days count.
rates as (
    select
        user_key,
        window_number,
        case
            when
                count(*) over (partition by window_number, category, cohort)
                >= {{ var('segment_min_peers') }}
                then category || ' ' || coalesce(cohort::text, '')
            else category
        end as peer_group,
        active_months,
        loans * {{ var('activity_window_days') }} / exposure_days as loans,
        library_hours * {{ var('activity_window_days') }} / exposure_days as library_hours,
        events_attended * {{ var('activity_window_days') }} / exposure_days as events_attended,
        requests * {{ var('activity_window_days') }} / exposure_days as requests
    from members
),

-- Percentile = share of the peers with less: 0 for nothing (or the least), near 1 for the most.
ranked as (
    select
        user_key,
        window_number,
        peer_group,
        active_months,
        loans,
        library_hours,
        events_attended,
        requests,
        percent_rank() over (partition by window_number, peer_group order by loans)
            as loans_percentile,
        percent_rank() over (partition by window_number, peer_group order by library_hours)
            as hours_percentile,
        percent_rank() over (partition by window_number, peer_group order by events_attended)
            as events_percentile,
        percent_rank() over (partition by window_number, peer_group order by requests)
            as requests_percentile
    from rates
),

-- Engagement = (2 x the strongest percentile + the second strongest) / 3: one way of use
-- the user excels in counts most (a reader who studies every day and borrows nothing), a
-- second one confirms it (one high percentile among four noisy ones is often luck). The
-- second strongest of four is the largest of the six pairs' smaller values.
final as (
    select
        user_key,
        window_number,
        peer_group,
        active_months,
        round(loans::numeric, 1) as loans,
        round(library_hours::numeric, 1) as library_hours,
        round(events_attended::numeric, 1) as events_attended,
        round(requests::numeric, 1) as requests,
        round(loans_percentile::numeric, 3) as loans_percentile,
        round(hours_percentile::numeric, 3) as hours_percentile,
        round(events_percentile::numeric, 3) as events_percentile,
        round(requests_percentile::numeric, 3) as requests_percentile,
        round(
            ((
                2 * greatest(
                    loans_percentile, hours_percentile, events_percentile, requests_percentile
                )
                + greatest(
                    least(loans_percentile, hours_percentile),
                    least(loans_percentile, events_percentile),
                    least(loans_percentile, requests_percentile),
                    least(hours_percentile, events_percentile),
                    least(hours_percentile, requests_percentile),
                    least(events_percentile, requests_percentile)
                )
            ) / 3)::numeric,
            3
        ) as engagement
    from ranked
)

select * from final
