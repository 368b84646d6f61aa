-- Readers per value segment, lifecycle stage and persona, per group of patrons (the
-- workspace's segments page): summed over the groups a filter chooses, the distribution reads
-- a few thousand rows instead of every profile. Each patron is in one group and has one label
-- of each kind, so readers add up across groups.
with

profiles as (
    select * from {{ ref('user_profiles') }}
),

users as (
    select * from {{ ref('dim_users') }}
),

labelled as (
    select
        labels.kind,
        labels.code,
        users.department,
        users.category,
        users.enrolled_year
    from profiles
    inner join users on profiles.user_key = users.user_key
    cross join lateral (
        values
        ('value_segment', profiles.value_segment),
        ('lifecycle_stage', profiles.lifecycle_stage),
        ('persona', profiles.persona)
    ) as labels (kind, code)
),

final as (
    select
        kind,
        code,
        department,
        category,
        enrolled_year,
        count(*) as readers
    from labelled
    group by kind, code, department, category, enrolled_year
)

select * from final
