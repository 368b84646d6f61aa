-- Landing tables, the load audit, quarantine and the identity map (written by the loader).

create table if not exists raw.load_audit (
    batch_id bigserial primary key,
    source text not null,
    entity text not null,
    file text not null,
    checksum text not null,
    data_date date not null,
    rows_read integer not null default 0,
    rows_loaded integer not null default 0,
    rows_quarantined integer not null default 0,
    status text not null default 'loading',
    loaded_at timestamptz not null default now()
);
-- Added after the first release: when a batch started and finished, the columns a file had
-- that the loader does not know (ignored) or lacked (optional, read as empty), and why a failed
-- batch loaded nothing.
alter table raw.load_audit add column if not exists started_at timestamptz;
alter table raw.load_audit add column if not exists finished_at timestamptz;
alter table raw.load_audit add column if not exists extra_columns text[] not null default '{}';
alter table raw.load_audit add column if not exists missing_columns text[] not null default '{}';
alter table raw.load_audit add column if not exists error text;
create index if not exists load_audit_file on raw.load_audit (file);

create table if not exists quarantine.rejected_rows (
    rejected_id bigserial primary key,
    source text not null,
    batch_id bigint not null,
    file text not null,
    line integer not null,
    content text not null,
    reason text not null,
    rejected_at timestamptz not null default now()
);
create index if not exists rejected_rows_batch on quarantine.rejected_rows (batch_id);

-- The only link between pseudonymous user_key and the ILS patron and card.
create table if not exists identity.patron_keys (
    user_key text primary key,
    patron_id text not null unique,
    barcode text not null unique,
    updated_at timestamptz not null default now()
);

-- Every card a patron has held. Gate passages and event registrations land with their card
-- number; dbt staging gives each row the user_key of the card's holder when its batch was
-- loaded: the mapping with from_batch < batch_id < to_batch (to_batch is null while current),
-- or, for a file of an earlier day, the holder of that day (below).
create table if not exists identity.cards (
    barcode text not null,
    user_key text not null,
    from_batch bigint not null,
    to_batch bigint,
    primary key (barcode, from_batch)
);
create unique index if not exists cards_current on identity.cards (barcode)
where to_batch is null;
-- Added after the first release: the export days a mapping covers, so a file that comes late,
-- or on the day a card was replaced, finds the card's holder of its own day. A row of batch b
-- and export day d has the mapping with from_batch < b and d >= from_day (when set: the card
-- had an earlier holder), and b < to_batch or d <= to_day (the replacement's day, or the day
-- before when the card went to someone else). See libcrm.ingest.card_held.
alter table identity.cards add column if not exists from_day date;
alter table identity.cards add column if not exists to_day date;

create table if not exists raw.patrons (
    batch_id bigint not null,
    source_line integer not null,
    user_key text not null,
    patron_id text not null,
    barcode text not null,
    name text,
    email text,
    birth_date date,
    category text,
    department text,
    enrolled_year integer,
    registered_on date not null,
    expires_on date,
    opt_out boolean not null
);

create table if not exists raw.items (
    batch_id bigint not null,
    source_line integer not null,
    item_id text not null,
    barcode text,
    title text not null,
    author text,
    call_number text,
    clc_class text,
    material_type text not null,
    status text not null,
    acquired_on date
);

create table if not exists raw.loans (
    batch_id bigint not null,
    source_line integer not null,
    loan_id text not null,
    user_key text not null,
    patron_id text not null,
    item_id text not null,
    checkout_at timestamp not null,
    due_at timestamp,
    returned_at timestamp
);

create table if not exists raw.holds (
    batch_id bigint not null,
    source_line integer not null,
    hold_id text not null,
    user_key text not null,
    patron_id text not null,
    item_id text not null,
    placed_at timestamp not null,
    status text not null,
    filled_at timestamp,
    closed_at timestamp
);

create table if not exists raw.purchase_requests (
    batch_id bigint not null,
    source_line integer not null,
    request_id text not null,
    user_key text not null,
    patron_id text not null,
    title text not null,
    author text,
    isbn text,
    clc_class text,
    requested_at timestamp not null,
    status text not null,
    decided_at timestamp,
    item_id text
);

create table if not exists raw.gate_passages (
    batch_id bigint not null,
    source_line integer not null,
    card_number text not null,
    passed_at timestamp not null,
    direction text not null,
    gate_id text
);

create table if not exists raw.events (
    batch_id bigint not null,
    source_line integer not null,
    event_id text not null,
    title text not null,
    category text not null,
    starts_at timestamp not null,
    ends_at timestamp,
    location text,
    seats integer,
    registration_open boolean not null
);

create table if not exists raw.event_registrations (
    batch_id bigint not null,
    source_line integer not null,
    registration_id text not null,
    event_id text not null,
    barcode text not null,
    registered_at timestamp,
    attendance text not null,
    rating integer
);

create index if not exists patrons_batch on raw.patrons (batch_id);
create index if not exists items_batch on raw.items (batch_id);
create index if not exists loans_batch on raw.loans (batch_id);
create index if not exists holds_batch on raw.holds (batch_id);
create index if not exists purchase_requests_batch on raw.purchase_requests (batch_id);
-- Gate passages (tens of millions of rows) arrive in batch order, so a BRIN index finds a
-- batch's rows to validate or replace it at a fraction of a btree's cost during COPY.
drop index if exists raw.gate_passages_batch;
create index if not exists gate_passages_batch_range on raw.gate_passages
using brin (batch_id);
create index if not exists events_batch on raw.events (batch_id);
create index if not exists event_registrations_batch on raw.event_registrations (batch_id);

-- Added after the first release: card-keyed rows no longer carry a user_key, the card map
-- above resolves it. Earlier rows seed the map (a card that changed hands before this upgrade
-- is credited to its current holder), then the column goes, and with it the dbt views over it,
-- which the next dbt run builds again.
do $$
begin
    if exists (
        select from information_schema.columns
        where table_schema = 'raw' and table_name = 'gate_passages' and column_name = 'user_key'
    ) then
        insert into identity.cards (barcode, user_key, from_batch)
        select distinct on (barcode) barcode, user_key, 0
        from (
            select barcode, user_key, 0 as rank from identity.patron_keys
            union all
            select card_number, user_key, 1 from raw.gate_passages
            union all
            select barcode, user_key, 1 from raw.event_registrations
        ) as held
        order by barcode, rank
        on conflict do nothing;
        alter table raw.gate_passages drop column user_key cascade;
        alter table raw.event_registrations drop column user_key cascade;
    end if;
end
$$;
