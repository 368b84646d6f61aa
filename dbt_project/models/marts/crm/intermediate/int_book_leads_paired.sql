-- Bounded self-join: a loan meets only later loans of the same book within follow_max_days,
-- over opinion_history_days of loans, so the cost grows with loans, not with loans squared.
with

books as (
    select
        user_key,
        item_id,
        checkout_at
    from {{ ref('fct_loans') }}
    where
        is_book
        and checkout_at
        >= {{ as_of_end() }} - make_interval(days => {{ var('opinion_history_days') }})
),

follows as (
    select
        earlier.user_key as leader_key,
        later.user_key as follower_key,
        earlier.item_id,
        extract(epoch from later.checkout_at - earlier.checkout_at) / 86400.0 as lead_days
    from books as earlier
    inner join books as later
        on
            earlier.item_id = later.item_id
            and later.checkout_at
            >= earlier.checkout_at + make_interval(days => {{ var('follow_min_days') }})
            and later.checkout_at
            <= earlier.checkout_at + make_interval(days => {{ var('follow_max_days') }})
            and earlier.user_key <> later.user_key
),

final as (
    select
        leader_key,
        follower_key,
        count(distinct item_id) as books_followed,
        round(avg(lead_days)::numeric, 1) as average_lead_days
    from follows
    group by leader_key, follower_key
)

select * from final
