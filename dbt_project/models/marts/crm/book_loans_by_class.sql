-- Book loans per CLC class up to the run's day: the classes a campaign's goal "borrow in a
-- class" offers (the workspace reads these rows instead of every loan).
with

loans as (
    select * from {{ ref('fct_loans') }}
    where is_book and clc_class is not null
),

final as (
    select
        clc_class,
        count(*) as book_loans,
        count(distinct user_key) as borrowers
    from loans
    group by clc_class
)

select * from final
