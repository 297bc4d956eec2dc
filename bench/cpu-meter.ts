// CPU time each party spends per payment, read from /proc (Linux): PostgreSQL (postmaster, its live backends and
// the ones that exited, which the kernel adds to the postmaster's children time), the API processes, the sandbox
// and the load generator (this process, autocannon inside it, pgbench as its child). On a shared machine the
// payments/s of a run swing with the neighbours' load; the CPU milliseconds a payment costs move far less, so
// this is the figure to compare between a run before and after a change. Elsewhere (no /proc, or a remote
// BENCH_DATABASE_URL) the meter is off and the bench prints no CPU figures.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';

interface ProcTimes {
  ppid: number;
  /** user + system ms of the process itself */
  selfMs: number;
  /** user + system ms of its waited-for children */
  childrenMs: number;
}

const TICK_MS = (() => {
  const hz = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim());
  return Number.isFinite(hz) && hz > 0 ? 1000 / hz : 10;
})();

function procTimes(pid: number): ProcTimes | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may contain spaces: the fields that matter follow its closing parenthesis
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const n = (i: number) => Number(rest[i]);
    return { ppid: n(1), selfMs: (n(11) + n(12)) * TICK_MS, childrenMs: (n(13) + n(14)) * TICK_MS };
  } catch {
    return undefined;
  }
}

export interface CpuSample {
  postgresMs: number;
  /** PostgreSQL backends of the sandbox processor (its own state, not work of the platform), by pid */
  sandboxBackendsMs: Map<number, number>;
  apiMs: number;
  sandboxMs: number;
  clientMs: number;
}

export interface CpuUse {
  postgresMs: number;
  sandboxBackendsMs: number;
  apiMs: number;
  sandboxMs: number;
  clientMs: number;
}

export interface CpuMeter {
  sample(): Promise<CpuSample>;
  since(start: CpuSample): Promise<CpuUse>;
}

/** A meter for the cluster behind `ownerUrl` (local only), the given API and sandbox processes, and this process. */
export async function createCpuMeter(ownerUrl: string, processes: () => { api: number[]; sandbox: number | undefined }): Promise<CpuMeter | undefined> {
  const client = new pg.Client({ connectionString: ownerUrl, application_name: 'nimbuspay-bench-meter' });
  await client.connect();
  let postmaster: number | undefined;
  try {
    const backend = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0] as { pid: number };
    // read while the backend lives: it exits as soon as this connection closes
    postmaster = procTimes(backend.pid)?.ppid;
  } finally {
    await client.end();
  }
  if (postmaster === undefined || procTimes(postmaster) === undefined) return undefined;

  const liveBackends = (): Map<number, number> => {
    const live = new Map<number, number>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const t = procTimes(Number(entry));
      if (t?.ppid === postmaster) live.set(Number(entry), t.selfMs);
    }
    return live;
  };

  const sample = async (): Promise<CpuSample> => {
    // A backend that exits (pgbench's, at the end of its run) moves from "live" into the postmaster's children
    // time when reaped; read between the two, it would be counted in neither. So: live set, postmaster, live set
    // again, until no backend came or went in between.
    let live = liveBackends();
    let pm = procTimes(postmaster)!;
    for (let i = 0; i < 50; i++) {
      const again = liveBackends();
      if (again.size === live.size && [...again.keys()].every((pid) => live.has(pid))) break;
      live = again;
      pm = procTimes(postmaster)!;
    }
    let postgresMs = pm.selfMs + pm.childrenMs;
    for (const ms of live.values()) postgresMs += ms;
    const sandboxBackendsMs = new Map<number, number>();
    const meter = new pg.Client({ connectionString: ownerUrl, application_name: 'nimbuspay-bench-meter' });
    await meter.connect();
    try {
      const rows = (await meter.query("SELECT pid FROM pg_stat_activity WHERE application_name = 'nimbuspay-sandbox-processor'")).rows as Array<{ pid: number }>;
      for (const { pid } of rows) sandboxBackendsMs.set(pid, live.get(pid) ?? 0);
    } finally {
      await meter.end();
    }
    const { api, sandbox } = processes();
    const own = procTimes(process.pid);
    return {
      postgresMs,
      sandboxBackendsMs,
      apiMs: api.reduce((sum, pid) => sum + (procTimes(pid)?.selfMs ?? 0), 0),
      sandboxMs: sandbox === undefined ? 0 : (procTimes(sandbox)?.selfMs ?? 0),
      clientMs: own ? own.selfMs + own.childrenMs : 0,
    };
  };

  return {
    sample,
    async since(start) {
      const end = await sample();
      let sandboxBackendsMs = 0;
      // a sandbox backend opened during the phase started from zero
      for (const [pid, ms] of end.sandboxBackendsMs) sandboxBackendsMs += ms - (start.sandboxBackendsMs.get(pid) ?? 0);
      return {
        postgresMs: end.postgresMs - start.postgresMs,
        sandboxBackendsMs,
        apiMs: end.apiMs - start.apiMs,
        sandboxMs: end.sandboxMs - start.sandboxMs,
        clientMs: end.clientMs - start.clientMs,
      };
    },
  };
}
