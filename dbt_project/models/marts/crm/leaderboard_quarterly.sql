with

users as (
    select * from {{ ref('dim_users') }}
    where not is_staff and not opt_out
),

loans as (
    select * from {{ ref('fct_loans') }}
    where is_book
),

-- Only hours confirmed by an exit swipe count: a forgotten exit must not win a prize.
visits as (
    select * from {{ ref('fct_visits') }}
    where closed_by = 'exit'
),

loan_totals as (
    select
        date_trunc('quarter', loans.checkout_at)::date as quarter_starts_on,
        'loans' as metric,
        loans.user_key,
        -- quarter and value are keywords, and the contract's column names.
        count(*)::numeric as value  -- noqa: RF04
    from loans
    inner join users on loans.user_key = users.user_key
    group by date_trunc('quarter', loans.checkout_at), loans.user_key
),

hour_totals as (
    select
        date_trunc('quarter', visits.entered_at)::date as quarter_starts_on,
        'library_hours' as metric,
        visits.user_key,
        round(sum(visits.dwell_minutes) / 60.0, 1) as value  -- noqa: RF04
    from visits
    inner join users on visits.user_key = users.user_key
    group by date_trunc('quarter', visits.entered_at), visits.user_key
),

totals as (
    select * from loan_totals
    union all
    select * from hour_totals
),

-- Competition ranking: equal values share a rank and the next rank skips (1, 2, 2, 4).
ranked as (
    select
        quarter_starts_on,
        metric,
        user_key,
        value,
        rank() over by_board as rank,
        count(*) over (partition by quarter_starts_on, metric, value) as tied
    from totals
    where value > 0
    window by_board as (partition by quarter_starts_on, metric order by value desc)
),

-- A tie that does not fit entirely in the places is left out as a whole, so that everyone
-- tied is treated alike and a board never has more than leaderboard_places rows.
final as (
    select
        to_char(quarter_starts_on, 'YYYY-"Q"Q') as quarter,  -- noqa: RF04
        metric,
        rank::integer as rank,
        user_key,
        value,
        quarter_starts_on,
        (quarter_starts_on + interval '3 months')::date <= {{ as_of_date() }} + 1 as is_final
    from ranked
    where rank + tied - 1 <= {{ var('leaderboard_places') }}
)

select * from final
