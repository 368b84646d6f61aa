-- The fingerprint of the pseudonym key the warehouse's user keys are made with: HMAC-SHA-256 of
-- a fixed label under the key, which reveals nothing of the key. One row, recorded at first
-- use; every writer of user keys compares its key with it first (libcrm.pseudonym.verify_key)
-- and rotate-key replaces it with the new key's in the same transaction.
create table if not exists identity.key_fingerprint (
    singleton boolean primary key default true check (singleton),
    fingerprint text not null,
    recorded_at timestamptz not null default now()
);
