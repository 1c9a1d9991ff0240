-- The admin console: a read-only `auditor` role for API keys, console sign-in sessions, and a
-- per-minute tally of codes sent for the console's overview.

-- SQLite cannot alter a check constraint: the table is rebuilt with its rows (no table
-- references it).
create table api_keys_new (
    id text primary key,
    name text not null,
    role text not null check (role in ('admin', 'introspect', 'auditor')),
    key_hash text not null unique,
    created_at bigint not null,
    revoked_at bigint
);
insert into api_keys_new (id, name, role, key_hash, created_at, revoked_at)
    select id, name, role, key_hash, created_at, revoked_at from api_keys;
drop table api_keys;
alter table api_keys_new rename to api_keys;

-- A console session: only the SHA-256 of the cookie's random id is stored. `key_id` is the
-- API key signed in with (null for SESAME_ADMIN_API_KEY); revoking the key ends the session.
create table console_sessions (
    id_hash text primary key,
    key_id text,
    key_name text not null,
    role text not null check (role in ('admin', 'auditor')),
    csrf_token text not null,
    created_at bigint not null,
    last_seen_at bigint not null
);
create index console_sessions_last_seen_at on console_sessions (last_seen_at);

-- Codes sent, per minute (Unix seconds at its start), provider and outcome: each node adds
-- its in-memory tally every minute, so a send costs no write of its own.
create table activity (
    minute bigint not null,
    provider text not null,
    outcome text not null,
    count bigint not null,
    primary key (minute, provider, outcome)
);

-- The overview counts logins by hour, and the audit log is filtered by actor.
create index sessions_created_at on sessions (created_at);
create index audit_events_actor on audit_events (actor, id);
