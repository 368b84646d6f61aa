with

source as (
    {{ latest_per_key(source('ils', 'holds'), 'hold_id') }}
),

final as (
    select
        hold_id,
        user_key,
        item_id,
        placed_at,
        status,
        filled_at,
        closed_at
    from source
    -- Holds closed past the retention limit have lost their patron (libcrm.privacy.retention);
    -- the incremental fct_holds keeps what it built from them before.
    where user_key is not null
)

select * from final
