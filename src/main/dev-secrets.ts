import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { EnvSource } from '../platform/config.js';

interface DevSecrets {
  NIMBUSPAY_MASTER_KEY: string;
  PROCESSOR_NOTIFICATION_SECRET: string;
}

/**
 * Development only: secrets that production must be given are generated once and kept in the data directory
 * (mode 0600), so restarts keep working tokens, encrypted keys and notification signatures.
 * Returns the environment with those filled in where unset.
 */
export async function withDevelopmentSecrets(env: EnvSource): Promise<EnvSource> {
  const nimbusEnv = env.NIMBUSPAY_ENV ?? 'development';
  if (nimbusEnv !== 'development') return env;
  const dir = path.resolve(env.NIMBUSPAY_DATA_DIR || '.nimbuspay');
  const file = path.join(dir, 'dev-secrets.json');
  let secrets: DevSecrets;
  try {
    secrets = JSON.parse(await readFile(file, 'utf8')) as DevSecrets;
  } catch {
    secrets = {
      NIMBUSPAY_MASTER_KEY: randomBytes(32).toString('base64'),
      PROCESSOR_NOTIFICATION_SECRET: randomBytes(32).toString('base64url'),
    };
    await mkdir(dir, { recursive: true });
    await writeFile(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  }
  return {
    ...env,
    NIMBUSPAY_MASTER_KEY: env.NIMBUSPAY_MASTER_KEY || secrets.NIMBUSPAY_MASTER_KEY,
    PROCESSOR_NOTIFICATION_SECRET: env.PROCESSOR_NOTIFICATION_SECRET || secrets.PROCESSOR_NOTIFICATION_SECRET,
  };
}
