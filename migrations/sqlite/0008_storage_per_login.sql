-- Fewer rows and index entries per login (docs/performance.md, "Storage per login").

-- An access token has no row: it is live while its session is, unless it was revoked on its
-- own, which writes a deny row kept until the token expires.
create table revoked_access_tokens (
    jti text primary key,
    session_id text not null references sessions (id) on delete cascade,
    revoked_at bigint not null,
    expires_at bigint not null
);
-- The session sweep deletes its deny rows, the feed reads them in (revoked_at, jti) order, and
-- the token sweep deletes them once expired.
create index revoked_access_tokens_session_id on revoked_access_tokens (session_id);
create index revoked_access_tokens_revoked_at on revoked_access_tokens (revoked_at, jti);
create index revoked_access_tokens_expires_at on revoked_access_tokens (expires_at);

insert into revoked_access_tokens (jti, session_id, revoked_at, expires_at)
    select jti, session_id, revoked_at, expires_at from tokens
    where kind = 'access' and revoked_at is not null;
delete from tokens where kind = 'access';

-- `tokens` now holds refresh tokens only. The refresh token's jti is derived from the access
-- token issued with it (src/tokens/jti.rs), so its row vouches for that access token and keeps
-- its expiry. Older pairs, whose access tokens it cannot vouch for, get their refresh token's
-- expiry: only the sweep reads it.
alter table tokens drop column kind;
alter table tokens add column access_expires_at bigint not null default 0;
update tokens set access_expires_at = expires_at;
-- (SQLite cannot drop the default; every insert names the column.)

-- The identity row is written only when it is new or its employee changed; its last login is
-- the newest session's start.
alter table user_auth drop column last_login_at;

-- Index review (docs/performance.md): `sessions_user_auth_id` is the first column of
-- `sessions_user_auth_id_created_at`; the employee index needs no anonymous sessions (every
-- query gives an employee id); the aggregate key is null on every event but refusals.
drop index sessions_user_auth_id;
drop index sessions_live_user_id;
create index sessions_live_user_id on sessions (user_id)
    where revoked_at is null and user_id is not null;
drop index audit_events_aggregate;
create unique index audit_events_aggregate on audit_events (aggregate_key)
    where aggregate_key is not null;
