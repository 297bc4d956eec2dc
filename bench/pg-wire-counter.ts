// A loopback TCP relay between an API process and PostgreSQL that counts protocol messages: every ReadyForQuery
// the server sends ends one round trip, every Execute (extended protocol) or Query (simple protocol) the client
// sends is a statement or a batch of them; cross-tenant transactions (background work) are counted apart. Counts do not depend on the machine's load, so "round trips per
// payment" says what the two-round-trip work (issue 13, item 2) achieved on any machine. Plain connections only:
// the relay does not speak TLS (the API behind it gets sslmode=disable).
import net from 'node:net';

export interface WireCounts {
  /** ReadyForQuery messages of the request path: one per round trip a request waited for */
  roundTrips: number;
  /** Execute messages (extended protocol) of the request path */
  executes: number;
  /** Query messages (simple protocol, possibly several statements in one) of the request path */
  simpleQueries: number;
  /** round trips of cross-tenant work (the request log's batched flush, jobs): not per request, and their share
   * per payment depends on how many payments fit in a flush interval, i.e. on the machine's speed */
  backgroundRoundTrips: number;
  /** connections the pool opened: each ends its start-up with a ReadyForQuery that is no request's round trip */
  connectionsOpened: number;
}

/**
 * Walks a stream of protocol messages (type byte + 4-byte length including itself), calling `onMessage` for each,
 * with the payload for the types in `capture`. `untypedFirst`: the client's first message (startup) has no type.
 */
function messageWalker(onMessage: (type: number, payload: Buffer | undefined) => void, capture: Set<number>, untypedFirst: boolean) {
  let header = Buffer.alloc(0);
  let skip = 0;
  let payload: Buffer[] | undefined;
  let type = 0;
  let untyped = untypedFirst;
  return (chunk: Buffer) => {
    let at = 0;
    while (at < chunk.length) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - at);
        payload?.push(chunk.subarray(at, at + n));
        skip -= n;
        at += n;
        if (skip === 0 && payload) {
          onMessage(type, Buffer.concat(payload));
          payload = undefined;
        }
        continue;
      }
      const need = untyped ? 4 : 5;
      const take = Math.min(need - header.length, chunk.length - at);
      header = Buffer.concat([header, chunk.subarray(at, at + take)]);
      at += take;
      if (header.length < need) return;
      if (untyped) {
        skip = header.readInt32BE(0) - 4;
        untyped = false;
      } else {
        type = header[0]!;
        skip = header.readInt32BE(1) - 4;
        if (capture.has(type) && skip > 0) payload = [];
        else onMessage(type, undefined);
      }
      header = Buffer.alloc(0);
    }
  };
}

const READY_FOR_QUERY = 'Z'.charCodeAt(0);
const EXECUTE = 'E'.charCodeAt(0);
const QUERY = 'Q'.charCodeAt(0);
const PARSE = 'P'.charCodeAt(0);
const IDLE = 'I'.charCodeAt(0);

export interface PgWireCounter {
  port: number;
  counts(): WireCounts;
  reset(): void;
  close(): Promise<void>;
}

const zero = (): WireCounts => ({ roundTrips: 0, executes: 0, simpleQueries: 0, backgroundRoundTrips: 0, connectionsOpened: 0 });

export async function startPgWireCounter(target: { host: string; port: number }): Promise<PgWireCounter> {
  let counts = zero();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    // One unit = a transaction (or a statement outside one): it ends when the server is idle again. A unit that
    // lifts the tenant scope (app.cross_tenant) is background work, never the payment path, which is tenant-scoped.
    let unit = zero();
    let background = false;
    let started = false;
    const fromClient = messageWalker((t, body) => {
      if (t === EXECUTE) unit.executes++;
      else if (t === QUERY) unit.simpleQueries++;
      if (body && body.includes('app.cross_tenant')) background = true;
    }, new Set([QUERY, PARSE]), true);
    const fromServer = messageWalker((t, body) => {
      if (t !== READY_FOR_QUERY) return;
      if (!started) {
        // the end of authentication and start-up: the connection is ready, no statement was waited for
        started = true;
        counts.connectionsOpened++;
        return;
      }
      unit.roundTrips++;
      if (body?.[0] !== IDLE) return;
      if (background) {
        counts.backgroundRoundTrips += unit.roundTrips;
      } else {
        counts.roundTrips += unit.roundTrips;
        counts.executes += unit.executes;
        counts.simpleQueries += unit.simpleQueries;
      }
      unit = zero();
      background = false;
    }, new Set([READY_FOR_QUERY]), false);
    client.on('data', (c: Buffer) => {
      fromClient(c);
      upstream.write(c);
    });
    upstream.on('data', (c: Buffer) => {
      fromServer(c);
      client.write(c);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    counts: () => ({ ...counts }),
    reset: () => {
      counts = zero();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
