-- Retention detaches old loans from their patron (patron_id and user_key become null), so the
-- link columns of raw.loans must accept nulls.

alter table raw.loans alter column patron_id drop not null;
alter table raw.loans alter column user_key drop not null;
