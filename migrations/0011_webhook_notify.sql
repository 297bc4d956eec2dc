-- Delivery workers wake on NOTIFY instead of polling. Whatever makes a delivery due now, in whichever statement,
-- notifies the channel `webhook_deliveries`; NOTIFY is sent at commit (never for a rolled-back transaction, so a
-- worker woken by it finds the rows visible) and is collapsed to one per transaction, so a payment that fans out
-- to many endpoints costs one notification. The payload is empty: a worker claims by its own rules whatever
-- became due. What becomes due by the clock (a retry's next attempt, an expired lease) is no statement's doing;
-- workers find those with a slow poll and timers of their own.

CREATE FUNCTION notify_webhook_deliveries() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('webhook_deliveries', '');
  RETURN NULL;
END
$$;

-- New deliveries (event fan-out, replays): once per statement, and only if the statement inserted any row, so an
-- event no endpoint subscribes to wakes nobody.
CREATE FUNCTION notify_webhook_deliveries_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT FROM inserted_deliveries) THEN
    PERFORM pg_notify('webhook_deliveries', '');
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER webhook_deliveries_notify_insert AFTER INSERT ON webhook_deliveries
  REFERENCING NEW TABLE AS inserted_deliveries
  FOR EACH STATEMENT EXECUTE FUNCTION notify_webhook_deliveries_inserted();

-- A manual retry: pending and unleased without an attempt being counted. The WHEN clause is evaluated without
-- calling the function, so the workers' own updates — a claim sets a lease, recording an attempt counts it — cost
-- nothing and wake nobody.
CREATE TRIGGER webhook_deliveries_notify_requeue AFTER UPDATE ON webhook_deliveries
  FOR EACH ROW
  WHEN (NEW.status = 'pending' AND NEW.locked_until IS NULL AND NEW.attempt_count = OLD.attempt_count)
  EXECUTE FUNCTION notify_webhook_deliveries();

-- A re-enabled endpoint's waiting deliveries become claimable at once.
CREATE TRIGGER webhook_endpoints_notify_enable AFTER UPDATE OF status ON webhook_endpoints
  FOR EACH ROW
  WHEN (OLD.status <> 'enabled' AND NEW.status = 'enabled')
  EXECUTE FUNCTION notify_webhook_deliveries();
