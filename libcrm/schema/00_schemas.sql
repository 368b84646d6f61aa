-- The pipeline's own schemas. dbt owns staging, intermediate, marts and snapshots.
-- Every file in this folder is applied in name order on every run: statements are idempotent.

create schema if not exists raw;
create schema if not exists quarantine;
create schema if not exists identity;
create schema if not exists quality;
create schema if not exists portal;
