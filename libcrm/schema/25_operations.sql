-- Task failures of library_nightly, recorded by the DAG's failure callback so operators can
-- query failure history next to validation results.

create table if not exists quality.task_failures (
    failure_id bigserial primary key,
    dag_id text not null,
    run_id text not null,
    task_id text not null,
    data_date date,
    try_number integer,
    error text not null,
    failed_at timestamptz not null default now()
);
