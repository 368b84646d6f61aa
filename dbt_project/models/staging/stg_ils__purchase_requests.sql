with

source as (
    {{ latest_per_key(source('ils', 'purchase_requests'), 'request_id') }}
),

final as (
    select
        request_id,
        user_key,
        title,
        author,
        isbn,
        clc_class,
        requested_at,
        status,
        decided_at,
        item_id
    from source
    -- Requests decided past the retention limit have lost their patron
    -- (libcrm.privacy.retention); the incremental fct_purchase_requests keeps what it built
    -- from them before.
    where user_key is not null
)

select * from final
