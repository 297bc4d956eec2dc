import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Finding, K8sObject } from '../../deploy/manifest-schemas.js';
import { AWS_ENV_KEYS, parseAwsEnv } from '../../deploy/manifest-checks.js';
import { parseRendered, readAwsEnv, validateOverlay } from '../../deploy/validate-manifests.js';

// deploy/validate-manifests.ts must pass every real overlay and report each kind of broken manifest: a validator
// that never fails proves nothing, so each check here is fed an object broken in exactly one way.

const root = path.resolve(import.meta.dirname, '../..');
const ENVIRONMENTS = ['development', 'staging', 'production'] as const;
type Env = (typeof ENVIRONMENTS)[number];

function render(env: Env): K8sObject[] {
  const res = spawnSync('kubectl', ['kustomize', `deploy/k8s/overlays/${env}`], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  assert.ifError(res.error);
  assert.equal(res.status, 0, `kubectl kustomize ${env} failed:\n${res.stderr}`);
  return parseRendered(res.stdout);
}

// Rendered YAML, mutated in place to break one thing at a time.
type Any = any;
const rendered = new Map<Env, K8sObject[]>();
const copy = (env: Env): Any[] => structuredClone(rendered.get(env)!);
const get = (objects: Any[], kind: string, name: string): Any => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind}/${name} is in the rendered overlay`);
  return o;
};
const byPrefix = (objects: Any[], kind: string, prefix: string): Any => objects.find((x) => x.kind === kind && x.metadata.name.startsWith(prefix));

async function findings(env: Env, objects: Any[]): Promise<Finding[]> {
  return validateOverlay(env, objects, readAwsEnv(env).values);
}

async function assertReported(env: Env, objects: Any[], where: string, message: RegExp): Promise<void> {
  const found = await findings(env, objects);
  assert.ok(found.some((f) => f.where === where && message.test(f.message)),
    `expected a finding on ${where} matching ${message}; got:\n${found.map((f) => `${f.where}: ${f.message}`).join('\n') || '(none)'}`);
}

describe('deploy/validate-manifests.ts', () => {
  before(() => {
    for (const env of ENVIRONMENTS) rendered.set(env, render(env));
  });

  for (const env of ENVIRONMENTS) {
    it(`${env}: the committed overlay and its aws.env pass`, async () => {
      const aws = readAwsEnv(env);
      assert.deepEqual(aws.findings, []);
      assert.deepEqual(await findings(env, copy(env)), []);
    });
  }

  it('reports an invalid quantity', async () => {
    const objects = copy('production');
    get(objects, 'Deployment', 'nimbuspay-api').spec.template.spec.containers[0].resources.limits.cpu = '1 core';
    await assertReported('production', objects, 'Deployment/nimbuspay-api', /limits\/cpu must match format "quantity"/);
  });

  it('reports a misspelled field, however deep', async () => {
    const objects = copy('production');
    const c = get(objects, 'Deployment', 'nimbuspay-worker').spec.template.spec.containers[0];
    c.imagePullPolcy = c.imagePullPolicy;
    await assertReported('production', objects, 'Deployment/nimbuspay-worker', /'"imagePullPolcy"' does not exist in type 'IContainer'/);
    const es = copy('production');
    get(es, 'ExternalSecret', 'nimbuspay-app').spec.data[0].remoteRef.propertty = 'x';
    await assertReported('production', es, 'ExternalSecret/nimbuspay-app', /'"propertty"' does not exist/);
  });

  it('reports a kind without a schema instead of skipping it', async () => {
    const objects = copy('staging');
    objects.push({ apiVersion: 'example.com/v1', kind: 'Frobnicator', metadata: { name: 'x', namespace: 'nimbuspay-staging' } });
    await assertReported('staging', objects, 'Frobnicator/x', /no schema for example\.com\/v1 Frobnicator/);
  });

  it('reports a dangling HPA target', async () => {
    const objects = copy('staging');
    get(objects, 'HorizontalPodAutoscaler', 'nimbuspay-api').spec.scaleTargetRef.name = 'nimbuspay-apii';
    await assertReported('staging', objects, 'HorizontalPodAutoscaler/nimbuspay-api', /scaleTargetRef apps\/v1 Deployment\/nimbuspay-apii does not exist/);
  });

  it('reports a Service port that no selected container has, and an Ingress backend port the Service lacks', async () => {
    const objects = copy('production');
    get(objects, 'Service', 'nimbuspay-api').spec.ports[0].targetPort = 3001;
    await assertReported('production', objects, 'Service/nimbuspay-api', /targetPort 3001 is not a container port of Deployment\/nimbuspay-api/);
    const ing = copy('production');
    get(ing, 'Ingress', 'nimbuspay-api').spec.rules[0].http.paths[0].backend.service.port = { name: 'https' };
    await assertReported('production', ing, 'Ingress/nimbuspay-api', /backend Service nimbuspay-api has no port https/);
  });

  it('reports selectors that select no pod', async () => {
    const objects = copy('production');
    get(objects, 'PodDisruptionBudget', 'nimbuspay-worker').spec.selector.matchLabels['app.kubernetes.io/component'] = 'workers';
    get(objects, 'NetworkPolicy', 'nimbuspay-api-ingress').spec.podSelector.matchLabels['app.kubernetes.io/name'] = 'nimbus';
    await assertReported('production', objects, 'PodDisruptionBudget/nimbuspay-worker', /selector matches no pod template/);
    await assertReported('production', objects, 'NetworkPolicy/nimbuspay-api-ingress', /podSelector matches no pod template/);
  });

  it('reports a ConfigMap or Secret that nothing provides', async () => {
    const objects = copy('staging');
    const c = get(objects, 'Deployment', 'nimbuspay-sandbox-processor').spec.template.spec.containers[0];
    c.env.find((e: Any) => e.name === 'SANDBOX_DATABASE_URL').valueFrom.secretKeyRef.key = 'SANDBOX_DB_URL';
    get(objects, 'Deployment', 'nimbuspay-worker').spec.template.spec.containers[0].envFrom[0].configMapRef.name = 'nimbuspay-config';
    await assertReported('staging', objects, 'Deployment/nimbuspay-sandbox-processor', /Secret nimbuspay-sandbox gets no key SANDBOX_DB_URL/);
    await assertReported('staging', objects, 'Deployment/nimbuspay-worker', /ConfigMap nimbuspay-config does not exist/);
  });

  it('reports a production or staging image without a digest, not a development one', async () => {
    for (const env of ['production', 'staging'] as const) {
      const objects = copy(env);
      const c = get(objects, 'Job', 'nimbuspay-migrate').spec.template.spec.containers[0];
      c.image = c.image.replace(/@sha256:.*$/, ':0.1.0');
      await assertReported(env, objects, 'Job/nimbuspay-migrate', /not pinned by digest/);
      const fb = get(objects, 'DaemonSet', 'fluent-bit').spec.template.spec.containers[0];
      fb.image = 'public.ecr.aws/aws-observability/aws-for-fluent-bit:stable';
      await assertReported(env, objects, 'DaemonSet/fluent-bit', /not pinned by digest/);
    }
    assert.ok(!(await findings('development', copy('development'))).some((f) => /digest/.test(f.message)));
  });

  it('reports ALB annotations with wrong keys or values', async () => {
    const objects = copy('production');
    const ann = get(objects, 'Ingress', 'nimbuspay-api').metadata.annotations;
    ann['alb.ingress.kubernetes.io/certificate-arn'] = 'arn:aws:iam::333333333333:server-certificate/api';
    ann['alb.ingress.kubernetes.io/wafv2-acl-arn'] = 'arn:aws:waf-regional:us-east-1:333333333333:webacl/abc';
    ann['alb.ingress.kubernetes.io/target-type'] = 'instance';
    ann['alb.ingress.kubernetes.io/listen-ports'] = '[{"HTTPS": "443"}]';
    ann['alb.ingress.kubernetes.io/sheme'] = 'internal';
    const where = 'Ingress/nimbuspay-api';
    const found = (await findings('production', objects)).filter((f) => f.where === where).map((f) => f.message);
    for (const re of [/certificate-arn .* is not an ACM certificate ARN/, /wafv2-acl-arn .* is not a regional WAFv2 web ACL ARN/,
      /target-type instance: must be ip/, /listen-ports .* is not a JSON list/, /unknown annotation alb\.ingress\.kubernetes\.io\/sheme/]) {
      assert.ok(found.some((m) => re.test(m)), `expected ${re} among:\n${found.join('\n')}`);
    }
    const otherAccount = copy('production');
    get(otherAccount, 'Ingress', 'nimbuspay-api').metadata.annotations['alb.ingress.kubernetes.io/certificate-arn'] =
      'arn:aws:acm:us-east-1:111111111111:certificate/00000000-0000-4000-8000-000000000000';
    await assertReported('production', otherAccount, where, /is not in us-east-1\/333333333333/);
  });

  it('reports a placeholder or an environment value that is not the overlay\'s', async () => {
    const objects = copy('staging');
    get(objects, 'SecretStore', 'aws-secrets-manager').spec.provider.aws.region = 'from-overlay-AWS_REGION';
    await assertReported('staging', objects, 'SecretStore/aws-secrets-manager', /placeholder left unreplaced/);
    const wrong = copy('staging');
    get(wrong, 'ServiceAccount', 'fluent-bit').metadata.annotations['eks.amazonaws.com/role-arn'] = 'arn:aws:iam::333333333333:role/nimbuspay-production-fluent-bit';
    await assertReported('staging', wrong, 'ServiceAccount/fluent-bit', /fluent-bit role is .*, aws.env says arn:aws:iam::222222222222:role\/nimbuspay-staging-fluent-bit/);
  });

  it('reports a migrate Job that could run before its config or after the workloads', async () => {
    const presync = copy('production');
    get(presync, 'Job', 'nimbuspay-migrate').metadata.annotations['argocd.argoproj.io/hook'] = 'PreSync';
    await assertReported('production', presync, 'Job/nimbuspay-migrate', /hook is PreSync, must be Sync/);
    const lateConfig = copy('production');
    delete byPrefix(lateConfig, 'ConfigMap', 'nimbuspay-config-').metadata.annotations['argocd.argoproj.io/sync-wave'];
    get(lateConfig, 'ExternalSecret', 'nimbuspay-migrate').metadata.annotations['argocd.argoproj.io/sync-wave'] = '-1';
    const found = (await findings('production', lateConfig)).map((f) => f.message);
    assert.ok(found.some((m) => /ConfigMap\/nimbuspay-config-\w+ \(wave 0\) is read by the migrate Job \(wave -1\)/.test(m)), found.join('\n'));
    assert.ok(found.some((m) => /ExternalSecret\/nimbuspay-migrate \(wave -1\) is read by the migrate Job/.test(m)), found.join('\n'));
    const earlyWorkload = copy('production');
    get(earlyWorkload, 'Deployment', 'nimbuspay-worker').metadata.annotations = { 'argocd.argoproj.io/sync-wave': '-1' };
    await assertReported('production', earlyWorkload, 'Job/nimbuspay-migrate', /Deployment\/nimbuspay-worker \(wave -1\) must come after the migrate Job/);
  });

  it('holds aws.env to the contract: every key, in order', () => {
    const good = AWS_ENV_KEYS.map((k) => `${k}=x`).join('\n');
    assert.deepEqual(parseAwsEnv(`# header\n${good}\n`, 'aws.env').findings, []);
    const swapped = [AWS_ENV_KEYS[1], AWS_ENV_KEYS[0], ...AWS_ENV_KEYS.slice(2)].map((k) => `${k}=x`).join('\n');
    assert.match(parseAwsEnv(swapped, 'aws.env').findings[0]?.message ?? '', /in that order/);
    assert.match(parseAwsEnv(`${good}\nVPC_CIDR=10.0.0.0/16`, 'aws.env').findings[0]?.message ?? '', /keys must be exactly/);
  });
});
