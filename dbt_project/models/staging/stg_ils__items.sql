with

source as (
    {{ latest_per_key(source('ils', 'items'), 'item_id') }}
),

final as (
    select
        item_id,
        title,
        author,
        call_number,
        clc_class,
        material_type,
        status,
        acquired_on
    from source
)

select * from final
