import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadConfig, loadMigrationConfig, type Config, type MigrationConfig } from '../../src/platform/config.js';

// Every overlay, rendered exactly as it would be applied, must give each container an environment that the app's
// own config loader accepts: deploy/check-manifests.py checks the manifests' shape, this checks them against
// src/platform/config.ts. Secrets are not in the manifests (External Secrets fill them in the cluster), so each
// secret-sourced variable gets a well-formed placeholder of the shape production would hold.

const root = path.resolve(import.meta.dirname, '../..');
const ENVIRONMENTS = ['development', 'staging', 'production'] as const;
type Env = (typeof ENVIRONMENTS)[number];
/** The roles a container may run: each is a `nimbuspay <role>` command that serves or migrates, never `start`. */
const ROLES = ['api', 'worker', 'migrate', 'sandbox-processor'] as const;

interface K8sObject {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: any;
}

interface Container {
  name: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } } }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
}

function render(env: Env): K8sObject[] {
  const res = spawnSync('kubectl', ['kustomize', `deploy/k8s/overlays/${env}`], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  if ((res.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    assert.fail('kubectl is not installed: this test renders deploy/k8s/overlays/* with `kubectl kustomize`, whose built-in '
      + 'kustomize must know `components` and `labels` (Debian 12\'s kubernetes-client 1.20 does not). Install a current kubectl '
      + '(https://kubernetes.io/docs/tasks/tools/) and run again.');
  }
  assert.ifError(res.error);
  assert.equal(res.status, 0, `kubectl kustomize deploy/k8s/overlays/${env} failed:\n${res.stderr}`);
  return parseAllDocuments(res.stdout).map((d) => d.toJS() as K8sObject | null).filter((d): d is K8sObject => d !== null);
}

/** The commands `nimbuspay` knows: the `case '…':` labels of the CLI's dispatch in src/main/cli.ts. */
function cliCommands(): Set<string> {
  const source = readFileSync(path.join(root, 'src/main/cli.ts'), 'utf8');
  return new Set([...source.matchAll(/^\s*case '([a-z-]+)':/gm)].map((m) => m[1]!));
}

const alnum = (n: number) => randomBytes(n).toString('hex');

/** A value of the right shape for a secret-held variable, as the environment's secret store would hold it. */
function secretPlaceholder(variable: string, env: Env): string {
  switch (variable) {
    case 'DATABASE_URL':
      return 'postgres://nimbuspay_app:placeholder@db.internal:5432/nimbuspay?sslmode=require';
    case 'MIGRATION_DATABASE_URL':
      return 'postgres://nimbuspay_owner:placeholder@db.internal:5432/nimbuspay?sslmode=require';
    case 'SANDBOX_DATABASE_URL':
      return 'postgres://nimbuspay_sandbox:placeholder@sandbox-db.internal:5432/nimbuspay_sandbox?sslmode=require';
    case 'NIMBUSPAY_MASTER_KEY':
      return randomBytes(32).toString('base64');
    case 'NIMBUSPAY_ADMIN_CLIENT_SECRET':
    case 'PROCESSOR_NOTIFICATION_SECRET':
    case 'STAFF_OIDC_CLIENT_SECRET':
      return randomBytes(32).toString('base64url');
    case 'STRIPE_SECRET_KEY':
      return `${env === 'production' ? 'sk_live_' : 'sk_test_'}${alnum(24)}`;
    case 'STRIPE_WEBHOOK_SECRETS':
      return `whsec_${alnum(16)},whsec_${alnum(16)}`;
    default:
      return assert.fail(`no placeholder shape for secret variable ${variable}: add one to this test`);
  }
}

/**
 * The environment Kubernetes gives `container`: envFrom sources in order (a later one wins), then `env` (wins over
 * envFrom). Secrets are resolved through the ExternalSecret that creates them, so a key nobody provides fails here.
 */
function containerEnv(objects: K8sObject[], container: Container, env: Env): Record<string, string> {
  const configMaps = new Map(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o.data ?? {}]));
  const secrets = new Map<string, string[]>();
  for (const es of objects.filter((o) => o.kind === 'ExternalSecret')) {
    const target: string = es.spec.target?.name ?? es.metadata.name;
    secrets.set(target, (es.spec.data as Array<{ secretKey: string }>).map((d) => d.secretKey));
  }
  const secretKeys = (name: string): string[] => {
    const keys = secrets.get(name);
    assert.ok(keys, `${container.name}: secret ${name} is not created by any ExternalSecret`);
    return keys;
  };
  const out: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) {
      const data = configMaps.get(from.configMapRef.name);
      assert.ok(data, `${container.name}: ConfigMap ${from.configMapRef.name} is not in the overlay`);
      Object.assign(out, data);
    } else if (from.secretRef) {
      for (const key of secretKeys(from.secretRef.name)) out[key] = secretPlaceholder(key, env);
    } else {
      assert.fail(`${container.name}: unsupported envFrom ${JSON.stringify(from)}`);
    }
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) {
      out[e.name] = e.value;
    } else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      assert.ok(secretKeys(ref.name).includes(ref.key), `${container.name}: ${e.name} reads key ${ref.key} that secret ${ref.name} does not have`);
      out[e.name] = secretPlaceholder(ref.key, env);
    } else if (e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef;
      const value = configMaps.get(ref.name)?.[ref.key];
      assert.ok(value !== undefined, `${container.name}: ${e.name} reads ${ref.name}/${ref.key}, which does not exist`);
      out[e.name] = value;
    } else {
      assert.fail(`${container.name}: unsupported env source for ${e.name}: ${JSON.stringify(e)}`);
    }
  }
  return out;
}

