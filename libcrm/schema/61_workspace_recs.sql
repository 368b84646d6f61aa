-- What the recommender published to each reader, for the workspace's reader page. The log is
-- keyed by the pseudonymous user_key (never patron_id), like the marts the workspace reads;
-- the portal's own tables, keyed by patron_id, stay out of its reach.
grant usage on schema recsys to libcrm_workspace;
grant select on recsys.recommendation_log to libcrm_workspace;
