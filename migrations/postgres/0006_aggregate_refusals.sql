-- Refused login requests are audited in aggregate: one row per client, reason and minute, whose
-- `occurrences` counts the requests it stands for (an unauthenticated loop of refused requests
-- adds one row a minute, not one per request). Other events stand for one occurrence each and
-- have no aggregate key.
alter table audit_events add column occurrences bigint not null default 1;
alter table audit_events add column aggregate_key text;
create unique index audit_events_aggregate on audit_events (aggregate_key);
