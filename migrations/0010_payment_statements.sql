-- A card payment in two database round trips: each of its transactions is ONE statement, a call of one of the
-- functions below in autocommit mode. A single statement is atomic, so everything the multi-statement transactions
-- guaranteed still holds: the idempotency claim, the state machine (checked in code, refused by the trigger), the
-- event and its webhooks committed with the change. The functions are SECURITY INVOKER (the default): row-level
-- security applies to the application role as for any query, scoped by the transaction-local tenant setting each
-- public function makes first (`true`: it ends with the statement's implicit transaction, or with the caller's
-- transaction when called inside one).
--
-- The application decides everything (ids, the state machine's answer, the resource a client sees); the database
-- owns only what it must: now(), and the rows' existing state, which the functions re-check with guards.

-- A timestamp as the API prints it: what `Date.prototype.toISOString` prints for the value node-postgres parses
-- back (millisecond precision, truncated, UTC, `Z`), so a JSON answer stamped here equals one built from a read.
CREATE FUNCTION api_timestamp(ts timestamptz) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- The event and one pending webhook delivery per enabled endpoint of the tenant subscribed to its type (exact
-- type, `<prefix>.*` or `*`), in the caller's statement: the one place the subscription rule lives.
CREATE FUNCTION record_event(p_tenant text, p_event_id text, p_type text, p_object_type text, p_object_id text, p_data jsonb)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  WITH inserted AS (
    INSERT INTO events (id, tenant_id, type, object_type, object_id, data)
    VALUES (p_event_id, p_tenant, p_type, p_object_type, p_object_id, p_data)
    RETURNING id, tenant_id, created_at
  )
  INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, status, next_attempt_at)
  SELECT new_prefixed_id('whd'), inserted.tenant_id, e.id, inserted.id, 'pending', inserted.created_at
  FROM inserted
  JOIN webhook_endpoints e ON e.tenant_id = inserted.tenant_id
  WHERE e.status = 'enabled' AND e.enabled_events && ARRAY[p_type, split_part(p_type, '.', 1) || '.*', '*'];
END
$$;

-- What a tenant's Idempotency-Key created, if anything: payments and refunds both keep the key of their creating
-- request (UNIQUE per tenant), so a key can never have created one of each.
CREATE FUNCTION object_created_under_key(p_tenant text, p_key text)
RETURNS TABLE (object text, id text, payment_id text, created_at timestamptz) LANGUAGE sql STABLE AS $$
  SELECT 'payment', p.id, p.id, p.created_at FROM payments p WHERE p.tenant_id = p_tenant AND p.idempotency_key = p_key
  UNION ALL
  SELECT 'refund', r.id, r.payment_id, r.created_at FROM refunds r WHERE r.tenant_id = p_tenant AND r.idempotency_key = p_key
  LIMIT 1
$$;

-- The Idempotency-Key claim (semantics: src/platform/http/idempotency.ts), the one implementation every idempotent
-- route uses. Outcomes:
--   claimed     a new record holds the key for this request;
--   expired     no record held the key but an object was created under it (the record was purged): the answer
--               names that object (bound_*), and the record just inserted is deleted again, so nothing is stored;
--   mismatch    the record belongs to another request;
--   replay      the record holds this request's answer (response_status, response_body);
--   in_flight   this request is still running elsewhere (its lease has not ended);
--   taken_over  this request's earlier run ended without answering: its lease is renewed and it runs again.
CREATE FUNCTION claim_idempotency_key(
  p_tenant text, p_key text, p_method text, p_path text, p_request_hash text, p_lease_ms integer,
  OUT outcome text, OUT response_status integer, OUT response_body jsonb,
  OUT bound_object text, OUT bound_id text, OUT bound_payment_id text, OUT bound_created_at timestamptz
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_existing idempotency_keys%ROWTYPE;
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant, true);
  LOOP
    INSERT INTO idempotency_keys (tenant_id, key, method, path, request_hash, state, locked_until)
    VALUES (p_tenant, p_key, p_method, p_path, p_request_hash, 'in_progress', now() + p_lease_ms * interval '1 millisecond')
    ON CONFLICT (tenant_id, key) DO NOTHING;
    IF FOUND THEN
      SELECT b.object, b.id, b.payment_id, b.created_at INTO bound_object, bound_id, bound_payment_id, bound_created_at
      FROM object_created_under_key(p_tenant, p_key) b;
      IF FOUND THEN
        -- never visible to anyone: a concurrent claim waits on our insert and then finds the key free again
        DELETE FROM idempotency_keys k WHERE k.tenant_id = p_tenant AND k.key = p_key;
        outcome := 'expired';
      ELSE
        outcome := 'claimed';
      END IF;
      RETURN;
    END IF;
    SELECT * INTO v_existing FROM idempotency_keys k WHERE k.tenant_id = p_tenant AND k.key = p_key FOR UPDATE;
    IF FOUND THEN
      IF v_existing.request_hash <> p_request_hash THEN
        outcome := 'mismatch';
      ELSIF v_existing.state = 'completed' THEN
        outcome := 'replay';
        response_status := v_existing.response_status;
        response_body := v_existing.response_body;
      ELSIF NOT coalesce(v_existing.locked_until <= now(), false) THEN
        outcome := 'in_flight';
      ELSE
        UPDATE idempotency_keys k SET locked_until = now() + p_lease_ms * interval '1 millisecond'
        WHERE k.tenant_id = p_tenant AND k.key = p_key;
        outcome := 'taken_over';
      END IF;
      RETURN;
    END IF;
    -- the record was released between our INSERT and SELECT (its request failed with nothing created): claim again
  END LOOP;
