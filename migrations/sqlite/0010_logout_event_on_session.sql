-- The `session.revoked` event of a session its holder ended (`POST /v1/logout`, `POST
-- /oauth/revoke`) is kept on the session row, as its login's event is since migration 0009
-- (docs/performance.md, "Storage per login"; docs/contract-notes.md, "Audit log"). Its id comes
-- from `audit_events`' counter; its time is `revoked_at`, its actor the session's identity,
-- its subject the session, its detail the `revoked_reason`, and its IP is kept here. Sessions
-- ended otherwise (by an admin, an import, a reused refresh token) keep their event rows.
--
-- Sessions ended before this migration keep their events in `audit_events`, where they were
-- written. A node from before this change neither lists nor moves the new events; as for
-- migration 0009, no session it could sweep (ended a day ago at least) holds one while a
-- rolling upgrade lasts less than a day.
alter table sessions add column revoked_audit_id integer;
alter table sessions add column revoked_audit_ip text;

-- The audit log's pages, newest first, and the one event per id.
create unique index sessions_revoked_audit_id on sessions (revoked_audit_id)
    where revoked_audit_id is not null;
