-- Incremental: each run rebuilds the loans checked out, returned or still open within the
-- look-back window (see replace_window and incremental_lookback_days); older loans are final.
-- Indexed by day and by reader (post hooks): the workspace reads them so (docs/workspace.md).
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_window',
        incremental_predicates=[
            "(checkout_at >= " ~ incremental_window_start()
            ~ " or returned_at is null or returned_at >= " ~ incremental_window_start() ~ ")"
        ],
        on_schema_change='fail',
        post_hook=[
            "create index if not exists fct_loans_checkout_date on {{ this }} (checkout_date)",
            "create index if not exists fct_loans_user_key on {{ this }} (user_key)",
        ],
    )
}}

with

loans as (
    select * from {{ ref('stg_ils__loans') }}
    where
        checkout_at < {{ as_of_end() }}
        {% if is_incremental() -%}
            and (
                checkout_at >= {{ incremental_window_start() }}
                or returned_at is null
                or returned_at >= {{ incremental_window_start() }}
            )
        {%- endif %}
),

items as (
    select * from {{ ref('dim_items') }}
),

-- A return after the run's day has not happened yet as of that day.
as_of_state as (
    select
        loan_id,
        user_key,
        item_id,
        checkout_at,
        due_at,
        case when returned_at < {{ as_of_end() }} then returned_at end as returned_at
    from loans
),

final as (
    select
        as_of_state.loan_id,
        as_of_state.user_key,
        as_of_state.item_id,
        as_of_state.checkout_at,
        as_of_state.due_at,
        as_of_state.returned_at,
        cast(as_of_state.checkout_at as date) as checkout_date,
        coalesce(items.is_book, false) as is_book,
        items.clc_class,
        coalesce(
            as_of_state.returned_at is null and as_of_state.due_at < {{ as_of_end() }}, false
        ) as is_overdue
    from as_of_state
    left join items on as_of_state.item_id = items.item_id
)

select * from final