END
$$;

-- After a request failed with a 5xx: if it created its object before failing, the record stays with its lease
-- ended (only the same request may resume it); otherwise nothing was done and the key is free for any request.
CREATE FUNCTION release_idempotency_key(p_tenant text, p_key text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant, true);
  IF EXISTS (SELECT 1 FROM object_created_under_key(p_tenant, p_key)) THEN
    UPDATE idempotency_keys k SET locked_until = now()
    WHERE k.tenant_id = p_tenant AND k.key = p_key AND k.state = 'in_progress';
  ELSE
    DELETE FROM idempotency_keys k WHERE k.tenant_id = p_tenant AND k.key = p_key AND k.state = 'in_progress';
  END IF;
END
$$;

-- The payment resource as the client, the event and the idempotent answer see it, with the row's DB-owned
-- timestamps stamped in (the application serialised it before the database had chosen them).
CREATE FUNCTION stamp_payment_resource(p_resource jsonb, p_created_at timestamptz, p_updated_at timestamptz)
RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT p_resource || jsonb_build_object('created_at', api_timestamp(p_created_at), 'updated_at', api_timestamp(p_updated_at))
$$;

-- Transaction 1 of a card payment: the key's claim and, when the request may run, the payment (`processing`), its
-- authorize attempt (due for reconciliation after p_reconcile_after_ms, should the request never come back), its
-- first transition and the `payment.processing` event with its webhooks. A takeover resumes the payment its earlier
-- run created (outcome `resumed`, payment_id) or, if that run created none, creates it now. Any other claim
-- outcome creates nothing and is returned as claim_idempotency_key returned it.
CREATE FUNCTION create_card_payment(
  p_tenant text, p_key text, p_method text, p_path text, p_request_hash text, p_lease_ms integer,
  p_payment_id text, p_amount bigint, p_currency text, p_capture_method text, p_description text, p_metadata jsonb,
  p_customer_reference text, p_card_brand text, p_card_last4 text, p_card_exp_month smallint, p_card_exp_year smallint,
  p_card_fingerprint text, p_attempt_id text, p_reconcile_after_ms integer, p_transition_id text, p_event_id text,
  p_resource jsonb,
  OUT outcome text, OUT response_status integer, OUT response_body jsonb,
  OUT bound_object text, OUT bound_id text, OUT bound_payment_id text, OUT bound_created_at timestamptz,
  OUT payment_id text, OUT created_at timestamptz, OUT updated_at timestamptz
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_claim record;
BEGIN
  SELECT * INTO v_claim FROM claim_idempotency_key(p_tenant, p_key, p_method, p_path, p_request_hash, p_lease_ms);
  outcome := v_claim.outcome;
  response_status := v_claim.response_status;
  response_body := v_claim.response_body;
  bound_object := v_claim.bound_object;
  bound_id := v_claim.bound_id;
  bound_payment_id := v_claim.bound_payment_id;
  bound_created_at := v_claim.bound_created_at;
  IF outcome NOT IN ('claimed', 'taken_over') THEN
    RETURN;
  END IF;
  -- Only a takeover can find a payment: a fresh claim has just checked that the key created nothing.
  IF outcome = 'taken_over' THEN
    SELECT p.id, p.created_at, p.updated_at INTO payment_id, created_at, updated_at
    FROM payments p WHERE p.tenant_id = p_tenant AND p.idempotency_key = p_key;
    IF FOUND THEN
      outcome := 'resumed';
      RETURN;
    END IF;
  END IF;
  INSERT INTO payments (id, tenant_id, method, status, amount, currency, capture_method, description, metadata,
                        customer_reference, card_brand, card_last4, card_exp_month, card_exp_year, card_fingerprint,
                        idempotency_key)
  VALUES (p_payment_id, p_tenant, 'card', 'processing', p_amount, p_currency, p_capture_method, p_description, p_metadata,
          p_customer_reference, p_card_brand, p_card_last4, p_card_exp_month, p_card_exp_year, p_card_fingerprint, p_key)
  RETURNING id, created_at, updated_at INTO payment_id, created_at, updated_at;
  INSERT INTO payment_attempts (id, tenant_id, payment_id, operation, amount, status, next_reconcile_at)
  VALUES (p_attempt_id, p_tenant, p_payment_id, 'authorize', p_amount, 'pending', now() + p_reconcile_after_ms * interval '1 millisecond');
  INSERT INTO payment_transitions (id, tenant_id, payment_id, from_status, to_status, reason)
  VALUES (p_transition_id, p_tenant, p_payment_id, NULL, 'processing', 'created');
  PERFORM record_event(p_tenant, p_event_id, 'payment.processing', 'payment', p_payment_id,
                       jsonb_build_object('object', stamp_payment_resource(p_resource, created_at, updated_at)));
  outcome := 'created';
END
$$;

-- Transaction 2 of a card payment, and of a capture, a void and the reconciler's answer for any of them: the one
-- implementation of "apply a card operation's outcome". The application decided it with the state machine from
-- the payment it holds; this applies it with guards:
-- - the attempt settles (`succeeded`/`failed`) or stays open as `unknown` (next reconciliation after
--   p_reconcile_after_ms) only while it is still `pending`/`unknown`; otherwise someone else (the reconciler, or
--   the request) applied its outcome first: `superseded`, and nothing changes;
-- - with p_to_status, the payment moves from p_from_status (its failure fields are the attempt's when it fails;
--   NULL amounts and processor reference keep theirs), with its transition and event (the resource stamped with
--   the row's timestamps). A payment no longer in p_from_status is a broken invariant: the exception rolls the
--   whole statement back. The trigger still refuses any illegal edge;
-- - with p_idempotency_key, the resource is stored as that key's answer (p_response_status) in the same statement.
CREATE FUNCTION settle_card_attempt(
  p_tenant text, p_payment_id text, p_attempt_id text, p_attempt_status text, p_attempt_processor_reference text,
  p_failure_code text, p_failure_message text, p_latency_ms integer, p_reconcile_after_ms integer,
  p_from_status text, p_to_status text, p_processor_reference text, p_amount_capturable bigint, p_amount_captured bigint,
  p_transition_id text, p_reason text, p_event_id text, p_event_type text, p_resource jsonb,
  p_idempotency_key text, p_response_status integer,
  OUT outcome text, OUT created_at timestamptz, OUT updated_at timestamptz
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_status text;
  v_resource jsonb;
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant, true);
  -- the payment first, as every other writer of a payment and its attempts locks them
  SELECT p.status, p.created_at, p.updated_at INTO v_status, created_at, updated_at
  FROM payments p WHERE p.tenant_id = p_tenant AND p.id = p_payment_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'attempt % has no payment %', p_attempt_id, p_payment_id;
  END IF;
  IF p_attempt_status = 'unknown' THEN
    UPDATE payment_attempts a
    SET status = 'unknown', failure_message = p_failure_message, latency_ms = p_latency_ms,
        next_reconcile_at = now() + p_reconcile_after_ms * interval '1 millisecond'
    WHERE a.tenant_id = p_tenant AND a.id = p_attempt_id AND a.status IN ('pending', 'unknown');
  ELSE
    UPDATE payment_attempts a
    SET status = p_attempt_status, processor_reference = p_attempt_processor_reference, failure_code = p_failure_code,
        failure_message = p_failure_message, latency_ms = p_latency_ms, completed_at = now(), next_reconcile_at = NULL
    WHERE a.tenant_id = p_tenant AND a.id = p_attempt_id AND a.status IN ('pending', 'unknown');
  END IF;
  IF NOT FOUND THEN
    outcome := 'superseded';
    RETURN;
  END IF;
  IF p_to_status IS NOT NULL THEN
    UPDATE payments p
    SET status = p_to_status,
        processor_reference = coalesce(p_processor_reference, p.processor_reference),
        amount_capturable = coalesce(p_amount_capturable, p.amount_capturable),
        amount_captured = coalesce(p_amount_captured, p.amount_captured),
        failure_code = CASE WHEN p_to_status = 'failed' THEN p_failure_code ELSE p.failure_code END,
        failure_message = CASE WHEN p_to_status = 'failed' THEN p_failure_message ELSE p.failure_message END
    WHERE p.tenant_id = p_tenant AND p.id = p_payment_id AND p.status = p_from_status
    RETURNING p.created_at, p.updated_at INTO created_at, updated_at;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'payment % changed under a held attempt (% expected, % found)', p_payment_id, p_from_status, v_status;
    END IF;
    INSERT INTO payment_transitions (id, tenant_id, payment_id, from_status, to_status, reason)
    VALUES (p_transition_id, p_tenant, p_payment_id, p_from_status, p_to_status, p_reason);
  END IF;
  IF p_resource IS NOT NULL THEN
    v_resource := stamp_payment_resource(p_resource, created_at, updated_at);
  END IF;
  IF p_to_status IS NOT NULL THEN
    PERFORM record_event(p_tenant, p_event_id, p_event_type, 'payment', p_payment_id, jsonb_build_object('object', v_resource));
  END IF;
  IF p_idempotency_key IS NOT NULL THEN
    UPDATE idempotency_keys k
    SET state = 'completed', response_status = p_response_status, response_body = v_resource, completed_at = now(), locked_until = NULL
    WHERE k.tenant_id = p_tenant AND k.key = p_idempotency_key;
  END IF;
  outcome := 'applied';
END
$$;
