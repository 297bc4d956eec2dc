-- The ceiling again, through the two functions the API calls (migration 0010): the same payment as bench/ceiling.sql,
-- with the same ids, sizes and answer, but each transaction is one call in autocommit mode, as the API sends it. Set
-- beside bench/ceiling.sql (the same rows as plain statements), it tells what the functions themselves cost: run by
-- bench/payments.ts with BENCH_CEILING_FUNCTIONS=1, with the same variables as bench/ceiling.sql (its header explains
-- them and why the colons in the JSON are written as \u003a). The functions stamp created_at and updated_at into the
-- resource themselves, so the resources sent here have neither.

\set seq :seq + 1
\set sfx :client_id * 1000000000000 + :seq

-- transaction 1: idempotency claim, payment, authorize attempt, transition, payment.processing with its fan-out
SELECT * FROM create_card_payment(:tenant, 'bench-' || :run::text || '-' || lpad(:sfx::text, 22, '0'), 'POST', '/v1/payments', 'q8Yc1w6NfJb0dT4uXhP2sK9mVa7eLrZ3gQ5oHn_iC-E', 60000,
  'pay_' || :run::text || 'a' || lpad(:sfx::text, 18, '0'), 2000, 'usd', 'automatic', 'Order A-10428: 3 items, standard shipping (bench)',
  '{"order_id": "ord_8F3K2M9QX7", "cart_id": "cart_5d1e2a77c0", "channel": "web", "store": "eu-west-flagship", "customer_tier": "gold"}'::jsonb,
  'cust-000482-eu', 'visa', '4242', 12::smallint, 2029::smallint, 'Xk3v9QpL2mN8rT4wY6zA1b', 'att_' || :run::text || 'a' || lpad(:sfx::text, 18, '0'), 35000,
  'trn_' || :run::text || 'a' || lpad(:sfx::text, 18, '0'), 'evt_' || :run::text || 'a' || lpad(:sfx::text, 18, '0'),
  ('{"id": "' || 'pay_' || :run::text || 'a' || lpad(:sfx::text, 18, '0') || '", ' || '"object": "payment", "status": "processing", "amount": 2000, "currency": "usd", "capture_method": "automatic", "amount_capturable": 0, "amount_captured": 0, "amount_refunded": 0, "amount_reversed": 0, "amount_settled": 0, "payment_method": {"type": "card", "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2029, "fingerprint": "Xk3v9QpL2mN8rT4wY6zA1b"}}, "description": "Order A-10428\u003a 3 items, standard shipping (bench)", "metadata": {"order_id": "ord_8F3K2M9QX7", "cart_id": "cart_5d1e2a77c0", "channel": "web", "store": "eu-west-flagship", "customer_tier": "gold"}, "customer_reference": "cust-000482-eu", "failure_code": null, "failure_message": null}')::jsonb);

-- (the API calls the processor here, with no transaction open)

-- transaction 2: the attempt succeeds, processing -> succeeded, transition, payment.succeeded with its fan-out, the
-- idempotent answer
SELECT * FROM settle_card_attempt(:tenant, 'pay_' || :run::text || 'a' || lpad(:sfx::text, 18, '0'), 'att_' || :run::text || 'a' || lpad(:sfx::text, 18, '0'), 'succeeded', 'auth_' || :run::text || 'a' || lpad(:sfx::text, 18, '0'),
  NULL, NULL, 3, 35000, 'processing', 'succeeded', 'auth_' || :run::text || 'a' || lpad(:sfx::text, 18, '0'), 0, 2000,
  'trn_' || :run::text || 'b' || lpad(:sfx::text, 18, '0'), 'authorized and captured', 'evt_' || :run::text || 'b' || lpad(:sfx::text, 18, '0'), 'payment.succeeded',
  ('{"id": "' || 'pay_' || :run::text || 'a' || lpad(:sfx::text, 18, '0') || '", ' || '"object": "payment", "status": "succeeded", "amount": 2000, "currency": "usd", "capture_method": "automatic", "amount_capturable": 0, "amount_captured": 2000, "amount_refunded": 0, "amount_reversed": 0, "amount_settled": 2000, "payment_method": {"type": "card", "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2029, "fingerprint": "Xk3v9QpL2mN8rT4wY6zA1b"}}, "description": "Order A-10428\u003a 3 items, standard shipping (bench)", "metadata": {"order_id": "ord_8F3K2M9QX7", "cart_id": "cart_5d1e2a77c0", "channel": "web", "store": "eu-west-flagship", "customer_tier": "gold"}, "customer_reference": "cust-000482-eu", "failure_code": null, "failure_message": null}')::jsonb, 'bench-' || :run::text || '-' || lpad(:sfx::text, 22, '0'), 201);
