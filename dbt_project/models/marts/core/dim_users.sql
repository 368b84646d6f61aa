-- Indexed by reader (post hook): the workspace looks readers up one at a time.
{{
    config(
        post_hook=[
            "create index if not exists dim_users_user_key on {{ this }} (user_key)",
        ],
    )
}}

with

patrons as (
    select * from {{ ref('stg_ils__patrons') }}
),

final as (
    select
        user_key,
        category,
        department,
        enrolled_year,
        registered_on,
        expires_on,
        opt_out,
        category = 'staff' as is_staff
    from patrons
    where registered_on <= {{ as_of_date() }}
)

select * from final
