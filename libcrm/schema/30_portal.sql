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
