-- The librarians' workspace: accounts, sessions, login attempts and the audit log.
-- The workspace connects as libcrm_workspace (40_roles.sql): it reads the pseudonymous marts
-- and quality results (as a member of libcrm_analyst) and writes only this schema. It never
-- reads raw or identity; personal data leaves only through the audited functions of 62_crm.sql.

create schema if not exists workspace;
revoke all on schema workspace from public;

create table if not exists workspace.accounts (
    account_id bigserial primary key,
    username text not null unique check (username ~ '^[a-z0-9._-]{2,64}$'),
    display_name text not null,
    role text not null check (role in ('librarian', 'outreach', 'admin')),
    password_hash text not null,
    disabled boolean not null default false,
    created_at timestamptz not null default now(),
    created_by text not null,
    password_changed_at timestamptz not null default now()
);

-- A session is known by the SHA-256 of its cookie token, never the token itself, so a copy of
-- this table lets nobody log in.
create table if not exists workspace.sessions (
    token_hash text primary key,
    account_id bigint not null references workspace.accounts on delete cascade,
    csrf_token text not null,
    created_at timestamptz not null default now(),
    last_seen_at timestamptz not null default now(),
    expires_at timestamptz not null
);
create index if not exists sessions_account on workspace.sessions (account_id);

-- Every login attempt, for the rate limit (by user name and by client address).
create table if not exists workspace.login_attempts (
    attempt_id bigserial primary key,
    username text not null,
    client text not null,
    succeeded boolean not null,
    attempted_at timestamptz not null default now()
);
create index if not exists login_attempts_recent on workspace.login_attempts (attempted_at);

-- Who did what, when and why, with how many rows: every action that touches personal data,
-- every account change and every sign-in. Rows are only ever inserted.
create table if not exists workspace.audit_log (
    audit_id bigserial primary key,
    at timestamptz not null default now(),
    username text not null,
    role text not null,
    action text not null,
    reason text,
    detail jsonb not null default '{}',
    row_count integer
);
create index if not exists audit_log_at on workspace.audit_log (at);

grant usage on schema workspace to libcrm_workspace;
grant select, insert, update, delete on workspace.accounts, workspace.sessions
to libcrm_workspace;
grant select, insert, delete on workspace.login_attempts to libcrm_workspace;
grant select, insert on workspace.audit_log to libcrm_workspace;
grant usage on all sequences in schema workspace to libcrm_workspace;
alter default privileges in schema workspace grant usage on sequences to libcrm_workspace;
-- The load audit says how fresh each source is; it holds file names and counts, no person.
grant usage on schema raw to libcrm_workspace;
grant select on raw.load_audit to libcrm_workspace;
