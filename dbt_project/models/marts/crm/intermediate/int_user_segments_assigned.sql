with

measures as (
    select * from {{ ref('int_user_measures_aggregated') }}
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
        case
            when
                measures.loans_in_window >= {{ var('long_term_min_loans') }}
                and measures.active_months >= {{ var('long_term_min_active_months') }}
                then 'long_term'
            when measures.loans_in_window >= {{ var('growth_min_loans') }} then 'growth'
            when
                measures.loans_in_window
                + measures.visits_in_window
                + measures.events_attended_in_window > 0
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
            when measures.book_loans_in_window >= {{ var('long_term_min_loans') }}
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
            * least(measures.loans_in_window::numeric / {{ var('long_term_min_loans') }}, 1)
            + weights.visits_weight
            * least(measures.visits_in_window::numeric / {{ var('loyalty_visits_target') }}, 1)
            + weights.events_weight
            * least(
                measures.events_attended_in_window::numeric / {{ var('loyalty_events_target') }}, 1
            )
        ) as integer) as loyalty_score
    from measures
    cross join weights
)

select * from final
