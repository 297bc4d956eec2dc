/**
 * The Secrets Manager entries the infra creates are exactly the ones the rendered overlays' ExternalSecrets
 * read (key and property), so a renamed secret or a new property in deploy/k8s fails here, not at sync time.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { ENVIRONMENT_NAMES, environmentConfig } from '../config/environments.js';
import { appSecretSpecs } from '../config/names.js';

const root = path.resolve(import.meta.dirname, '..', '..');

function renderOverlay(name: string): string {
  try {
    return execFileSync('kubectl', ['kustomize', path.join(root, 'deploy', 'k8s', 'overlays', name)], { encoding: 'utf8', maxBuffer: 32 * 1024 * 1024 });
  } catch (err) {
    // A missing kubectl fails the contract instead of skipping it, like deploy/validate.sh.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('kubectl (with kustomize) is not installed: the overlays cannot be rendered');
    throw err;
  }
}

for (const name of ENVIRONMENT_NAMES) {
  test(`${name}: ExternalSecrets read exactly the secrets and properties the infra creates`, () => {
    const rendered = renderOverlay(name);
    const read = new Map<string, Set<string>>();
    for (const doc of parseAllDocuments(rendered)) {
      const object = doc.toJS() as { kind?: string; spec?: { data?: { remoteRef: { key: string; property: string } }[] } } | null;
      if (object?.kind !== 'ExternalSecret') continue;
      for (const { remoteRef } of object.spec?.data ?? []) {
        if (!read.has(remoteRef.key)) read.set(remoteRef.key, new Set());
        read.get(remoteRef.key)!.add(remoteRef.property);
      }
    }
    const created = new Map(appSecretSpecs(environmentConfig(name)).map((spec) => [spec.name, new Set(spec.properties)]));
    assert.deepEqual([...read.keys()].sort(), [...created.keys()].sort());
    for (const [key, properties] of read) assert.deepEqual([...properties].sort(), [...created.get(key)!].sort(), key);
  });
}
