-- Token lifecycle: refresh rotation's stored successors, and indexes for revocation and sweeping.

-- The successor pair of a rotated refresh token, sealed with a key derived from the spent
-- token, so a retry inside SESAME_REFRESH_REUSE_GRACE gets the very same pair back. Rows are
-- swept once `available_until` has passed.
create table refresh_successors (
    spent_jti text primary key,
    sealed_pair text not null,
    issued_at bigint not null,
    available_until bigint not null
);
create index refresh_successors_available_until on refresh_successors (available_until);

-- The revocation feed reads revoked sessions and tokens in (revoked_at, id) order.
create index sessions_revoked_at on sessions (revoked_at, id) where revoked_at is not null;
create index tokens_revoked_at on tokens (revoked_at, jti) where revoked_at is not null;

-- An identity's sessions, newest first (admin).
create index sessions_user_auth_id_created_at on sessions (user_auth_id, created_at, id);
