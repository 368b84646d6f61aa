-- Tables the library portal reads; replaced atomically each night by the recommender.

create table if not exists portal.resource_recommendations (
    patron_id text not null,
    rank integer not null,
    item_id text not null,
    score double precision not null,
    reason text not null,
    generated_for date not null,
    model_version text not null,
    primary key (patron_id, rank)
);

create table if not exists portal.activity_recommendations (
    patron_id text not null,
    rank integer not null,
    event_id text not null,
    score double precision not null,
    reason text not null,
    generated_for date not null,
    model_version text not null,
    primary key (patron_id, rank)
);

-- What was recommended to whom each night, by pseudonym (never patron_id: the portal role reads
-- portal, this history is for the uptake mart). Written in the same transaction as portal.
create schema if not exists recsys;

create table if not exists recsys.recommendation_log (
    kind text not null check (kind in ('resource', 'activity')),
    user_key text not null,
    rank integer not null,
    target_id text not null,
    score double precision not null,
    generated_for date not null,
    model_version text not null,
    primary key (generated_for, kind, user_key, rank)
);

-- "More like this" for an item page: for each work the portal shows, the most similar works by
-- the selected model, replaced atomically each night with the recommendation tables.
create table if not exists portal.similar_items (
    item_id text not null,
    rank integer not null,
    similar_item_id text not null,
    score double precision not null,
    generated_for date not null,
    model_version text not null,
    primary key (item_id, rank)
);

-- Every reason as a code with parameters (recsys/reasons.py), beside its English sentence in
-- `reason`, so the portal can word it in the reader's language.
alter table portal.resource_recommendations
add column if not exists reason_code text,
add column if not exists reason_params jsonb;
alter table portal.activity_recommendations
add column if not exists reason_code text,
add column if not exists reason_params jsonb;
alter table recsys.recommendation_log
add column if not exists reason_code text,
add column if not exists reason_params jsonb;

-- What the portal shows beside a recommendation (it reads portal only), replaced with them.
create table if not exists portal.items (
    item_id text primary key,
    title text not null,
    author text,
    call_number text,
    clc_class text,
    generated_for date not null
);

create table if not exists portal.events (
    event_id text primary key,
    title text not null,
    category text not null,
    starts_at timestamp,  -- the library's local time, as the event system exports it
    ends_at timestamp,
    place text,
    seats_left bigint,
    generated_for date not null
);

-- One row per published night, written in the transaction that replaces the portal tables:
-- the portal serves the newest row, and the tables always hold that night.
create table if not exists portal.publication (
    generated_for date primary key,
    published_at timestamptz not null,
    model_version text not null,
    activity_model_version text,
    row_counts jsonb not null
);

-- What the portal showed a reader and what the reader dismissed ("not interested"). The
-- portal may only insert here (40_roles.sql); each night the recommender moves the rows into
-- recsys (by user_key) and deletes them here.
create table if not exists portal.impressions (
    id bigint generated always as identity primary key,
    patron_id text not null,
    kind text not null check (kind in ('books', 'events')),
    target_id text not null,
    shown_at timestamptz not null,
    received_at timestamptz not null default now()
);

create table if not exists portal.dismissals (
    id bigint generated always as identity primary key,
    patron_id text not null,
    kind text not null check (kind in ('books', 'events')),
    target_id text not null,
    dismissed_at timestamptz not null,
    received_at timestamptz not null default now()
);

-- The same, by pseudonym, for the recommender and the uptake mart. A dismissal is kept for
-- good (the item is never recommended to that reader again); impressions as long as the log.
create table if not exists recsys.impressions (
    kind text not null check (kind in ('resource', 'activity')),
    user_key text not null,
    target_id text not null,
    shown_at timestamptz not null,
    primary key (user_key, kind, target_id, shown_at)
);

create table if not exists recsys.dismissals (
    kind text not null check (kind in ('resource', 'activity')),
    user_key text not null,
    target_id text not null,
    dismissed_at timestamptz not null,
    primary key (user_key, kind, target_id)
);

-- The portal API's clients: a SHA-256 hash of each client's token, never the token
-- (python -m libcrm api-token). Tokens are 256 random bits, so a fast hash is safe to store.
create table if not exists portal.api_tokens (
    client text primary key,
    token_hash text not null unique,
    created_at timestamptz not null default now(),
    revoked_at timestamptz
);

-- The one question the API may ask of that table: which client owns a live token's hash
-- (null for none). The API's role cannot read the table (40_roles.sql): it runs this with its
-- owner's rights, on a pinned search path so that no object of the caller's can stand in.
create or replace function portal.client_of(hash text) returns text
language sql
stable strict security definer
set search_path = pg_catalog, pg_temp
as $$
    select client from portal.api_tokens where token_hash = hash and revoked_at is null
$$;
