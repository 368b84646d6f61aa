-- The roles of libcrm's contract, and the login the pipeline uses, on a new warehouse database.
-- Run once, as a superuser, with two psql variables:
--   psql --set dbname=libcrm --set pipeline_password=... --file deploy/init-warehouse.sql
-- docker-compose.yml runs it through deploy/init-warehouse.sh when the warehouse volume is new.
-- Roles belong to the whole server: those it has already are kept as they are, so this script
-- may run again, for another database of the same server too. The pipeline is no superuser: it
-- cannot create roles nor make one a member of another, so every role and membership the schema
-- (libcrm/schema/40_roles.sql says what each may do) needs is made here.
\set ON_ERROR_STOP on

-- Group roles carry the privileges; people and applications are made members of them.
select format('create role %I nologin', name)
from unnest(array[
    'libcrm_loader',       -- writes raw, quarantine, identity
    'libcrm_transformer',  -- reads those, writes the dbt schemas and portal
    'libcrm_portal',       -- reads portal only
    'libcrm_analyst',      -- reads the dbt schemas and quality only
    'libcrm_workspace'     -- the librarians' workspace: what the analyst reads, writes workspace
]) as name
where not exists (select from pg_roles where rolname = name)
\gexec
grant libcrm_analyst to libcrm_workspace;

-- The pipeline loads and transforms. It owns the database so that it can create the schemas
-- it writes (raw, quarantine, identity, quality, portal, workspace and dbt's). A login that
-- exists already keeps its password.
select format('create role libcrm login password %L', :'pipeline_password')
where not exists (select from pg_roles where rolname = 'libcrm')
\gexec
grant libcrm_loader, libcrm_transformer to libcrm;
alter database :"dbname" owner to libcrm;

-- Only libcrm's roles connect; a portal, analyst or workspace login is a member of its group
-- role, e.g.
--   create role library_portal login password '...' in role libcrm_portal;
revoke connect, temporary on database :"dbname" from public;
grant connect on database :"dbname"
    to libcrm_loader, libcrm_transformer, libcrm_portal, libcrm_analyst, libcrm_workspace;
