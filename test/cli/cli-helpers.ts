import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const root = path.resolve(import.meta.dirname, '../..');

export interface CliResult { code: number; stdout: string; stderr: string }

/** A config directory of its own (the profile file), removed by the returned function. */
export function tempConfigDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nimbuspay-cli-test-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The environment a CLI child sees: nothing of the test runner's own NIMBUSPAY_* settings. */
export function cliEnv(extra: Record<string, string | undefined>): Record<string, string | undefined> {
  return { PATH: process.env.PATH, HOME: os.tmpdir(), ...extra };
}

/** `node bin/nimbuspay.mjs …` to completion. */
export function runCli(args: string[], env: Record<string, string | undefined>): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/nimbuspay.mjs', ...args], { cwd: root, env, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A long-running CLI child (listen, logs tail --follow); its output is collected as it comes. */
export function spawnCli(args: string[], env: Record<string, string | undefined>): { child: ChildProcess; stdout(): string; stderr(): string } {
  const child = spawn(process.execPath, ['bin/nimbuspay.mjs', ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  child.stderr!.on('data', (c: Buffer) => { err += c.toString('utf8'); });
  return { child, stdout: () => out, stderr: () => err };
}
