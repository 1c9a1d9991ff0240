-- A login's `login.succeeded` audit event is kept on its session row instead of a row of its own
-- in `audit_events` (docs/performance.md, "Storage per login"; docs/contract-notes.md,
-- "Audit log"). The audit log lists both, newest first by id, so the event's id comes from
-- `audit_events`' own counter: one order across both. Its other fields are the session's
-- (`created_at`, `user_auth_id`, the identity's number) and these: the login's IP (`ip` follows
-- the session's refreshes) and the event's detail.
alter table sessions add column audit_id integer;
alter table sessions add column audit_ip text;
alter table sessions add column audit_detail text;

-- The audit log's pages, newest first, and the one event per id. Sessions from before this
-- migration have no entry: their login events stay in `audit_events`, where they were written,
-- and are listed from there (moving them would have to match events to sessions by time).
create unique index sessions_audit_id on sessions (audit_id) where audit_id is not null;

-- The counter: `audit_events` is AUTOINCREMENT, so SQLite gives a new event an id above both
-- its largest and the `seq` of its row in `sqlite_sequence` (which it raises to every id it
-- stores). A login takes the next id by raising that `seq` itself (src/store/sessions.rs): no
-- later event, and no other login, gets it. The row exists once an event was stored; a database
-- without any event gets it here.
insert into sqlite_sequence (name, seq)
    select 'audit_events', coalesce((select max(id) from audit_events), 0)
    where not exists (select 1 from sqlite_sequence where name = 'audit_events');
