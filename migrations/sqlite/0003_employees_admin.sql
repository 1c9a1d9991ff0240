-- Admin search finds employees by number whether active or not (the unique index covers
-- only active ones), and the audit log is filtered by time.
create index users_phone_number on users (phone_number);
create index audit_events_at on audit_events (at, id);
