-- Indexed by item (post hook): a reader's page looks up the items recommended to them.
{{
    config(
        post_hook=[
            "create index if not exists dim_items_item_id on {{ this }} (item_id)",
        ],
    )
}}

with

items as (
    select * from {{ ref('stg_ils__items') }}
),

-- Copies of one work (same title and author, written alike: see the macro work_key) are one
-- work, named by the smallest of their item ids, so that it stays when a copy is lost.
works as (
    select
        item_id,
        min(item_id) over (partition by {{ work_key('title', 'author') }}) as work_id
    from items
),

final as (
    select
        items.item_id,
        works.work_id,
        items.title,
        items.author,
        items.call_number,
        items.clc_class,
        items.material_type,
        items.status,
        items.acquired_on,
        items.material_type = 'book' as is_book,
        coalesce(items.material_type = 'book' and items.status in ('available', 'on_loan'), false)
            as is_recommendable
    from items
    inner join works on items.item_id = works.item_id
)

select * from final
