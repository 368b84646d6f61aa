-- Retention detaches old circulation records from their patron (patron_id and user_key become
-- null), so the link columns of these raw tables must accept nulls.

alter table raw.loans alter column patron_id drop not null;
alter table raw.loans alter column user_key drop not null;
alter table raw.holds alter column patron_id drop not null;
alter table raw.holds alter column user_key drop not null;
alter table raw.purchase_requests alter column patron_id drop not null;
alter table raw.purchase_requests alter column user_key drop not null;
