-- A login's `login.succeeded` audit event is kept on its session row instead of a row of its own
-- in `audit_events` (docs/performance.md, "Storage per login"; docs/contract-notes.md,
-- "Audit log"). The audit log lists both, newest first by id, so the event's id comes from
-- `audit_events`' own sequence: one order across both. Its other fields are the session's
-- (`created_at`, `user_auth_id`, the identity's number) and these: the login's IP (`ip`
-- follows the session's refreshes) and the event's detail.
--
-- The login assigns the id explicitly (no column default), so a session written by a node from
-- before this change keeps a null `audit_id`, and its event, which that node writes to
-- `audit_events`, is listed once. Such a node's sweeper deletes sessions without moving their
-- events, but no session written since can be swept within a day (the least
-- SESAME_SESSION_RETENTION): a rolling upgrade that ends within a day loses none.
alter table sessions add column audit_id bigint;
alter table sessions add column audit_ip text;
alter table sessions add column audit_detail text;

-- The audit log's pages, newest first, and the one event per id. Sessions from before this
-- migration have no entry: their login events stay in `audit_events`, where they were written,
-- and are listed from there (moving them would have to match events to sessions by time).
create unique index sessions_audit_id on sessions (audit_id) where audit_id is not null;
