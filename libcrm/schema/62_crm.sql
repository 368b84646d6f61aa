-- Audiences and campaigns of the librarians' workspace (libcrm.crm).
-- Audiences are saved filter definitions over the pseudonymous marts; their members are
-- evaluated every night and kept per night. A campaign freezes the members of its audience
-- on its launch night, with a seeded random control group, and is measured night by night.
-- Only user_key pseudonyms are stored here; names and e-mail addresses leave the warehouse
-- through workspace.campaign_contacts alone, audited, and are never stored.

create table if not exists workspace.audiences (
    audience_id bigserial primary key,
    name text not null check (btrim(name) <> ''),
    definition jsonb not null,
    created_by text not null,
    created_at timestamptz not null default now(),
    archived boolean not null default false
);

-- The nightly history: who was a member of which audience on which night.
create table if not exists workspace.audience_members (
    audience_id bigint not null references workspace.audiences,
    night date not null,
    user_key text not null,
    primary key (audience_id, night, user_key)
);
create index if not exists audience_members_night on workspace.audience_members (night);

create table if not exists workspace.campaigns (
    campaign_id bigserial primary key,
    name text not null check (btrim(name) <> ''),
    audience_id bigint not null references workspace.audiences,
    goal jsonb not null,
    window_start date not null,
    window_end date not null,
    control_share numeric not null default 0.10
    check (control_share > 0 and control_share < 1),
    seed bigint not null,
    status text not null default 'draft' check (status in ('draft', 'launched', 'measured')),
    created_by text not null,
    created_at timestamptz not null default now(),
    launched_at timestamptz,
    launched_by text,
    launch_night date,
    check (window_end >= window_start),
    check ((status = 'draft') = (launch_night is null))
);

-- The member list frozen at launch; in_control marks the random control group (not contacted).
create table if not exists workspace.campaign_members (
    campaign_id bigint not null references workspace.campaigns,
    user_key text not null,
    in_control boolean not null,
    primary key (campaign_id, user_key)
);

-- One row per campaign and night measured: goal reached by the contacted and control groups
-- within [window_start, least(window_end, night)], and the difference of the two shares with
-- its 95% interval (null when a group is empty).
create table if not exists workspace.campaign_results (
    campaign_id bigint not null references workspace.campaigns,
    night date not null,
    contacted integer not null,
    contacted_reached integer not null,
    control integer not null,
    control_reached integer not null,
    difference double precision,
    ci_low double precision,
    ci_high double precision,
    measured_at timestamptz not null default now(),
    primary key (campaign_id, night)
);

-- What the audience and campaign lists show, counted when it changes rather than per
-- request (libcrm.crm.group_counts): members per audience, night and group of patrons (the
-- group columns of marts.dim_users that night), and a campaign's contacted and control
-- members per group, written at launch and refreshed every night. A null group column is a
-- patron without that attribute.
create table if not exists workspace.audience_counts (
    audience_id bigint not null references workspace.audiences,
    night date not null,
    department text,
    category text,
    enrolled_year integer,
    members integer not null
);
create index if not exists audience_counts_audience_night
on workspace.audience_counts (audience_id, night);
create index if not exists audience_counts_night on workspace.audience_counts (night);

create table if not exists workspace.campaign_sizes (
    campaign_id bigint not null references workspace.campaigns,
    department text,
    category text,
    enrolled_year integer,
    contacted integer not null,
    control integer not null
);
create index if not exists campaign_sizes_campaign on workspace.campaign_sizes (campaign_id);

