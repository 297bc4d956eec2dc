import type { TestPlatform } from '../../helpers/platform.js';

/** Keeps `concurrency` copies of `step` running back to back until stopped; counts outcomes by label. */
export interface TrafficLoop {
  counts: Map<string, number>;
  stop(): Promise<void>;
}

export function keepSending(concurrency: number, step: () => Promise<string>): TrafficLoop {
  const counts = new Map<string, number>();
  let running = true;
  const lanes = Array.from({ length: concurrency }, async () => {
    while (running) {
      const outcome = await step().catch((err: unknown) => `error: ${(err as Error).message}`);
      counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
    }
  });
  return {
    counts,
    async stop() {
      running = false;
      await Promise.all(lanes);
    },
  };
}

/** A client-credentials token request; the answer's status is the outcome. */
export async function tokenRequest(platform: TestPlatform, clientId: string, secret: string): Promise<string> {
  const res = await fetch(`${platform.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials' }),
  });
  await res.arrayBuffer();
  return `token ${res.status}`;
}
