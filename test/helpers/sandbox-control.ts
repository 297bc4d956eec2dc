/**
 * The processor's test switches (`/_control` on the sandbox processor and on the local Stripe server): `POST` sets
 * knobs (latency_ms, error_rate, stop_answering, drop_notifications, drop_webhooks, fail_next, …), `GET` reads them;
 * both answer the knobs, the requests held and the counts of what the processor recorded (its own view).
 */
export interface ProcessorControlState {
  held_requests: number;
  counts: Record<string, number | string>;
  [knob: string]: unknown;
}

/** A processor URL, or a test platform (its `sandboxUrl` is whichever processor it talks to). */
export type ProcessorTarget = string | { sandboxUrl: string };

/** Sets `knobs` (or, without them, only reads the state); fails with the processor's answer unless it is 200. */
export async function sandboxControl(target: ProcessorTarget, knobs?: Record<string, unknown>): Promise<ProcessorControlState> {
  const url = typeof target === 'string' ? target : target.sandboxUrl;
  const res = await fetch(`${url}/_control`, {
    method: knobs ? 'POST' : 'GET',
    ...(knobs ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(knobs) } : {}),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`processor control ${knobs ? JSON.stringify(knobs) : 'read'}: ${res.status} ${text}`);
  return JSON.parse(text) as ProcessorControlState;
}
