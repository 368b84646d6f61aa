with

loans as (
    select * from {{ ref('stg_ils__loans') }}
),

items as (
    select * from {{ ref('dim_items') }}
),

final as (
    select
        loans.loan_id,
        loans.user_key,
        loans.item_id,
        loans.checkout_at,
        loans.due_at,
        loans.returned_at,
        cast(loans.checkout_at as date) as checkout_date,
        coalesce(items.is_book, false) as is_book,
        items.clc_class,
        loans.returned_at is null and loans.due_at < {{ as_of_end() }} as is_overdue
    from loans
    left join items on loans.item_id = items.item_id
    where loans.checkout_at < {{ as_of_end() }}
)

select * from final
