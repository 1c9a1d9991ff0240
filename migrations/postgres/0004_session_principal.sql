-- A session's principal is fixed when its code is verified: the employee the number belonged to
-- then, or nobody (an anonymous login). Refreshes sign for it and never for whoever holds the
-- number later; a change of holder revokes the sessions whose principal no longer holds it.
alter table sessions add column user_id text references users (id);
update sessions set user_id = (select user_id from user_auth where user_auth.id = sessions.user_auth_id);
-- Employee changes revoke an employee's live sessions.
create index sessions_live_user_id on sessions (user_id) where revoked_at is null;

-- Retry windows in milliseconds: a window of N seconds lasts N seconds, not up to N + 1.
alter table refresh_successors rename column available_until to available_until_ms;
update refresh_successors set available_until_ms = available_until_ms * 1000;
