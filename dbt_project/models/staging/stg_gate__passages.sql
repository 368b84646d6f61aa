with

source as (
    select * from {{ source('gate', 'gate_passages') }}
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
