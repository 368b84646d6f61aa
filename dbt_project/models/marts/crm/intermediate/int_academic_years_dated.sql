with

calendar as (
    select * from {{ ref('academic_calendar') }}
),

-- An academic year starts with the term that begins in the second half of a calendar year
-- (the autumn term) and holds the terms up to the next one.
terms as (
    select
        first_day,
        last_day,
        cast(
            extract(year from first_day)
            - case when extract(month from first_day) >= 7 then 0 else 1 end as integer
        ) as academic_year
    from calendar
    where kind = 'term'
),

final as (
    select
        academic_year,
        min(first_day) as first_term_starts_on,
        (array_agg(last_day order by first_day))[1] as first_term_ends_on,
        max(last_day) as last_term_ends_on
    from terms
    group by academic_year
)

select * from final
