-- What the recommender published to each reader, for the workspace's reader page. The log is
-- keyed by the pseudonymous user_key (never patron_id), like the marts the workspace reads;
-- the portal's own tables, keyed by patron_id, stay out of its reach.
grant usage on schema recsys to libcrm_workspace;
grant select on recsys.recommendation_log to libcrm_workspace;

-- The reader page finds one reader's latest published night. The primary key starts with the
-- night, so without this index a reader absent from the last night (an opt-out, a leaver) is
-- looked for through the whole history, which grows by a night's lists every night.
create index if not exists recommendation_log_reader
on recsys.recommendation_log (user_key, generated_for);
