-- Give rows keyed by card number the user_key of the card's holder when their batch was
-- loaded (identity.cards), the way rows keyed by patron id get theirs at load time. The loader
-- admits only cards in use, so every row finds exactly one holder.
{% macro with_card_holder(relation, card_column) -%}
    select
        cards.user_key,
        keyed.*
    from {{ relation }} as keyed
    inner join {{ source('identity', 'cards') }} as cards
        on
            keyed.{{ card_column }} = cards.barcode
            and keyed.batch_id > cards.from_batch
            and (cards.to_batch is null or keyed.batch_id < cards.to_batch)
{%- endmacro %}
