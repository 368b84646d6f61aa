-- Warm starts of the recommender (recsys/warm.py): the item factors the published candidate's
-- ALS learnt on the latest night, one row per purpose ('validation': fitted on the night's
-- validation split, so learnt until its cutoff; 'production': fitted on everything until the
-- night's end). The next night starts from them. Works are catalogue ids; nothing here names
-- a reader.
create table if not exists recsys.warm_factors (
    purpose text primary key check (purpose in ('validation', 'production')),
    candidate text not null,
    settings text not null,
    data_date date not null,
    learnt_until date not null,
    item_factors bytea not null,
    saved_at timestamptz not null default now()
);
