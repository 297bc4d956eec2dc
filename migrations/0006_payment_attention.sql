-- Payments that need an operator. The first reason: the processor accepted a bank debit (we hold its rail
-- reference) and later answers that it does not know it. Nothing about the money can be inferred from that, so
-- the payment keeps its status; it is flagged here, counted by the worker's nimbuspay_payments_needing_attention
-- gauge (alert NimbusPayPaymentNeedsAttention), and polled with an exponential backoff until the rail knows the
-- debit again, which clears the flag.
--
-- No new table: the payments RLS policies (0005) apply to whole rows, and the app role's table-level grants
-- cover columns added later, so nothing else is needed for nimbuspay_app.

ALTER TABLE payments
  -- a closed set, mirrored by PAYMENT_ATTENTION_REASONS in src/platform/db-schema.ts
  ADD COLUMN attention_reason text CHECK (attention_reason IN ('processor_lost_debit')),
  ADD COLUMN attention_since timestamptz,
  -- consecutive backoff steps taken while the rail did not know the debit (0 while it does); the next poll is
  -- due BANK_RAIL_POLL_INTERVAL_MS x 2^step later, capped
  ADD COLUMN rail_poll_backoff_step integer NOT NULL DEFAULT 0 CHECK (rail_poll_backoff_step >= 0),
  ADD CONSTRAINT payments_attention_since_check CHECK ((attention_reason IS NULL) = (attention_since IS NULL));

-- The gauge counts these every few seconds across tenants: only flagged rows are indexed, so it stays cheap.
CREATE INDEX payments_attention_idx ON payments (attention_reason) WHERE attention_reason IS NOT NULL;

-- Same function as in 0003, with the attention bookkeeping added to what does not move updated_at: flagging or
-- backing off changes nothing a client sees of the payment (the status is never touched by it).
CREATE OR REPLACE FUNCTION enforce_payment_transition() RETURNS trigger LANGUAGE plpgsql AS $$
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
  -- Rescheduling a rail poll and the attention bookkeeping are not changes of the payment: they must not move
  -- updated_at.
  IF (to_jsonb(NEW) - 'updated_at' - 'rail_next_poll_at' - 'attention_reason' - 'attention_since' - 'rail_poll_backoff_step')
     IS DISTINCT FROM
     (to_jsonb(OLD) - 'updated_at' - 'rail_next_poll_at' - 'attention_reason' - 'attention_since' - 'rail_poll_backoff_step') THEN
    NEW.updated_at := now();
  END IF;
  RETURN NEW;
END
$$;
