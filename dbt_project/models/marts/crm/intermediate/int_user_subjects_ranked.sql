with

loans as (
    select * from {{ ref('fct_loans') }}
    where is_book and clc_class is not null
),

per_class as (
    select
        user_key,
        clc_class,
        count(*) as book_loans
    from loans
    group by user_key, clc_class
),

ranked as (
    select
        user_key,
        clc_class,
        book_loans,
        row_number() over (
            partition by user_key order by book_loans desc, clc_class asc
        ) as class_rank
    from per_class
),

final as (
    select
        user_key,
        clc_class,
        book_loans,
        class_rank
    from ranked
    where class_rank <= {{ var('top_classes_per_user') }}
)

select * from final