-- A warehouse whose audiences and campaigns were recorded before the counts existed: count
-- them once, by the groups the marts hold now (the best known for past nights).
do $$
begin
    if to_regclass('marts.dim_users') is null then
        return;
    end if;
    if not exists (select from workspace.audience_counts) then
        insert into workspace.audience_counts
        (audience_id, night, department, category, enrolled_year, members)
        select
            members.audience_id,
            members.night,
            users.department,
            users.category,
            users.enrolled_year,
            count(*)
        from workspace.audience_members as members
        inner join marts.dim_users as users on members.user_key = users.user_key
        group by 1, 2, 3, 4, 5;
    end if;
    if not exists (select from workspace.campaign_sizes) then
        insert into workspace.campaign_sizes
        (campaign_id, department, category, enrolled_year, contacted, control)
        select
            members.campaign_id,
            users.department,
            users.category,
            users.enrolled_year,
            count(*) filter (where not members.in_control),
            count(*) filter (where members.in_control)
        from workspace.campaign_members as members
        inner join marts.dim_users as users on members.user_key = users.user_key
        group by 1, 2, 3, 4;
    end if;
end
$$;

grant select, insert, update on workspace.audiences, workspace.audience_members,
workspace.campaigns, workspace.campaign_results to libcrm_workspace;
-- A frozen member list is never changed: insert at launch, read afterwards.
grant select, insert on workspace.campaign_members to libcrm_workspace;
-- Counts are replaced (delete and insert) when an audience is saved or a campaign launched.
grant select, insert, delete on workspace.audience_counts, workspace.campaign_sizes
to libcrm_workspace;
grant usage on all sequences in schema workspace to libcrm_workspace;

-- The one path from a campaign to names and addresses, for the outreach role only: the
-- contacted (not control) members of a launched campaign who have not opted out by now, with
-- one audit row in the same transaction. The caller (the workspace, as libcrm_workspace) names
-- the signed-in account; the account's role is checked here, where the web layer cannot skip
-- it. Runs as its owner (who may read identity and raw) with a fixed search_path.
create or replace function workspace.campaign_contacts(
    p_campaign bigint, p_username text, p_reason text
)
returns table (name text, email text, barcode text)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_role text;
    v_disabled boolean;
    v_status text;
    v_rows integer;
begin
    select accounts.role, accounts.disabled into v_role, v_disabled
    from workspace.accounts as accounts
    where accounts.username = p_username;
    if not found then
        raise exception 'contact export refused: no account %', p_username
            using errcode = 'insufficient_privilege';
    end if;
    if v_disabled then
        raise exception 'contact export refused: account % is disabled', p_username
            using errcode = 'insufficient_privilege';
    end if;
    if v_role <> 'outreach' then
        raise exception 'contact export refused: account % has role %, only outreach exports',
            p_username, v_role
            using errcode = 'insufficient_privilege';
    end if;
    if p_reason is null or btrim(p_reason) = '' then
        raise exception 'contact export refused: a reason is required'
            using errcode = 'invalid_parameter_value';
    end if;
    select campaigns.status into v_status
    from workspace.campaigns as campaigns
    where campaigns.campaign_id = p_campaign;
    if v_status is null or v_status = 'draft' then
        raise exception 'contact export refused: campaign % is not launched', p_campaign
            using errcode = 'invalid_parameter_value';
    end if;

    return query
    with latest_patrons as (
        select distinct on (patrons.user_key)
            patrons.user_key,
            patrons.name,
            patrons.email,
            patrons.opt_out
        from raw.patrons as patrons
        where patrons.user_key in (
            select members.user_key from workspace.campaign_members as members
            where members.campaign_id = p_campaign
        )
        order by patrons.user_key, patrons.batch_id desc, patrons.source_line desc
    )

    select latest_patrons.name, latest_patrons.email, keys.barcode
    from workspace.campaign_members as members
    inner join identity.patron_keys as keys on members.user_key = keys.user_key
    inner join latest_patrons on members.user_key = latest_patrons.user_key
    where members.campaign_id = p_campaign
        and not members.in_control
        and not latest_patrons.opt_out
    order by keys.barcode;
    get diagnostics v_rows = row_count;

    insert into workspace.audit_log (username, role, action, reason, detail, row_count)
    values (
        p_username, v_role, 'export_contacts', btrim(p_reason),
        jsonb_build_object('campaign_id', p_campaign), v_rows
    );
end
$$;

revoke all on function workspace.campaign_contacts(bigint, text, text) from public;
grant execute on function workspace.campaign_contacts(bigint, text, text) to libcrm_workspace;
