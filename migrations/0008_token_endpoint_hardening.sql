-- Token endpoint hardening: failed client authentications are also counted per client address, so that one
-- address spraying client ids is refused before any hash work is done for it; and both failure tables get the
-- index the worker's purge walks (rows whose window and lock have passed are deleted).
--
-- No tenant here (the address is not a tenant's), so no row-level security, like client_auth_failures.
--
-- Both tables are UNLOGGED: every attempt at the token endpoint writes them, and a logged write waits for a WAL
-- flush at commit, which made each failing attempt cost a disk sync (a flood of them, a stream of syncs). These
-- rows are throttling state worth minutes: losing them in a crash or a failover (unlogged tables are emptied by
-- crash recovery and not replicated to standbys) only gives each locked client id and address a fresh window.
CREATE UNLOGGED TABLE client_auth_source_failures (
  -- the client address as the trusted proxy reports it (TRUST_PROXY_HOPS)
  source        text PRIMARY KEY,
  -- attempts reserved in the window (verified and failed, or still being verified); a success gives its own back
  failures      integer NOT NULL CHECK (failures >= 0),
  window_start  timestamptz NOT NULL,
  locked_until  timestamptz
);
CREATE INDEX client_auth_source_failures_window_idx ON client_auth_source_failures (window_start);

ALTER TABLE client_auth_failures SET UNLOGGED;
CREATE INDEX client_auth_failures_window_idx ON client_auth_failures (window_start);
