-- Times are Unix seconds and ids are text, so one set of queries serves Postgres and SQLite.

create table users (
    id text primary key,
    external_id text not null unique,
    phone_number text not null,
    name text not null,
    email text,
    disabled_at bigint,
    created_at bigint not null,
    updated_at bigint not null
);
-- Two active employees never share a number.
create unique index users_active_phone_number on users (phone_number) where disabled_at is null;

create table user_auth (
    id text primary key,
    method text not null,
    remote_id text not null,
    user_id text references users (id),
    created_at bigint not null,
    last_login_at bigint not null,
    unique (method, remote_id)
);
create index user_auth_user_id on user_auth (user_id);

create table sessions (
    id text primary key,
    user_auth_id text not null references user_auth (id),
    created_at bigint not null,
    last_used_at bigint not null,
    expires_at bigint not null,
    ip text,
    user_agent text,
    revoked_at bigint,
    revoked_reason text
);
create index sessions_user_auth_id on sessions (user_auth_id);

create table tokens (
    jti text primary key,
    session_id text not null references sessions (id) on delete cascade,
    kind text not null check (kind in ('access', 'refresh')),
    issued_at bigint not null,
    expires_at bigint not null,
    spent_at bigint,
    revoked_at bigint
);
create index tokens_session_id on tokens (session_id);
create index tokens_expires_at on tokens (expires_at);

create table api_keys (
    id text primary key,
    name text not null,
    role text not null check (role in ('admin', 'introspect')),
    key_hash text not null unique,
    created_at bigint not null,
    revoked_at bigint
);

create table audit_events (
    id integer primary key autoincrement,
    at bigint not null,
    actor text not null,
    action text not null,
    subject text,
    ip text,
    detail text
);
create index audit_events_subject on audit_events (subject, id);
create index audit_events_action on audit_events (action, id);
