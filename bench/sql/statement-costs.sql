-- What each statement of a card payment costs PostgreSQL, from pg_stat_statements, after a run of the ceiling's
-- script (bench/ceiling.sql: the rows a card payment writes) against a database seeded by bench/sql/seed-volume.sql. The server needs
-- shared_preload_libraries = 'pg_stat_statements' (the embedded PostgreSQL ships it), and for planning times
-- pg_stat_statements.track_planning = on. Run as the owner role:
--   psql -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' -c 'SELECT pg_stat_statements_reset()' "$OWNER_URL"
--   pgbench -n -M prepared -f bench/ceiling.sql -D tenant=ten_… -D run=abcdefg -D seq=0 -c 2 -T 10 "$APP_URL"
--   psql -f bench/sql/statement-costs.sql "$OWNER_URL"
-- Times depend on the machine's load; buffer hits and WAL records per call do not.
\pset pager off
SELECT calls,
       round(mean_plan_time::numeric * 1000) AS plan_us,
       round(mean_exec_time::numeric * 1000) AS exec_us,
       round(shared_blks_hit::numeric / calls, 1) AS blocks_hit,
       round(wal_records::numeric / calls, 1) AS wal_records,
       round(wal_bytes::numeric / calls) AS wal_bytes,
       left(regexp_replace(query, '\s+', ' ', 'g'), 70) AS statement
FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND toplevel AND calls >= 10
ORDER BY total_exec_time + total_plan_time DESC;

-- per payment: the idempotent answer (the last UPDATE of transaction 2) runs once per payment
WITH payments AS (
  SELECT max(calls) AS n FROM pg_stat_statements
  WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND regexp_replace(query, '\s+', ' ', 'g') LIKE 'UPDATE idempotency_keys SET state%'
)
SELECT n AS payments,
       round((sum(total_plan_time) / n)::numeric, 3) AS plan_ms_per_payment,
       round((sum(total_exec_time) / n)::numeric, 3) AS exec_ms_per_payment,
       round(sum(shared_blks_hit) / n, 1) AS blocks_hit_per_payment,
       round(sum(wal_records) / n, 1) AS wal_records_per_payment,
       round(sum(wal_bytes) / n) AS wal_bytes_per_payment
FROM pg_stat_statements, payments
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND toplevel
GROUP BY n;
