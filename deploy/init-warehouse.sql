-- The roles of libcrm's contract, and the login the pipeline uses, on a new warehouse database.
-- Run once, as a superuser, with two psql variables:
--   psql --set dbname=libcrm --set pipeline_password=... --file deploy/init-warehouse.sql
-- docker-compose.yml runs it through deploy/init-warehouse.sh when the warehouse volume is new.
\set ON_ERROR_STOP on

-- Group roles carry the privileges; people and applications are made members of them.
create role libcrm_loader nologin;       -- writes raw, quarantine, identity
create role libcrm_transformer nologin;  -- reads those, writes the dbt schemas and portal
create role libcrm_portal nologin;       -- reads portal only
create role libcrm_analyst nologin;      -- reads the dbt schemas and quality only

-- The pipeline loads and transforms. It owns the database so that it can create the schemas
-- it writes (raw, quarantine, identity, quality, portal, and dbt's), and it is no superuser.
create role libcrm login password :'pipeline_password' in role libcrm_loader, libcrm_transformer;
alter database :"dbname" owner to libcrm;

-- Only libcrm's roles connect; a portal or analyst login is a member of its group role, e.g.
--   create role library_portal login password '...' in role libcrm_portal;
revoke connect, temporary on database :"dbname" from public;
grant connect on database :"dbname"
    to libcrm_loader, libcrm_transformer, libcrm_portal, libcrm_analyst;
