/**
 * A flood of failing client authentications against POST /oauth/token, shared by the token-flood test and
 * bench/token-flood.ts. Each worker loops one request at a time until the signal aborts; the addresses go in
 * X-Forwarded-For, so the API must trust one proxy hop (TRUST_PROXY_HOPS=1). Loopback only.
 */
import { randomBytes } from 'node:crypto';

export interface FloodLane {
  /** label for the report */
  name: string;
  workers: number;
  clientId: () => string;
  secret: () => string;
  /** the client address the trusted proxy reports */
  source: () => string;
}

export interface Flood {
  /** answers by lane and HTTP status; network errors other than the final abort under status 0 */
  statuses: Map<string, Map<number, number>>;
  answered(): number;
  /** resolves once every worker has stopped after the signal aborted */
  done: Promise<void>;
}

export const randomClientId = () => `client_${randomBytes(9).toString('base64url')}`;
export const randomAddress = () => `10.${randomBytes(3).join('.')}`;

/** The attack the issue measured: random ids from everywhere, one address spraying ids, and guesses at a known id. */
export function standardLanes(knownClientId: string, scale = 1): FloodLane[] {
  const n = (base: number) => Math.max(1, Math.round(base * scale));
  return [
    { name: 'random ids, random addresses', workers: n(40), clientId: randomClientId, secret: () => 'ncs_guess', source: randomAddress },
    { name: 'random ids, one address', workers: n(8), clientId: randomClientId, secret: () => 'ncs_guess', source: () => '203.0.113.66' },
    { name: 'known id, random addresses', workers: n(16), clientId: () => knownClientId, secret: () => `ncs_${randomBytes(8).toString('hex')}`, source: randomAddress },
  ];
}

export function startTokenFlood(baseUrl: string, lanes: FloodLane[], signal: AbortSignal): Flood {
  const statuses = new Map<string, Map<number, number>>();
  let answered = 0;
  const record = (lane: string, status: number) => {
    const byStatus = statuses.get(lane) ?? new Map<number, number>();
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    statuses.set(lane, byStatus);
    answered++;
  };
  const worker = async (lane: FloodLane) => {
    while (!signal.aborted) {
      try {
        const res = await fetch(`${baseUrl}/oauth/token`, {
          method: 'POST',
          headers: {
            authorization: `Basic ${Buffer.from(`${lane.clientId()}:${lane.secret()}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
            'x-forwarded-for': lane.source(),
          },
          body: 'grant_type=client_credentials',
          signal,
        });
        await res.arrayBuffer();
        record(lane.name, res.status);
      } catch {
        if (!signal.aborted) record(lane.name, 0);
      }
    }
  };
  const done = Promise.all(lanes.flatMap((lane) => Array.from({ length: lane.workers }, () => worker(lane)))).then(() => undefined);
  return { statuses, answered: () => answered, done };
}

export function describeFlood(flood: Flood): string {
  return [...flood.statuses].map(([lane, byStatus]) => `${lane}: ${[...byStatus].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ')}`).join('; ');
}

/** Nearest-rank percentile of a non-empty sample. */
export function percentile(sample: number[], p: number): number {
  const sorted = [...sample].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