/** What the role needs beyond loadConfig accepting the environment (what cli.ts and the roles check next). */
function assertRoleCanStart(role: string, config: Config, where: string): void {
  switch (role) {
    case 'api':
    case 'worker':
      assert.ok(config.databaseUrl, `${where}: a single role needs DATABASE_URL`);
      assert.ok(config.masterKey, `${where}: the key ring needs NIMBUSPAY_MASTER_KEY`);
      if (config.processor === 'stripe') {
        assert.ok(config.stripeSecretKey && config.stripeWebhookSecrets.length > 0, `${where}: Stripe needs its secret key and webhook secrets`);
      } else if (role === 'api') {
        assert.ok(config.processorNotificationSecret, `${where}: the api verifies the sandbox's notifications with PROCESSOR_NOTIFICATION_SECRET`);
      }
      break;
    case 'sandbox-processor':
      assert.ok(config.sandboxDatabaseUrl, `${where}: the sandbox keeps its state at SANDBOX_DATABASE_URL`);
      assert.ok(config.processorNotificationSecret, `${where}: the sandbox signs its notifications with PROCESSOR_NOTIFICATION_SECRET`);
      break;
  }
}

describe('deploy: every overlay gives each container a configuration the real loader accepts', () => {
  const known = cliCommands();
  const dockerfile = readFileSync(path.join(root, 'deploy/Dockerfile'), 'utf8');

  it('the image hands container args to the nimbuspay CLI', () => {
    assert.match(dockerfile, /^ENTRYPOINT \["node", "dist\/main\/cli\.js"\]$/m);
    for (const role of ROLES) assert.ok(known.has(role), `src/main/cli.ts no longer knows \`${role}\``);
  });

  for (const env of ENVIRONMENTS) {
    it(`${env}: api, worker, migrate${env === 'production' ? '' : ' and the sandbox'} start with the rendered environment`, () => {
      const objects = render(env);
      const workloads = objects.filter((o) => o.kind === 'Deployment' || o.kind === 'Job');
      const names = workloads.map((w) => `${w.kind}/${w.metadata.name}`).sort();
      const expected = ['Deployment/nimbuspay-api', 'Deployment/nimbuspay-worker', 'Job/nimbuspay-migrate'];
      if (env !== 'production') expected.push('Deployment/nimbuspay-sandbox-processor');
      assert.deepEqual(names, expected.sort());

      const roles: Record<string, Config> = {};
      for (const workload of workloads) {
        const containers = workload.spec.template.spec.containers as Container[];
        assert.equal(containers.length, 1, `${workload.metadata.name}: one container`);
        const container = containers[0]!;
        const where = `${env} ${workload.kind}/${workload.metadata.name}`;
        assert.equal(container.command, undefined, `${where}: no command override (the image's entrypoint is the CLI)`);
        assert.equal(container.args?.length, 1, `${where}: runs one role`);
        const role = container.args[0]!;
        assert.ok((ROLES as readonly string[]).includes(role) && known.has(role), `${where}: \`nimbuspay ${role}\` is not a role the CLI knows`);

        const environment = containerEnv(objects, container, env);
        if (role === 'migrate') {
          // `nimbuspay migrate` reads only its own settings (loadMigrationConfig), as the CLI does.
          let migration: MigrationConfig;
          try {
            migration = loadMigrationConfig(environment);
          } catch (err) {
            assert.fail(`${where} (migrate): the migration config loader refuses its environment:\n${(err as Error).message}`);
          }
          assert.equal(migration.env, env, `${where}: NIMBUSPAY_ENV`);
          // Migrations run as the table owner, never as the application role.
          assert.match(migration.migrationDatabaseUrl, /nimbuspay_owner/, `${env}: migrate uses the owner's URL`);
          for (const name of ['NIMBUSPAY_MASTER_KEY', 'NIMBUSPAY_ADMIN_CLIENT_SECRET', 'STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRETS', 'STAFF_OIDC_CLIENT_SECRET']) {
            assert.equal(environment[name], undefined, `${where}: the migrations Job gets no ${name}`);
          }
          continue;
        }
        let config: Config;
        try {
          config = loadConfig(environment);
        } catch (err) {
          assert.fail(`${where} (${role}): the config loader refuses its environment:\n${(err as Error).message}`);
        }
        assert.equal(config.env, env, `${where}: NIMBUSPAY_ENV`);
        assertRoleCanStart(role, config, where);
        roles[role] = config;
      }

      if (env === 'production') {
        for (const role of ['api', 'worker']) assert.equal(roles[role]!.processor, 'stripe', `production ${role}: processor`);
        assert.equal(roles.api!.processorNotificationSecret, undefined, 'production needs no sandbox notification secret');
      } else {
        for (const role of ['api', 'worker', 'sandbox-processor']) assert.equal(roles[role]!.processor, 'sandbox', `${env} ${role}: processor`);
        assert.equal(roles.api!.sandboxProcessorUrl, 'http://nimbuspay-sandbox-processor:3100');
        assert.equal(roles.worker!.sandboxProcessorUrl, 'http://nimbuspay-sandbox-processor:3100');
        assert.equal(roles.api!.sandboxDatabaseUrl, undefined, `${env}: the api never gets the sandbox's database`);
        assert.equal(roles.worker!.sandboxDatabaseUrl, undefined, `${env}: the worker never gets the sandbox's database`);
      }
    });
  }
});
