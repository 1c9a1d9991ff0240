-- Postgres only (a column's TOAST storage): SQLite keeps a row's values in its page, with
-- overflow pages only past its page size. Kept so both dialects number their migrations alike.
select 1;
