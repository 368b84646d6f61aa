with

source as (
    {{ latest_per_key(source('ils', 'patrons'), 'patron_id') }}
),

final as (
    select
        user_key,
        category,
        department,
        enrolled_year,
        registered_on,
        expires_on,
        opt_out
    from source
)

select * from final
