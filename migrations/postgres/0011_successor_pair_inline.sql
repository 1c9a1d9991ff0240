-- A refresh rotation keeps its sealed successor pair (about 2.1 KB of text) for the reuse grace.
-- Postgres moves a value that makes its row longer than about 2 KB out of line, into the
-- table's TOAST relation: two more rows and two more index entries per rotation, written and
-- later swept. The pair is encrypted, so compression never pays either; `main` keeps it in the
-- row unless the row outgrows a page (docs/performance.md, "Refresh rotations").
alter table refresh_successors alter column sealed_pair set storage main;
