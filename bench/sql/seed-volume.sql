-- Seeds a migrated database with realistic volume for EXPLAIN (ANALYZE, BUFFERS) and pg_stat_statements work:
-- :tenants tenants with two webhook endpoints each, :payments card payments (one authorize attempt, two transitions,
-- three events each, one delivery per event and endpoint), a few refunds, and the idempotency keys that created them.
-- Run as the owner (superuser) role, which row-level security does not filter:
--   psql -v tenants=5 -v payments=100000 -f bench/sql/seed-volume.sql "$OWNER_URL"
\set ON_ERROR_STOP on
BEGIN;
INSERT INTO tenants (id, name)
SELECT new_prefixed_id('ten'), 'seed tenant ' || g FROM generate_series(1, :tenants) g;

INSERT INTO webhook_endpoints (id, tenant_id, url, enabled_events, secret_enc)
SELECT new_prefixed_id('we'), t.id, 'https://hooks.example.com/' || g, ARRAY['payment.*'], 'seed'
FROM tenants t CROSS JOIN generate_series(1, 2) g;

CREATE TEMP TABLE seed_payments AS
SELECT 'pay_' || substr(new_prefixed_id('x'), 3) AS id,
       (SELECT array_agg(id ORDER BY id) FROM tenants)[1 + g % :tenants] AS tenant_id,
       g,
       clock_timestamp() - make_interval(secs => (:payments - g) * 2) AS created_at
FROM generate_series(1, :payments) g;

INSERT INTO payments (id, tenant_id, method, status, amount, currency, capture_method, amount_captured,
                      card_brand, card_last4, card_exp_month, card_exp_year, card_fingerprint, processor_reference,
                      idempotency_key, customer_reference, failure_code, created_at, updated_at)
SELECT id, tenant_id, 'card', CASE WHEN g % 20 = 0 THEN 'failed' ELSE 'succeeded' END, 1000 + g % 5000, 'usd', 'automatic',
       CASE WHEN g % 20 = 0 THEN 0 ELSE 1000 + g % 5000 END,
       'visa', lpad((g % 10000)::text, 4, '0'), 1 + g % 12, 2030, md5(g::text), 'auth_' || g,
       'seed-key-' || g, CASE WHEN g % 3 = 0 THEN 'cust_' || (g % 997) END,
       CASE WHEN g % 20 = 0 THEN 'card_declined' END, created_at, created_at
FROM seed_payments;

INSERT INTO payment_attempts (id, tenant_id, payment_id, operation, amount, status, processor_reference, latency_ms, created_at, completed_at)
SELECT 'att_' || substr(new_prefixed_id('x'), 3), tenant_id, id, 'authorize', 1000 + g % 5000,
       CASE WHEN g % 20 = 0 THEN 'failed' ELSE 'succeeded' END, 'auth_' || g, 1, created_at, created_at
FROM seed_payments;

INSERT INTO payment_transitions (id, tenant_id, payment_id, from_status, to_status, reason, created_at)
SELECT 'trn_' || substr(new_prefixed_id('x'), 3), tenant_id, id, s.from_status, s.to_status, 'seed', created_at
FROM seed_payments CROSS JOIN (VALUES (NULL, 'processing'), ('processing', 'succeeded')) s(from_status, to_status);

INSERT INTO events (id, tenant_id, type, object_type, object_id, data, created_at)
SELECT 'evt_' || substr(new_prefixed_id('x'), 3), tenant_id, e.type, 'payment', id,
       jsonb_build_object('object', jsonb_build_object('id', id, 'amount', 1000 + g % 5000, 'currency', 'usd')), created_at
FROM seed_payments CROSS JOIN (VALUES ('payment.created'), ('payment.processing'), ('payment.succeeded')) e(type);

INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, status, attempt_count, next_attempt_at, delivered_at, created_at)
SELECT 'whd_' || substr(new_prefixed_id('x'), 3), ev.tenant_id, we.id, ev.id,
       CASE WHEN ev.created_at > clock_timestamp() - interval '2 minutes' THEN 'pending' ELSE 'succeeded' END, 1,
       CASE WHEN ev.created_at > clock_timestamp() - interval '2 minutes' THEN ev.created_at END,
       CASE WHEN ev.created_at > clock_timestamp() - interval '2 minutes' THEN NULL ELSE ev.created_at END, ev.created_at
FROM events ev JOIN webhook_endpoints we ON we.tenant_id = ev.tenant_id;

INSERT INTO refunds (id, tenant_id, payment_id, amount, currency, status, created_at)
SELECT 're_' || substr(new_prefixed_id('x'), 3), tenant_id, id, 100, 'usd', 'succeeded', created_at
FROM seed_payments WHERE g % 50 = 0;

INSERT INTO idempotency_keys (tenant_id, key, method, path, request_hash, state, response_status, response_body, created_at, completed_at)
SELECT tenant_id, 'seed-key-' || g, 'POST', '/v1/payments', md5(g::text), 'completed', 201, jsonb_build_object('id', id), created_at, created_at
FROM seed_payments;
COMMIT;
ANALYZE;
