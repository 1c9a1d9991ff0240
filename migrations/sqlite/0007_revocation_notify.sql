-- Nothing on SQLite: one node reads its own file, and its revocation streams re-read the feed
-- every second (see src/store/revocation_signal.rs).
select 1;
