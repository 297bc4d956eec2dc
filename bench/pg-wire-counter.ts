// A loopback TCP relay between an API process and PostgreSQL that counts protocol messages: every ReadyForQuery
// the server sends ends one round trip, every Execute (extended protocol) or Query (simple protocol) the client
// sends is a statement or a batch of them. Counts do not depend on the machine's load, so "round trips per
// payment" says what the two-round-trip work (issue 13, item 2) achieved on any machine. Plain connections only:
// the relay does not speak TLS (the API behind it gets sslmode=disable).
import net from 'node:net';

export interface WireCounts {
  /** ReadyForQuery messages: one per round trip the client waited for */
  roundTrips: number;
  /** Execute messages (extended protocol) */
  executes: number;
  /** Query messages (simple protocol, possibly several statements in one) */
  simpleQueries: number;
}

/**
 * Walks a stream of protocol messages (type byte + 4-byte length including itself), calling `onType` for each
 * message type. `untypedFirst`: the client's first message (startup) has no type byte.
 */
function messageWalker(onType: (type: number) => void, untypedFirst: boolean) {
  let header = Buffer.alloc(0);
  let skip = 0;
  let untyped = untypedFirst;
  return (chunk: Buffer) => {
    let at = 0;
    while (at < chunk.length) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - at);
        skip -= n;
        at += n;
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
        onType(header[0]!);
        skip = header.readInt32BE(1) - 4;
      }
      header = Buffer.alloc(0);
    }
  };
}

const READY_FOR_QUERY = 'Z'.charCodeAt(0);
const EXECUTE = 'E'.charCodeAt(0);
const QUERY = 'Q'.charCodeAt(0);

export interface PgWireCounter {
  port: number;
  counts(): WireCounts;
  reset(): void;
  close(): Promise<void>;
}

export async function startPgWireCounter(target: { host: string; port: number }): Promise<PgWireCounter> {
  let counts: WireCounts = { roundTrips: 0, executes: 0, simpleQueries: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    const fromClient = messageWalker((t) => {
      if (t === EXECUTE) counts.executes++;
      else if (t === QUERY) counts.simpleQueries++;
    }, true);
    const fromServer = messageWalker((t) => {
      if (t === READY_FOR_QUERY) counts.roundTrips++;
    }, false);
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
      counts = { roundTrips: 0, executes: 0, simpleQueries: 0 };
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
