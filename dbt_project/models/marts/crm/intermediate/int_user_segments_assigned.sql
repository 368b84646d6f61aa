with

measures as (
    select * from {{ ref('int_user_measures_aggregated') }}
),

engagement as (
    select * from {{ ref('int_user_engagement_ranked') }}
),

-- The activity window (0) and the one before it (1), side by side.
current_window as (
    select * from engagement
    where window_number = 0
),

previous_window as (
    select * from engagement
    where window_number = 1
),

-- Loyalty score weights (sum 100): steadiness over months counts most, then loan volume,
-- presence in the library and taking part in events.
weights as (
    select
        40.0 as months_weight,
        30.0 as loans_weight,
        20.0 as visits_weight,
        10.0 as events_weight
),

final as (
    select
        measures.user_key,
        -- Relative to the peers (int_user_engagement_ranked); leavers are not ranked.
        case
            when
                current_window.engagement >= {{ var('long_term_min_engagement') }}
                and previous_window.engagement >= {{ var('long_term_min_engagement') }}
                and current_window.active_months >= {{ var('long_term_min_active_months') }}
                then 'long_term'
            when current_window.engagement >= {{ var('growth_min_engagement') }} then 'growth'
            when
                measures.loans_in_window
                + measures.visits_in_window
                + measures.events_attended_in_window
                + measures.holds_in_window
                + measures.purchase_requests_in_window > 0
                then 'short_term'
            else 'inactive'
        end as value_segment,
        -- Leavers first: a graduate or a leaver is never lapsed nor at_risk. Timers count
        -- teaching days (int_calendar_days_counted).
        case
            when measures.has_left and measures.is_student then 'graduated'
            when measures.has_left then 'left'
            when measures.in_first_term then 'freshman'
            when measures.teaching_days_since_registered < {{ var('new_user_days') }} then 'new'
            when
                measures.teaching_days_since_active is null
                or measures.teaching_days_since_active >= {{ var('lapsed_after_days') }}
                then 'lapsed'
            when measures.teaching_days_since_active >= {{ var('at_risk_after_days') }}
                then 'at_risk'
            when measures.returned_after_silence then 'returning'
            else 'active'
        end as lifecycle_stage,
        case
            when measures.book_loans_in_window >= {{ var('avid_reader_min_loans') }}
                then 'avid_reader'
            when measures.events_attended_in_window >= {{ var('persona_min_events') }}
                then 'event_goer'
            when measures.library_hours_in_window >= {{ var('persona_min_hours') }}
                then 'study_space_user'
            when
                measures.loans_in_window
                + measures.visits_in_window
                + measures.events_attended_in_window > 0
                then 'occasional_user'
            else 'dormant'
        end as persona,
        cast(round(
            weights.months_weight
            * least(measures.active_months::numeric / {{ var('long_term_min_active_months') }}, 1)
            + weights.loans_weight
            * least(measures.loans_in_window::numeric / {{ var('avid_reader_min_loans') }}, 1)
            + weights.visits_weight
            * least(measures.visits_in_window::numeric / {{ var('loyalty_visits_target') }}, 1)
            + weights.events_weight
            * least(
                measures.events_attended_in_window::numeric / {{ var('loyalty_events_target') }}, 1
            )
        ) as integer) as loyalty_score
    from measures
    cross join weights
    left join current_window on measures.user_key = current_window.user_key
    left join previous_window on measures.user_key = previous_window.user_key
)

select * from final
