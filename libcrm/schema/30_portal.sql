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
