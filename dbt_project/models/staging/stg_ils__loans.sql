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
    -- Loans past the retention limit have lost their patron (libcrm.privacy.retention); the
    -- incremental fct_loans keeps what it built from them before.
    where user_key is not null
)

select * from final
