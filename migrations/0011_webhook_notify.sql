-- Delivery workers wake on NOTIFY instead of polling. Whatever makes a delivery due now, in whichever statement,
-- notifies the channel `webhook_deliveries`; NOTIFY is sent at commit (never for a rolled-back transaction, so a
-- worker woken by it finds the rows visible) and is collapsed to one per transaction. The payload is empty: a worker
-- claims by its own rules whatever became due. What becomes due by the clock (a retry's next attempt, an expired
-- lease) is no statement's doing; workers find those with a slow poll and timers of their own.
--
-- NOTIFY is not free for the notifier: PostgreSQL serialises the commits of notifying transactions (one lock on the
-- notification queue, held through the commit), which halved the pgbench ceiling of a card payment (bench/ceiling.sql:
-- 183 -> 419 payments/s at 1 client, 319-345 -> 469-594 at 8, with and without the trigger, quiet machine). So new
-- deliveries notify only while some dispatcher sleeps and asked for it: a dispatcher that goes idle registers
-- below (until a time, so a crashed one stops costing anything), and deregisters as soon as it has work again; while
-- deliveries keep coming it stays awake and looks every few milliseconds by itself. Under load nobody notifies.
CREATE UNLOGGED TABLE webhook_dispatcher_sleepers (
  -- one row per sleeping dispatcher (a random id per process); no tenant data, so no row-level security. UNLOGGED:
  -- losing it in a crash only costs each dispatcher one poll interval before it registers again.
  dispatcher_id  text PRIMARY KEY CHECK (length(dispatcher_id) <= 64),
  until          timestamptz NOT NULL
);

CREATE FUNCTION notify_webhook_deliveries() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('webhook_deliveries', '');
  RETURN NULL;
END
$$;

-- New deliveries (event fan-out, replays): once per statement, and only while a dispatcher sleeps. A statement
-- trigger without a transition table (capturing the inserted rows cost more than it saved); a statement that inserted
-- no row may wake a sleeper for nothing, which costs it one empty claim.
CREATE FUNCTION notify_webhook_deliveries_if_awaited() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT FROM webhook_dispatcher_sleepers WHERE until > now()) THEN
    PERFORM pg_notify('webhook_deliveries', '');
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER webhook_deliveries_notify_insert AFTER INSERT ON webhook_deliveries
  FOR EACH STATEMENT EXECUTE FUNCTION notify_webhook_deliveries_if_awaited();

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
