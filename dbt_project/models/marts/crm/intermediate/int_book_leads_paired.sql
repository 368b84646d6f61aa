-- Bounded self-join: a loan meets only later loans of the same work within follow_max_days,
-- over opinion_history_days of loans, so the cost grows with loans, not with loans squared.
-- A work is dim_items.work_id: copies with the same title and author (the macro work_key),
-- whatever copy or edition was borrowed.
with

items as (
    select * from {{ ref('dim_items') }}
    where is_book
),

works as (
    select
        item_id,
        clc_class,
        work_id as work_key
    from items
),

books as (
    select
        loans.user_key,
        works.work_key,
        works.clc_class,
        loans.checkout_at
    from {{ ref('fct_loans') }} as loans
    inner join works on loans.item_id = works.item_id
    where
        loans.checkout_at
        >= {{ as_of_end() }} - make_interval(days => {{ var('opinion_history_days') }})
),

follows as (
    select
        earlier.user_key as leader_key,
        later.user_key as follower_key,
        earlier.work_key,
        earlier.clc_class,
        extract(epoch from later.checkout_at - earlier.checkout_at) / 86400.0 as lead_days
    from books as earlier
    inner join books as later
        on
            earlier.work_key = later.work_key
            and later.checkout_at
            >= earlier.checkout_at + make_interval(days => {{ var('follow_min_days') }})
            and later.checkout_at
            <= earlier.checkout_at + make_interval(days => {{ var('follow_max_days') }})
            and earlier.user_key <> later.user_key
),

-- A work followed twice (two loans after the leader's, or after two of theirs) counts once.
followed_works as (
    select
        leader_key,
        follower_key,
        work_key,
        min(clc_class) as clc_class,
        min(lead_days) as lead_days
    from follows
    group by leader_key, follower_key, work_key
),

final as (
    select
        leader_key,
        follower_key,
        count(*) as books_followed,
        round(avg(lead_days)::numeric, 1) as average_lead_days,
        array_remove(array_agg(clc_class order by clc_class), null) as clc_classes
    from followed_works
    group by leader_key, follower_key
)

select * from final
