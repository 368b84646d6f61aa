-- Days after a publication in which a loan or registration counts as taking it up: two
-- weeks, the holdout window the nightly gate measures the model on.
{% set uptake_window_days = var('uptake_window_days', 14) %}

with

recommended as (
    select * from {{ source('recsys', 'recommendation_log') }}
),

impressions as (
    select * from {{ source('recsys', 'impressions') }}
),

publications as (
    select * from {{ source('portal', 'publication') }}
),

loans as (
    select * from {{ ref('fct_loans') }}
),

items as (
    select * from {{ ref('dim_items') }}
),

attendance as (
    select * from {{ ref('fct_event_attendance') }}
),

-- A loan of any copy of the recommended work (dim_items.work_id) takes the recommendation up.
resource_uptake as (
    select distinct
        recommended.model_version,
        recommended.user_key
    from recommended
    inner join items as shown on recommended.target_id = shown.item_id
    inner join items as copies on shown.work_id = copies.work_id
    inner join loans
        on
            recommended.user_key = loans.user_key
            and copies.item_id = loans.item_id
            and recommended.generated_for < loans.checkout_date
            and recommended.generated_for + {{ uptake_window_days }} >= loans.checkout_date
    where recommended.kind = 'resource'
),

activity_uptake as (
    select distinct
        recommended.model_version,
        recommended.user_key
    from recommended
    inner join attendance
        on
            recommended.user_key = attendance.user_key
            and recommended.target_id = attendance.event_id
            and recommended.generated_for + 1 <= attendance.registered_at
            and recommended.generated_for + 1 + {{ uptake_window_days }} > attendance.registered_at
    where recommended.kind = 'activity'
),

taken as (
    select
        model_version,
        user_key,
        'resource' as kind
    from resource_uptake
    union all
    select
        model_version,
        user_key,
        'activity' as kind
    from activity_uptake
),

-- The portal serves the newest published night, from the day after its generated_for until
-- the day after the next night's (served_until null: still served). Every publication
-- replaces both kinds' lists, even with none of a kind. Days, not published_at: a re-run of
-- the served night moves its published_at, not what the portal served before.
serving as (
    select
        generated_for,
        generated_for + 1 as served_from,
        lead(generated_for) over (order by generated_for) + 1 as served_until
    from publications
),

-- A reader was shown a night's list when the portal reported showing one of its
-- recommendations while that night was served, within the window: an impression of a book
-- a later night recommended again is that later night's.
shown as (
    select distinct
        recommended.model_version,
        recommended.kind,
        recommended.user_key
    from recommended
    inner join serving on recommended.generated_for = serving.generated_for
    inner join impressions
        on
            recommended.user_key = impressions.user_key
            and recommended.kind = impressions.kind
            and recommended.target_id = impressions.target_id
            and serving.served_from <= impressions.shown_at
            and (serving.served_until is null or serving.served_until > impressions.shown_at)
            and impressions.shown_at < recommended.generated_for + 1 + {{ uptake_window_days }}
),

published as (
    select
        model_version,
        kind,
        min(generated_for) as generated_for,
        count(distinct user_key) as users_recommended
    from recommended
    group by model_version, kind
),

took_up as (
    select
        taken.model_version,
        taken.kind,
        count(distinct taken.user_key) as users_took_up,
        count(distinct shown.user_key) as users_shown_took_up
    from taken
    left join shown
        on
            taken.model_version = shown.model_version
            and taken.kind = shown.kind
            and taken.user_key = shown.user_key
    group by taken.model_version, taken.kind
),

shown_counts as (
    select
        model_version,
        kind,
        count(*) as users_shown
    from shown
    group by model_version, kind
),

final as (
    select
        published.model_version,
        published.kind,
        published.generated_for,
        {{ uptake_window_days }} as window_days,
        published.users_recommended,
        coalesce(took_up.users_took_up, 0) as users_took_up,
        coalesce(took_up.users_took_up, 0)::double precision
        / published.users_recommended as uptake_share,
        coalesce(shown_counts.users_shown, 0) as users_shown,
        coalesce(took_up.users_shown_took_up, 0) as users_shown_took_up,
        coalesce(took_up.users_took_up, 0)
        - coalesce(took_up.users_shown_took_up, 0) as users_not_shown_took_up,
        published.generated_for + {{ uptake_window_days }} <= {{ as_of_date() }}
            as window_complete
    from published
    left join took_up
        on
            published.model_version = took_up.model_version
            and published.kind = took_up.kind
    left join shown_counts
        on
            published.model_version = shown_counts.model_version
            and published.kind = shown_counts.kind
)

select * from final
