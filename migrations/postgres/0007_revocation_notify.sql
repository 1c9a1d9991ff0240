-- Every statement that revokes sessions or tokens notifies channel `sesame_revocations` when
-- its transaction commits, on whichever node made it: open revocation streams on every node
-- wake up and read the feed (see src/store/revocation_signal.rs).
create function sesame_notify_revocation() returns trigger language plpgsql as $$
begin
  perform pg_notify('sesame_revocations', '');
  return null;
end
$$;

create trigger sessions_revocation_notify after update of revoked_at on sessions
  for each statement execute function sesame_notify_revocation();
create trigger tokens_revocation_notify after update of revoked_at on tokens
  for each statement execute function sesame_notify_revocation();
