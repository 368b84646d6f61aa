with

source as (
    {{ with_card_holder(source('gate', 'gate_passages'), 'card_number') }}
),

final as (
    select
        batch_id,
        source_line,
        user_key,
        passed_at,
        direction,
        gate_id
    from source
)

select * from final
