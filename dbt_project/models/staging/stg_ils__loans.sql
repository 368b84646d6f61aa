with

source as (
    {{ latest_per_key(source('ils', 'loans'), 'loan_id') }}
),

final as (
    select
        loan_id,
        user_key,
        item_id,
        checkout_at,
        due_at,
        returned_at
    from source
)

select * from final
