-- Payments (card and bank transfer), processor attempts, status history, refunds, idempotency keys.
-- Money is bigint minor units; the card PAN/CVC and full bank account numbers are never stored.

-- The payment state machine as data, mirrored from src/modules/payments/payment-state.ts; a trigger refuses any
-- status change not listed here, so even a buggy UPDATE cannot make an illegal transition.
CREATE TABLE payment_status_transitions (
  method      text NOT NULL,
  from_status text NOT NULL,
  to_status   text NOT NULL,
  PRIMARY KEY (method, from_status, to_status)
);
INSERT INTO payment_status_transitions (method, from_status, to_status) VALUES
  ('card', 'processing', 'requires_capture'),
  ('card', 'processing', 'succeeded'),
  ('card', 'processing', 'failed'),
  ('card', 'requires_capture', 'succeeded'),
  ('card', 'requires_capture', 'canceled'),
  ('bank_transfer', 'processing', 'succeeded'),
  ('bank_transfer', 'processing', 'failed'),
  ('bank_transfer', 'processing', 'canceled'),
  ('bank_transfer', 'succeeded', 'reversed');

CREATE TABLE payments (
  id                   text PRIMARY KEY CHECK (id ~ '^pay_[0-9a-z]{26}$'),
  tenant_id            text NOT NULL REFERENCES tenants(id),
  method               text NOT NULL CHECK (method IN ('card', 'bank_transfer')),
  status               text NOT NULL CHECK (status IN ('processing', 'requires_capture', 'succeeded', 'failed', 'canceled', 'reversed')),
  amount               bigint NOT NULL CHECK (amount > 0),
  currency             text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
  capture_method       text NOT NULL CHECK (capture_method IN ('automatic', 'manual')),
  amount_capturable    bigint NOT NULL DEFAULT 0,
  amount_captured      bigint NOT NULL DEFAULT 0,
  amount_refunded      bigint NOT NULL DEFAULT 0,
  amount_reversed      bigint NOT NULL DEFAULT 0,
  description          text CHECK (length(description) <= 1000),
  metadata             jsonb NOT NULL DEFAULT '{}'::jsonb,
  customer_reference   text CHECK (length(customer_reference) <= 200),
  -- card: brand, last4, expiry and a keyed fingerprint only
  card_brand           text,
  card_last4           text CHECK (card_last4 ~ '^[0-9]{4}$'),
  card_exp_month       smallint CHECK (card_exp_month BETWEEN 1 AND 12),
  card_exp_year        smallint,
  card_fingerprint     text,
  -- bank transfer: masked account
  bank_account_holder  text,
  bank_routing_number  text CHECK (bank_routing_number ~ '^[0-9]{9}$'),
  bank_account_last4   text CHECK (bank_account_last4 ~ '^[0-9]{4}$'),
  bank_account_type    text CHECK (bank_account_type IN ('checking', 'savings')),
  bank_fingerprint     text,
  -- the full account number, AES-GCM encrypted, held only while the transfer waits for submission (the cancel
  -- window) and erased in the transaction that records the submission or the cancel
  bank_account_number_enc text CHECK (bank_account_number_enc IS NULL OR rail_status = 'pending'),
  rail_status          text CHECK (rail_status IN ('pending', 'submitted', 'settled', 'returned', 'canceled')),
  rail_reference       text,
  return_code          text,
  return_reason        text,
  submitted_at         timestamptz,
  settled_at           timestamptz,
  returned_at          timestamptz,
  expected_settlement_at timestamptz,
  -- when the worker next asks the rail about this transfer (a lost notification must not leave it stuck); NULL once
  -- nothing can change any more (returned, canceled, failed, or settled and past the return window)
  rail_next_poll_at    timestamptz,
  processor_reference  text,
  failure_code         text,
  failure_message      text,
  -- the Idempotency-Key of the creating request: a request resumed after a crash finds its payment, never a second
  idempotency_key      text,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, idempotency_key),
  CHECK (amount_capturable >= 0 AND amount_capturable <= amount),
  CHECK (amount_captured >= 0 AND amount_captured <= amount),
  CHECK (amount_refunded >= 0 AND amount_refunded <= amount_captured),
  CHECK (amount_reversed >= 0 AND amount_reversed <= amount_captured),
  CHECK (method <> 'card' OR (card_brand IS NOT NULL AND card_last4 IS NOT NULL AND card_exp_month IS NOT NULL
                              AND card_exp_year IS NOT NULL AND card_fingerprint IS NOT NULL AND rail_status IS NULL)),
  CHECK (method <> 'bank_transfer' OR (bank_account_holder IS NOT NULL AND bank_routing_number IS NOT NULL
                              AND bank_account_last4 IS NOT NULL AND bank_account_type IS NOT NULL
                              AND bank_fingerprint IS NOT NULL AND rail_status IS NOT NULL AND currency = 'usd'
                              AND capture_method = 'automatic' AND card_last4 IS NULL)),
  CHECK (status <> 'failed' OR failure_code IS NOT NULL),
  CHECK (status <> 'requires_capture' OR amount_capturable > 0),
  CHECK (status NOT IN ('processing', 'failed', 'canceled') OR amount_captured = 0)
);
CREATE INDEX payments_tenant_id_idx ON payments (tenant_id, id);
CREATE INDEX payments_tenant_status_idx ON payments (tenant_id, status, id);
CREATE INDEX payments_tenant_customer_idx ON payments (tenant_id, customer_reference, id) WHERE customer_reference IS NOT NULL;
CREATE INDEX payments_processing_idx ON payments (created_at) WHERE status = 'processing';
CREATE INDEX payments_rail_pending_idx ON payments (created_at) WHERE rail_status = 'pending' AND status = 'processing';
CREATE INDEX payments_rail_poll_idx ON payments (rail_next_poll_at) WHERE rail_next_poll_at IS NOT NULL;

