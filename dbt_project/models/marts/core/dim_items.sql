with

items as (
    select * from {{ ref('stg_ils__items') }}
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
        acquired_on,
        material_type = 'book' as is_book,
        coalesce(material_type = 'book' and status in ('available', 'on_loan'), false)
            as is_recommendable
    from items
)

select * from final
