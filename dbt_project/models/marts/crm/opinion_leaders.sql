with

book_pairs as (
    select * from {{ ref('int_book_leads_paired') }}
),

event_pairs as (
    select * from {{ ref('int_event_leads_paired') }}
),

users as (
    select * from {{ ref('dim_users') }}
),

-- Works and events a peer took up after the user, per ordered pair.
pairs as (
    select
        coalesce(book_pairs.leader_key, event_pairs.leader_key) as leader_key,
        coalesce(book_pairs.follower_key, event_pairs.follower_key) as follower_key,
        coalesce(book_pairs.books_followed, 0) as books_followed,
        coalesce(event_pairs.events_followed, 0) as events_followed,
        coalesce(book_pairs.books_followed, 0)
        + coalesce(event_pairs.events_followed, 0) as adoptions,
        book_pairs.average_lead_days,
        book_pairs.clc_classes
    from book_pairs
    full outer join event_pairs
        on
            book_pairs.leader_key = event_pairs.leader_key
            and book_pairs.follower_key = event_pairs.follower_key
),

-- Each pair seen from both sides: how much of A's reading and events B took up after A, and
-- vice versa.
directed as (
    select
        pairs.leader_key,
        pairs.follower_key,
        pairs.books_followed,
        pairs.events_followed,
        pairs.adoptions,
        pairs.average_lead_days,
        pairs.clc_classes,
        coalesce(back.adoptions, 0) as adoptions_back
    from pairs
    left join pairs as back
        on
            pairs.follower_key = back.leader_key
            and pairs.leader_key = back.follower_key
),

-- A follower took up at least follower_min_adoptions of the user's works and events, and at
-- least follower_min_direction_ratio times as many as the other way round.
followers as (
    select
        leader_key,
        follower_key,
        books_followed,
        events_followed,
        adoptions,
        adoptions_back,
        average_lead_days,
        clc_classes
    from directed
    where
        adoptions >= {{ var('follower_min_adoptions') }}
        and adoptions >= {{ var('follower_min_direction_ratio') }} * adoptions_back
),

influence as (
    select
        leader_key as user_key,
        count(*) as followers_reached,
        sum(adoptions - adoptions_back) as score,
        sum(books_followed) as books_carried,
        sum(events_followed) as events_carried,
        round(avg(average_lead_days), 1) as average_lead_days
    from followers
    group by leader_key
),

-- Position in the co-borrowing network: peers linked by a followed work or event in either
-- direction.
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

-- The subjects a leader leads in: the CLC classes of the works their followers took up, the
-- top top_classes_per_user by works, ties to the class code that sorts first.
carried_classes as (
    select
        followers.leader_key as user_key,
        classes.clc_class,
        count(*) as works
    from followers
    cross join lateral unnest(followers.clc_classes) as classes (clc_class)
    group by followers.leader_key, classes.clc_class
),

ranked_classes as (
    select
        user_key,
        clc_class,
        row_number() over (partition by user_key order by works desc, clc_class asc) as place
    from carried_classes
),

leader_subjects as (
    select
        user_key,
        string_agg(clc_class, ',' order by place) as subjects
    from ranked_classes
    where place <= {{ var('top_classes_per_user') }}
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
        influence.events_carried,
        influence.average_lead_days,
        network.co_borrowers,
        leader_subjects.subjects
    from influence
    inner join users on influence.user_key = users.user_key
    inner join network on influence.user_key = network.user_key
    left join leader_subjects on influence.user_key = leader_subjects.user_key
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
        events_carried,
        average_lead_days,
        co_borrowers,
        subjects,
        category,
        department
    from eligible
)

select * from final
