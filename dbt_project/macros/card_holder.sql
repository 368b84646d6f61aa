-- Give rows keyed by card number the user_key of the card's holder for their batch
-- (identity.cards), the way rows keyed by patron id get theirs at load time: the mapping in
-- force when the batch was loaded, or, for a file of the day a card was replaced or of an
-- earlier day, the card's holder of that day (libcrm.ingest.cards states the rule). The loader
-- admits only cards so held, so every row finds exactly one holder.
{% macro with_card_holder(relation, card_column) -%}
    select
        cards.user_key,
        keyed.*
    from {{ relation }} as keyed
    inner join {{ source('loads', 'load_audit') }} as batches
        on keyed.batch_id = batches.batch_id
    inner join {{ source('identity', 'cards') }} as cards
        on
            keyed.{{ card_column }} = cards.barcode
            and keyed.batch_id > cards.from_batch
            and (cards.from_day is null or batches.data_date >= cards.from_day)
            and (
                cards.to_batch is null
                or keyed.batch_id < cards.to_batch
                or batches.data_date <= cards.to_day
            )
{%- endmacro %}
