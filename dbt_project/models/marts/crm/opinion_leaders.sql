with

pairs as (
    select * from {{ ref('int_book_leads_paired') }}
),

users as (
    select * from {{ ref('dim_users') }}
),

-- Each pair seen from both sides: how many of A's books B borrowed after A, and vice versa.
directed as (
    select
        pairs.leader_key,
        pairs.follower_key,
        pairs.books_followed,
        pairs.average_lead_days,
        coalesce(back.books_followed, 0) as books_followed_back
    from pairs
    left join pairs as back
        on
            pairs.follower_key = back.leader_key
            and pairs.leader_key = back.follower_key
),

-- A follower borrowed at least follower_min_books of the user's books after them, and at
-- least follower_min_direction_ratio times as many as the other way round.
followers as (
    select
        leader_key,
        follower_key,
        books_followed,
        books_followed_back,
        average_lead_days
    from directed
    where
        books_followed >= {{ var('follower_min_books') }}
        and books_followed >= {{ var('follower_min_direction_ratio') }} * books_followed_back
),

influence as (
    select
        leader_key as user_key,
        count(*) as followers_reached,
        sum(books_followed - books_followed_back) as score,
        sum(books_followed) as books_carried,
        round(avg(average_lead_days), 1) as average_lead_days
    from followers
    group by leader_key
),

-- Position in the co-borrowing network: peers linked by a followed book in either direction.
links as (
    select
        leader_key as user_key,
        follower_key as peer_key
    from pairs
    union all
    select
        follower_key as user_key,
        leader_key as peer_key
    from pairs
),

network as (
    select
        user_key,
        count(distinct peer_key) as co_borrowers
    from links
    group by user_key
),

eligible as (
    select
        influence.user_key,
        users.category,
        users.department,
        influence.score,
        influence.followers_reached,
        influence.books_carried,
        influence.average_lead_days,
        network.co_borrowers
    from influence
    inner join users on influence.user_key = users.user_key
    inner join network on influence.user_key = network.user_key
    where not users.opt_out and influence.score > 0
),

final as (
    select
        user_key,
        score,
        cast(row_number() over (
            order by score desc, followers_reached desc, user_key asc
        ) as integer) as rank,
        followers_reached,
        books_carried,
        average_lead_days,
        co_borrowers,
        category,
        department
    from eligible
)

select * from final
