-- Incremental: each run rebuilds the holds placed or closed within the look-back window and
-- those still waiting (see replace_window and incremental_lookback_days); older holds are
-- final. A hold the table last saw waiting is rebuilt even when its close arrived too late
-- for the window, so it is never deleted without being rebuilt.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_window',
        incremental_predicates=[
            "(placed_at >= " ~ incremental_window_start()
            ~ " or closed_at is null or closed_at >= " ~ incremental_window_start() ~ ")"
        ],
        on_schema_change='fail',
    )
}}

with

holds as (
    select * from {{ ref('stg_ils__holds') }}
    where placed_at < {{ as_of_end() }}
),

items as (
    select * from {{ ref('dim_items') }}
),

-- A fill or close after the run's day has not happened yet as of that day: still waiting.
as_of_state as (
    select
        hold_id,
        user_key,
        item_id,
        placed_at,
        case when closed_at < {{ as_of_end() }} then status else 'waiting' end as status,
        case when closed_at < {{ as_of_end() }} then filled_at end as filled_at,
        case when closed_at < {{ as_of_end() }} then closed_at end as closed_at
    from holds
),

rebuilt as (
    select * from as_of_state
    {% if is_incremental() -%}
        where
            placed_at >= {{ incremental_window_start() }}
            or closed_at is null
            or closed_at >= {{ incremental_window_start() }}
            or hold_id in (
                select previous.hold_id from {{ this }} as previous
                where previous.closed_at is null
            )
    {%- endif %}
),

final as (
    select
        rebuilt.hold_id,
        rebuilt.user_key,
        rebuilt.item_id,
        rebuilt.placed_at,
        rebuilt.status,
        rebuilt.filled_at,
        rebuilt.closed_at,
        cast(rebuilt.placed_at as date) as placed_date,
        coalesce(items.is_book, false) as is_book,
        items.clc_class,
        extract(
            day from coalesce(rebuilt.closed_at, {{ as_of_end() }}) - rebuilt.placed_at
        ) as days_waited
    from rebuilt
    left join items on rebuilt.item_id = items.item_id
)

select * from final
