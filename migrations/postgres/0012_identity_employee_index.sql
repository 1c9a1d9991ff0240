-- An identity's employee is looked up by employee id only (`user_id = …` or `user_id in (…)`,
-- which imply it is not null): people search and the identities of an employee. An anonymous
-- identity's null entry served no query, and every number's first login wrote one
-- (docs/performance.md, "Index review").
drop index user_auth_user_id;
create index user_auth_user_id on user_auth (user_id) where user_id is not null;
