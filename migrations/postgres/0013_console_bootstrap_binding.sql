-- A console session opened with SESAME_ADMIN_API_KEY ends when that variable changes: the
-- session keeps SHA-256(cookie id || 0x00 || the key), which only the session's own requests
-- can recompute (the cookie's id is stored only as its hash). Sessions opened with the
-- variable before this migration have none and end; their users sign in again.
alter table console_sessions add column bootstrap_binding text;
