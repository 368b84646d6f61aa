-- Least-privilege group roles of the contract, and what each may read or write in this
-- database. People and applications log in as members of these roles (docs/privacy.md).
--   libcrm_loader      writes raw, quarantine, identity
--   libcrm_transformer reads those, writes the dbt schemas, quality, portal and recsys
--                      (recsys: the recommender's publication history, keyed by user_key)
--   libcrm_portal      reads portal only (and inserts the portal's impressions and dismissals),
--                      except the token hashes: it asks portal.client_of whose a hash is
--   libcrm_analyst     reads the dbt schemas and quality only
--   libcrm_workspace   the librarians' workspace (60_workspace.sql): a member of
--                      libcrm_analyst, writes the workspace schema
-- Roles are cluster-wide: they are created once, if missing; grants are per database. Only a
-- superuser (the demo's, or deploy/init-warehouse.sql's on a server) creates them and makes
-- libcrm_workspace a member of libcrm_analyst; the pipeline's own login, which may not, finds
-- them in place and leaves them so.

do $$
declare
    role_name text;
begin
    foreach role_name in array array[
        'libcrm_loader', 'libcrm_transformer', 'libcrm_portal', 'libcrm_analyst',
        'libcrm_workspace'
    ] loop
        if not exists (select from pg_roles where rolname = role_name) then
            begin
                execute format('create role %I nologin', role_name);
            exception
                when duplicate_object or unique_violation then
                    null;  -- created meanwhile by a concurrent bootstrap of another database
                when insufficient_privilege then
                    raise exception 'role % does not exist and % may not create it',
                        role_name, current_user
                        using hint = 'Run deploy/init-warehouse.sql once as a superuser '
                        '(docs/deploy.md).';
            end;
        end if;
    end loop;
    if not exists (
        select from pg_auth_members
        where roleid = 'libcrm_analyst'::regrole and member = 'libcrm_workspace'::regrole
    ) then
        begin
            grant libcrm_analyst to libcrm_workspace;
        exception when insufficient_privilege then
            raise exception 'libcrm_workspace is not a member of libcrm_analyst and % may not '
                'make it one', current_user
                using hint = 'Run deploy/init-warehouse.sql once as a superuser '
                '(docs/deploy.md).';
        end;
    end if;
end
$$;

create schema if not exists staging;
create schema if not exists intermediate;
create schema if not exists marts;
create schema if not exists snapshots;

-- Nobody else reads or writes anything here by default.
create schema if not exists recsys;
revoke all on schema raw, quarantine, identity, quality, portal, recsys from public;
revoke all on schema staging, intermediate, marts, snapshots from public;

-- Loader: the landing layer and the identity map.
grant usage, create on schema raw, quarantine, identity to libcrm_loader;
grant select, insert, update, delete on all tables in schema raw, quarantine, identity
to libcrm_loader;
grant usage on all sequences in schema raw, quarantine, identity to libcrm_loader;
alter default privileges in schema raw, quarantine, identity
grant select, insert, update, delete on tables to libcrm_loader;
alter default privileges in schema raw, quarantine, identity
grant usage on sequences to libcrm_loader;

-- Transformer: reads the landing layer, owns what it builds.
grant usage on schema raw, quarantine, identity to libcrm_transformer;
grant select on all tables in schema raw, quarantine, identity to libcrm_transformer;
alter default privileges in schema raw, quarantine, identity
grant select on tables to libcrm_transformer;
grant usage, create on schema staging, intermediate, marts, snapshots, quality, portal, recsys
to libcrm_transformer;
grant select, insert, update, delete, truncate
on all tables in schema staging, intermediate, marts, snapshots, quality, portal, recsys
to libcrm_transformer;
grant usage on all sequences in schema quality, portal, recsys to libcrm_transformer;
alter default privileges in schema staging, intermediate, marts, snapshots, quality, portal, recsys
grant select, insert, update, delete, truncate on tables to libcrm_transformer;
alter default privileges in schema quality, portal, recsys
grant usage on sequences to libcrm_transformer;

-- Portal: the nightly recommendation tables, nothing else; it reports what it showed and what
-- a reader dismissed, and may not read those reports back (nor anyone's but its own).
grant usage on schema portal to libcrm_portal;
grant select on all tables in schema portal to libcrm_portal;
alter default privileges in schema portal grant select on tables to libcrm_portal;
revoke all on portal.impressions, portal.dismissals from libcrm_portal;
grant insert on portal.impressions, portal.dismissals to libcrm_portal;
-- Nor may it read the clients' token hashes: it asks portal.client_of (30_portal.sql), which
-- the transformer owns (it reads portal.api_tokens) and only the portal may execute.
revoke all on portal.api_tokens from libcrm_portal;
alter function portal.client_of(text) owner to libcrm_transformer;
revoke all on function portal.client_of(text) from public;
grant execute on function portal.client_of(text) to libcrm_portal;

-- Analyst: pseudonymous models and quality results, never raw or identity.
grant usage on schema staging, intermediate, marts, snapshots, quality to libcrm_analyst;
grant select on all tables in schema staging, intermediate, marts, snapshots, quality
to libcrm_analyst;
alter default privileges in schema staging, intermediate, marts, snapshots, quality
grant select on tables to libcrm_analyst;
