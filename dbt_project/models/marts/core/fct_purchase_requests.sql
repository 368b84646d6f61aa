-- Incremental: each run rebuilds the requests made or decided within the look-back window and
-- those still pending or ordered (see replace_window and incremental_lookback_days); older
-- requests are final. A request the table last saw open is rebuilt even when its decision
-- arrived too late for the window, so it is never deleted without being rebuilt.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_window',
        incremental_predicates=[
            "(requested_at >= " ~ incremental_window_start()
            ~ " or status in ('pending', 'ordered') or decided_at >= "
            ~ incremental_window_start() ~ ")"
        ],
        on_schema_change='fail',
    )
}}

with

requests as (
    select * from {{ ref('stg_ils__purchase_requests') }}
    where requested_at < {{ as_of_end() }}
),

items as (
    select * from {{ ref('dim_items') }}
),

-- As of the run's day: a decision after it has not been made yet (pending), and a purchased
-- book acquired after it has not arrived yet (ordered, no copy). The export has no arrival
-- time; the copy's acquisition day in dim_items is when it arrived.
decisions as (
    select
        requests.*,
        coalesce(requests.decided_at >= {{ as_of_end() }}, false) as is_undecided,
        coalesce(items.acquired_on > {{ as_of_date() }}, false) as is_not_arrived
    from requests
    left join items on requests.item_id = items.item_id
),

as_of_state as (
    select
        request_id,
        user_key,
        title,
        clc_class,
        requested_at,
        case
            when is_undecided then 'pending'
            when status = 'purchased' and is_not_arrived then 'ordered'
            else status
        end as status,
        case when not is_undecided then decided_at end as decided_at,
        case when not (is_undecided or is_not_arrived) then item_id end as item_id
    from decisions
),

rebuilt as (
    select * from as_of_state
    {% if is_incremental() -%}
        where
            requested_at >= {{ incremental_window_start() }}
            or status in ('pending', 'ordered')
            or decided_at >= {{ incremental_window_start() }}
            or request_id in (
                select previous.request_id from {{ this }} as previous
                where previous.status in ('pending', 'ordered')
            )
    {%- endif %}
),

final as (
    select
        rebuilt.request_id,
        rebuilt.user_key,
        rebuilt.item_id,
        rebuilt.title,
        rebuilt.clc_class,
        rebuilt.requested_at,
        rebuilt.status,
        rebuilt.decided_at,
        cast(rebuilt.requested_at as date) as requested_date,
        rebuilt.status = 'purchased' as is_purchased
    from rebuilt
)

select * from final
