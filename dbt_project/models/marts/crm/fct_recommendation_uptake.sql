-- Days after a publication in which a loan or registration counts as taking it up: two
-- weeks, the holdout window the nightly gate measures the model on.
{% set uptake_window_days = var('uptake_window_days', 14) %}

with

recommended as (
    select * from {{ source('recsys', 'recommendation_log') }}
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
        model_version,
        kind,
        count(distinct user_key) as users_took_up
    from taken
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
        published.generated_for + {{ uptake_window_days }} <= {{ as_of_date() }}
            as window_complete
    from published
    left join took_up
        on
            published.model_version = took_up.model_version
            and published.kind = took_up.kind
)

select * from final