CREATE FUNCTION enforce_payment_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status AND NOT EXISTS (
    SELECT 1 FROM payment_status_transitions t
    WHERE t.method = OLD.method AND t.from_status = OLD.status AND t.to_status = NEW.status
  ) THEN
    RAISE EXCEPTION 'illegal payment transition % -> % for %', OLD.status, NEW.status, OLD.method
      USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.method IS DISTINCT FROM OLD.method OR NEW.amount IS DISTINCT FROM OLD.amount
     OR NEW.currency IS DISTINCT FROM OLD.currency OR NEW.tenant_id IS DISTINCT FROM OLD.tenant_id THEN
    RAISE EXCEPTION 'payment method, amount, currency and tenant are immutable' USING ERRCODE = 'check_violation';
  END IF;
  -- Rescheduling a rail poll is bookkeeping, not a change of the payment: it must not move updated_at.
  IF (to_jsonb(NEW) - 'updated_at' - 'rail_next_poll_at') IS DISTINCT FROM (to_jsonb(OLD) - 'updated_at' - 'rail_next_poll_at') THEN
    NEW.updated_at := now();
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER payments_enforce_transition BEFORE UPDATE ON payments
  FOR EACH ROW EXECUTE FUNCTION enforce_payment_transition();

CREATE TABLE refunds (
  id                   text PRIMARY KEY CHECK (id ~ '^re_[0-9a-z]{26}$'),
  tenant_id            text NOT NULL REFERENCES tenants(id),
  payment_id           text NOT NULL REFERENCES payments(id),
  amount               bigint NOT NULL CHECK (amount > 0),
  currency             text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
  status               text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
  reason               text CHECK (reason IN ('duplicate', 'fraudulent', 'requested_by_customer')),
  processor_reference  text,
  failure_code         text,
  failure_message      text,
  idempotency_key      text,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, idempotency_key),
  CHECK (status <> 'failed' OR failure_code IS NOT NULL)
);
CREATE INDEX refunds_tenant_payment_idx ON refunds (tenant_id, payment_id, id);
CREATE INDEX refunds_pending_idx ON refunds (created_at) WHERE status = 'pending';

CREATE FUNCTION enforce_refund_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status AND OLD.status <> 'pending' THEN
    RAISE EXCEPTION 'illegal refund transition % -> %', OLD.status, NEW.status USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.amount IS DISTINCT FROM OLD.amount OR NEW.payment_id IS DISTINCT FROM OLD.payment_id THEN
    RAISE EXCEPTION 'refund amount and payment are immutable' USING ERRCODE = 'check_violation';
  END IF;
  NEW.updated_at := now();
  RETURN NEW;
END
$$;
CREATE TRIGGER refunds_enforce_transition BEFORE UPDATE ON refunds
  FOR EACH ROW EXECUTE FUNCTION enforce_refund_transition();

-- One row per processor call. Its id is the idempotency key sent to the processor, so a retried or resumed
-- request never charges twice. 'unknown' outcomes are resolved by the reconciler.
CREATE TABLE payment_attempts (
  id                   text PRIMARY KEY CHECK (id ~ '^att_[0-9a-z]{26}$'),
  tenant_id            text NOT NULL REFERENCES tenants(id),
  payment_id           text NOT NULL REFERENCES payments(id),
  refund_id            text REFERENCES refunds(id),
  operation            text NOT NULL CHECK (operation IN ('authorize', 'capture', 'void', 'refund', 'bank_debit', 'bank_credit')),
  amount               bigint NOT NULL CHECK (amount > 0),
  status               text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'unknown')),
  processor_reference  text,
  failure_code         text,
  failure_message      text,
  latency_ms           integer,
  reconcile_count      integer NOT NULL DEFAULT 0,
  next_reconcile_at    timestamptz,
  created_at           timestamptz NOT NULL DEFAULT now(),
  completed_at         timestamptz,
  CHECK ((status IN ('succeeded', 'failed')) = (completed_at IS NOT NULL))
);
CREATE INDEX payment_attempts_payment_idx ON payment_attempts (tenant_id, payment_id, created_at);
CREATE INDEX payment_attempts_reconcile_idx ON payment_attempts (next_reconcile_at) WHERE status IN ('pending', 'unknown');

CREATE TABLE payment_transitions (
  id            text PRIMARY KEY,
  tenant_id     text NOT NULL REFERENCES tenants(id),
  payment_id    text NOT NULL REFERENCES payments(id),
  from_status   text,
  to_status     text NOT NULL,
  rail_status   text,
  reason        text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX payment_transitions_payment_idx ON payment_transitions (tenant_id, payment_id, created_at);

-- Idempotency-Key records (IETF draft + Stripe semantics). Only the request fingerprint and our own response are
-- stored: never the request body (it may hold card data).
CREATE TABLE idempotency_keys (
  tenant_id        text NOT NULL REFERENCES tenants(id),
  key              text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
  method           text NOT NULL,
  path             text NOT NULL,
  request_hash     text NOT NULL,
  state            text NOT NULL CHECK (state IN ('in_progress', 'completed')),
  response_status  integer,
  response_body    jsonb,
  locked_until     timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  completed_at     timestamptz,
  PRIMARY KEY (tenant_id, key),
  CHECK ((state = 'completed') = (response_status IS NOT NULL))
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Inbound processor notifications, processed once per notification id.
CREATE TABLE processor_notifications (
  processor     text NOT NULL,
  id            text NOT NULL,
  type          text NOT NULL,
  payload       jsonb NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (processor, id)
);
