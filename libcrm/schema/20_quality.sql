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
-- Added after the first release, for trend queries: which stage ran the check, how many rows it
-- saw and how many broke it, and what the check and its threshold mean.
alter table quality.validation_results add column if not exists stage text;
alter table quality.validation_results add column if not exists element_count bigint;
alter table quality.validation_results add column if not exists unexpected_count bigint;
alter table quality.validation_results add column if not exists unexpected_percent double precision;
alter table quality.validation_results add column if not exists description text;
alter table quality.validation_results add column if not exists note text;
create index if not exists validation_results_trend
on quality.validation_results (suite, expectation, data_date);
create index if not exists validation_results_run on quality.validation_results (run_id);

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
-- Added with per-library model selection: one row per candidate per run. ``model`` names the
-- candidate (recsys.candidates), ``candidate`` says what it is, ``ci_low``/``ci_high`` bound
-- its nDCG@10 (bootstrap over readers, 95%), ``selected`` marks the one the night's scores
-- chose (false on every row when no selection ran or the window was too thin to decide),
-- ``decision`` says why the published one was published.
alter table quality.recommender_evaluations add column if not exists candidate text;
alter table quality.recommender_evaluations add column if not exists ci_low double precision;
alter table quality.recommender_evaluations add column if not exists ci_high double precision;
alter table quality.recommender_evaluations add column if not exists selected boolean;
alter table quality.recommender_evaluations add column if not exists decision text;

-- `dbt source freshness` of each night, one row per checked source table per day: what the
-- workspace's overview shows and what the stale-source alert reads. ``newest_record`` is the
-- latest event time before the end of the day (null: none), ``status`` dbt's pass, warn
-- (late), error (stopped) or runtime error; ``alerted_at`` when an alert named this status.
create table if not exists quality.source_freshness (
    data_date date not null,
    source_name text not null,
    table_name text not null,
    status text not null,
    newest_record timestamp,
    measured_at timestamp not null,
    age_hours double precision,
    warn_after text,
    error_after text,
    run_id text not null,
    checked_at timestamptz not null default now(),
    alerted_at timestamptz,
    primary key (data_date, source_name, table_name)
);
-- Why a late or stopped table was not alerted: the academic calendar's periods it is quiet
-- during (libcrm/alerts/quiet.py); null when it was not excused.
alter table quality.source_freshness add column if not exists excused_because text;
