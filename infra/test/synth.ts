/**
 * Synthesizes one environment's stacks in process, with the context of infra/cdk.json, as `cdk synth` would.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { environmentConfig, type EnvironmentConfig, type EnvironmentName } from '../config/environments.js';
import { buildEnvironment } from '../lib/build-environment.js';

export interface SynthesizedEnvironment {
  config: EnvironmentConfig;
  /** Context lookups the app asked for (each would need AWS credentials at synth time). */
  missingContext: string[];
  /** Container image assets (each would need Docker at synth or deploy time). */
  dockerImageAssets: string[];
  network: Template;
  platform: Template;
  database: Template;
  disasterRecovery: Template | null;
}

const cdkJson = JSON.parse(readFileSync(path.join(import.meta.dirname, '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };

export function synthesize(name: EnvironmentName): SynthesizedEnvironment {
  const config = environmentConfig(name);
  const app = new App({ context: cdkJson.context });
  const stacks = buildEnvironment(app, config);
  const assembly = app.synth();
  const dockerImageAssets = readdirSync(assembly.directory)
    .filter((f) => f.endsWith('.assets.json'))
    .flatMap((f) => Object.keys((JSON.parse(readFileSync(path.join(assembly.directory, f), 'utf8')) as { dockerImages?: object }).dockerImages ?? {}));
  return {
    config,
    missingContext: (assembly.manifest.missing ?? []).map((m) => m.key),
    dockerImageAssets,
    network: Template.fromStack(stacks.network),
    platform: Template.fromStack(stacks.platform),
    database: Template.fromStack(stacks.database),
    disasterRecovery: stacks.disasterRecovery ? Template.fromStack(stacks.disasterRecovery) : null,
  };
}

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string; UpdateReplacePolicy?: string }>;

/** Every resource of a type, with its logical id. */
export function resourcesOf(template: Template, type: string): { id: string; props: Record<string, any>; deletionPolicy?: string }[] {
  const all = template.toJSON().Resources as Resources;
  return Object.entries(all)
    .filter(([, r]) => r.Type === type)
    .map(([id, r]) => ({ id, props: (r.Properties ?? {}) as Record<string, any>, ...(r.DeletionPolicy ? { deletionPolicy: r.DeletionPolicy } : {}) }));
}

export function only<T>(items: T[], what: string): T {
  if (items.length !== 1) throw new Error(`expected exactly one ${what}, found ${items.length}`);
  return items[0] as T;
}
