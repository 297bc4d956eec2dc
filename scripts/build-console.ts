/**
 * Builds the support console (console/, Vite) into console/dist, which the API serves at /console/.
 *
 *   tsx scripts/build-console.ts             build now
 *   tsx scripts/build-console.ts --if-stale  build only when console/dist is missing or older than its sources
 *                                            (`npm start` runs this first, so `npm ci && npm start` serves the console)
 *
 * The build goes to a temporary folder and is swapped in whole, so a server reading console/dist never sees a
 * half-written build, and a build that fails leaves the previous one in place.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = path.resolve(import.meta.dirname, '..');
export const CONSOLE_DIR = path.join(root, 'console');
export const CONSOLE_DIST = path.join(CONSOLE_DIR, 'dist');
const VITE_BIN = path.join(root, 'node_modules', 'vite', 'bin', 'vite.js');

/** What the build reads besides node_modules: the console's sources and config, and the locked dependency versions. */
const INPUTS = ['console/src', 'console/index.html', 'console/vite.config.ts', 'console/tsconfig.json', 'package-lock.json'];

async function newestMtime(entry: string): Promise<number> {
  let info;
  try {
    info = await stat(entry);
  } catch {
    return 0;
  }
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const child of await readdir(entry)) newest = Math.max(newest, await newestMtime(path.join(entry, child)));
  return newest;
}

/** Why the build is out of date, or undefined when console/dist is newer than every input. */
export async function consoleBuildStaleness(): Promise<string | undefined> {
  let built: number;
  try {
    built = (await stat(path.join(CONSOLE_DIST, 'index.html'))).mtimeMs;
  } catch {
    return 'console/dist is missing';
  }
  for (const input of INPUTS) {
    if ((await newestMtime(path.join(root, input))) > built) return `${input} changed since the last build`;
  }
  return undefined;
}

function run(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [VITE_BIN, ...args], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`vite build failed (${signal ?? `exit code ${code}`})`))));
  });
}

export async function buildConsole(): Promise<void> {
  const tmp = path.join(CONSOLE_DIR, `.dist-tmp-${process.pid}`);
  const old = path.join(CONSOLE_DIR, `.dist-old-${process.pid}`);
  try {
    await run(['build', '--config', path.join(CONSOLE_DIR, 'vite.config.ts'), '--outDir', tmp, '--emptyOutDir']);
    await rename(CONSOLE_DIST, old).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    await rename(tmp, CONSOLE_DIST);
  } finally {
    await rm(tmp, { recursive: true, force: true });
    await rm(old, { recursive: true, force: true });
  }
}

const LOCK = path.join(CONSOLE_DIR, '.build-lock');
const LOCK_STALE_MS = 5 * 60_000;

/**
 * One build at a time across processes (test files run in parallel, `npm start` may run beside them): a lock
 * directory, since mkdir either creates it or fails. A lock older than any build is left over from a killed one.
 */
async function withBuildLock<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + LOCK_STALE_MS;
  for (;;) {
    try {
      await mkdir(LOCK);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = Date.now() - (await stat(LOCK).then((s) => s.mtimeMs, () => Date.now()));
      if (age > LOCK_STALE_MS || Date.now() > deadline) await rm(LOCK, { recursive: true, force: true });
      else await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(LOCK, { recursive: true, force: true });
  }
}

/** Builds when stale; returns whether it built. The console tests use this too. */
export async function ensureConsoleBuilt(log: (line: string) => void = () => {}): Promise<boolean> {
  if (!(await consoleBuildStaleness())) return false;
  return withBuildLock(async () => {
    // another process may have built it while this one waited for the lock
    const reason = await consoleBuildStaleness();
    if (!reason) return false;
    log(`building the support console (${reason})…`);
    await buildConsole();
    return true;
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const ifStale = process.argv.includes('--if-stale');
  const started = Date.now();
  const log = (line: string) => process.stdout.write(`${line}\n`);
  try {
    if (ifStale) {
      const built = await ensureConsoleBuilt(log);
      if (built) log(`support console built in ${Date.now() - started} ms (console/dist)`);
    } else {
      await withBuildLock(buildConsole);
      log(`support console built in ${Date.now() - started} ms (console/dist)`);
    }
  } catch (error) {
    process.stderr.write(`support console build failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
