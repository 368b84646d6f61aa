-- The groups of patrons the workspace's filters choose from (department, category, cohort):
-- every page lists the values each filter can take from these few hundred rows instead of
-- reading every patron per request.
with

users as (
    select * from {{ ref('dim_users') }}
),

final as (
    select
        department,
        category,
        enrolled_year,
        count(*) as patrons
    from users
    group by department, category, enrolled_year
)

select * from final
