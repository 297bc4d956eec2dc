import { integerFlag, pause, stringFlag, type Command } from '../command-kit.js';

interface LogEntry {
  id: string; request_id: string; method: string; route: string; status_code: number; latency_ms: number;
  error_code: string | null; object_id: string | null; created_at: string;
}
interface LogPage { data: LogEntry[]; has_more: boolean }

const USAGE = `logs tail [--follow] [--limit N] [--status CODE | --status-class 2xx|3xx|4xx|5xx] [--method M] [--route TEMPLATE]
  Your own API requests, oldest of the last N first (default 20): time, method, route, status, latency, request
  id, error code. --follow keeps printing new ones (Ctrl-C stops); with --json, one JSON entry a line.
  Needs the logs:read scope.`;

const FOLLOW_INTERVAL_MS = 1_000;

const line = (e: LogEntry) =>
  `${e.created_at}  ${e.method.padEnd(6)} ${e.route.padEnd(34)} ${String(e.status_code)}  ${`${Math.round(e.latency_ms)}ms`.padStart(6)}  ${e.request_id}${e.error_code ? `  ${e.error_code}` : ''}${e.object_id ? `  ${e.object_id}` : ''}\n`;

export const logsCommands: Record<string, Command> = {
  tail: {
    usage: USAGE,
    options: {
      follow: { type: 'boolean', short: 'f' }, limit: { type: 'string' }, status: { type: 'string' }, 'status-class': { type: 'string' },
      method: { type: 'string' }, route: { type: 'string' },
    },
    async run({ io, flags, client, json }) {
      const np = client();
      const filters: Record<string, string | number> = {};
      const status = integerFlag(flags, 'status', USAGE, { min: 100 });
      if (status !== undefined) filters.status = status;
      for (const [flag, param] of [['status-class', 'status_class'], ['method', 'method'], ['route', 'route']] as const) {
        const v = stringFlag(flags, flag);
        if (v !== undefined) filters[param] = v;
      }
      const limit = integerFlag(flags, 'limit', USAGE, { min: 1 }) ?? 20;
      const show = (entries: LogEntry[]) => {
        for (const e of entries) io.out(json ? `${JSON.stringify(e)}\n` : line(e));
      };
      const first = await np.request<LogPage>('GET', '/v1/request_logs', { query: { ...filters, limit } });
      if (json && !flags.follow) return io.out(`${JSON.stringify(first, null, 2)}\n`);
      show([...first.data].reverse());
      let newest = first.data[0]?.id ?? '0';
      while (flags.follow && !io.signal.aborted) {
        await pause(FOLLOW_INTERVAL_MS, io.signal);
        if (io.signal.aborted) break;
        // ending_before pages forward from the newest entry seen: the next entries, newest first.
        const next = await np.request<LogPage>('GET', '/v1/request_logs', { query: { ...filters, limit: 100, ending_before: newest } });
        const ascending = [...next.data].reverse();
        show(ascending);
        newest = ascending[ascending.length - 1]?.id ?? newest;
      }
    },
  },
};
