-- Validation results and recommender evaluations, one row per check per run.

create table if not exists quality.validation_results (
    result_id bigserial primary key,
    run_id text not null,
    data_date date not null,
    suite text not null,
    expectation text not null,
    column_name text,
    severity text not null,
    success boolean not null,
    observed_value text,
    validated_at timestamptz not null default now()
);

create table if not exists quality.recommender_evaluations (
    run_id text not null,
    data_date date not null,
    model text not null,
    cutoff date not null,
    users_evaluated integer not null,
    hit_rate_at_10 double precision not null,
    precision_at_10 double precision not null,
    ndcg_at_10 double precision not null,
    coverage double precision not null,
    published boolean not null,
    evaluated_at timestamptz not null default now(),
    primary key (run_id, model)
);
