/**
 * Cross-object checks on one rendered overlay: what a schema cannot see because it looks at one object at a time.
 * References resolve (HPA target, Service -> pod ports, Ingress -> Service port, ConfigMaps, Secrets through their
 * ExternalSecret, ServiceAccounts, SecretStore), selectors select pods, the ALB annotations are valid, images are
 * pinned, the overlay's aws.env values are the ones applied, and Argo CD applies everything the migrate Job reads
 * before the Job and the Job before the workloads.
 * deploy/check-manifests.py keeps the per-object policy checks (security contexts, probes, per-environment rules).
 */
import { describeObject, type Finding, type K8sObject } from './manifest-schemas.js';

export type AwsValues = Record<string, string>;

/** The overlay values contract: keys of deploy/k8s/overlays/<env>/aws.env, in this order. */
export const AWS_ENV_KEYS = [
  'AWS_REGION', 'AWS_ACCOUNT_ID', 'IMAGE_REPOSITORY', 'CERTIFICATE_ARN', 'WAF_ACL_ARN',
  'EXTERNAL_SECRETS_ROLE_ARN', 'FLUENT_BIT_ROLE_ARN', 'LOG_GROUP_NAME', 'API_HOST',
] as const;

const PLACEHOLDER = 'from-overlay-';
const DIGEST = /@sha256:[0-9a-f]{64}$/;
const WORKLOAD_KINDS = new Set(['Deployment', 'DaemonSet', 'Job', 'StatefulSet']);

// Rendered YAML is untyped here: the schema pass (manifest-schemas.ts) has checked its shape already.
type Obj = K8sObject & { spec?: any; data?: Record<string, string>; subjects?: any[]; roleRef?: any };

interface PodTemplate {
  owner: Obj;
  namespace: string | undefined;
  labels: Record<string, string>;
  spec: any;
}

/** Parses aws.env (KEY=value lines, # comments) and checks the contract: every key, in order, nothing else. */
export function parseAwsEnv(text: string, where: string): { values: AwsValues; findings: Finding[] } {
  const values: AwsValues = {};
  const keys: string[] = [];
  const findings: Finding[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [, key, value] = /^([A-Z0-9_]+)=(.*)$/.exec(line) ?? [];
    if (key === undefined || value === undefined) {
      findings.push({ where, message: `not a KEY=value line: ${line}` });
      continue;
    }
    keys.push(key);
    values[key] = value;
  }
  if (keys.join(',') !== AWS_ENV_KEYS.join(',')) {
    findings.push({ where, message: `keys must be exactly ${AWS_ENV_KEYS.join(', ')} in that order (are ${keys.join(', ')})` });
  }
  return { values, findings };
}

/** Argo CD's sync wave of an object (0 when unannotated). */
export const syncWave = (o: Obj): number => Number(o.metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0);

export function podTemplates(objects: Obj[]): PodTemplate[] {
  return objects.filter((o) => WORKLOAD_KINDS.has(o.kind)).map((o) => ({
    owner: o,
    namespace: o.metadata.namespace,
    labels: o.spec?.template?.metadata?.labels ?? {},
    spec: o.spec?.template?.spec ?? {},
  }));
}

function containersOf(spec: any): any[] {
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
}

/** Kubernetes label selector semantics (matchLabels and matchExpressions). */
export function selects(selector: any, labels: Record<string, string>): boolean {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const ok = e.operator === 'In' ? has && e.values.includes(labels[e.key])
      : e.operator === 'NotIn' ? !has || !e.values.includes(labels[e.key])
        : e.operator === 'Exists' ? has
          : e.operator === 'DoesNotExist' ? !has : false;
    if (!ok) return false;
  }
  return true;
}

function allStrings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => allStrings(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => allStrings(v, out));
  return out;
}

const isCidr = (s: string): boolean => {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(s);
  return !!m && m.slice(1, 5).every((p) => Number(p) <= 255) && Number(m[5]) <= 32;
};

export function crossObjectFindings(env: string, objects: Obj[], aws: AwsValues): Finding[] {
  const findings: Finding[] = [];
  const fail = (o: Obj | string, message: string) => findings.push({ where: typeof o === 'string' ? o : describeObject(o), message });
  const find = (kind: string, name: string, namespace?: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));
  const pods = podTemplates(objects);
  const appNamespace = `nimbuspay-${env}`;

  // ---- placeholders and environment values ----
  for (const o of objects) {
    const left = allStrings(o).filter((s) => s.includes(PLACEHOLDER));
    if (left.length) fail(o, `placeholder left unreplaced (the overlay's replacements.yaml misses it): ${left.join(', ')}`);
  }

  // ---- workloads: images, references ----
  const secretsFromEso = new Map<string, Set<string>>();
  for (const es of objects.filter((o) => o.kind === 'ExternalSecret')) {
    const target = es.spec?.target?.name ?? es.metadata.name;
    secretsFromEso.set(`${es.metadata.namespace}/${target}`, new Set((es.spec?.data ?? []).map((d: any) => d.secretKey)));
  }
  for (const p of pods) {
    const ns = p.namespace;
    const sa = p.spec.serviceAccountName;
    if (sa && !find('ServiceAccount', sa, ns)) fail(p.owner, `serviceAccountName ${sa} does not exist in ${ns}`);
    const configMap = (name: string, key?: string, optional?: boolean) => {
      const cm = find('ConfigMap', name, ns);
      if (!cm) { if (!optional) fail(p.owner, `ConfigMap ${name} does not exist in ${ns}`); return; }
      if (key !== undefined && !(key in (cm.data ?? {})) && !optional) fail(p.owner, `ConfigMap ${name} has no key ${key}`);
    };
    const secret = (name: string, key?: string, optional?: boolean) => {
      const keys = secretsFromEso.get(`${ns}/${name}`);
      if (!keys) { if (!optional) fail(p.owner, `Secret ${name} is not created by any ExternalSecret in ${ns}`); return; }
      if (key !== undefined && !keys.has(key) && !optional) fail(p.owner, `Secret ${name} gets no key ${key} from its ExternalSecret`);
    };
    for (const c of containersOf(p.spec)) {
      if (env !== 'development' && !DIGEST.test(c.image ?? '')) {
        fail(p.owner, `container ${c.name}: image ${c.image} is not pinned by digest (@sha256:...), required in ${env}`);
      }
      for (const from of c.envFrom ?? []) {
        if (from.configMapRef) configMap(from.configMapRef.name, undefined, from.configMapRef.optional);
        if (from.secretRef) secret(from.secretRef.name, undefined, from.secretRef.optional);
      }
      for (const e of c.env ?? []) {
        const cmRef = e.valueFrom?.configMapKeyRef;
        const sRef = e.valueFrom?.secretKeyRef;
        if (cmRef) configMap(cmRef.name, cmRef.key, cmRef.optional);
        if (sRef) secret(sRef.name, sRef.key, sRef.optional);
      }
    }
    for (const v of p.spec.volumes ?? []) {
      if (v.configMap) configMap(v.configMap.name, undefined, v.configMap.optional);
      if (v.secret) secret(v.secret.secretName, undefined, v.secret.optional);
    }
  }
  for (const es of objects.filter((o) => o.kind === 'ExternalSecret')) {
    const ref = es.spec?.secretStoreRef;
    if (!ref || !find(ref.kind ?? 'SecretStore', ref.name, ref.kind === 'ClusterSecretStore' ? undefined : es.metadata.namespace)) {
      fail(es, `secretStoreRef ${ref?.kind}/${ref?.name} does not exist`);
    }
  }
  for (const store of objects.filter((o) => o.kind === 'SecretStore')) {
    const aws = store.spec?.provider?.aws;
    const saName = aws?.auth?.jwt?.serviceAccountRef?.name;
    if (saName && !find('ServiceAccount', saName, store.metadata.namespace)) fail(store, `serviceAccountRef ${saName} does not exist`);
  }
  for (const b of objects.filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding')) {
    if (!find(b.roleRef.kind, b.roleRef.name)) fail(b, `roleRef ${b.roleRef.kind}/${b.roleRef.name} does not exist`);
    for (const s of b.subjects ?? []) {
      if (s.kind === 'ServiceAccount' && !find('ServiceAccount', s.name, s.namespace)) fail(b, `subject ServiceAccount ${s.namespace}/${s.name} does not exist`);
    }
  }

  // ---- selectors ----
  const podsSelectedBy = (selector: any, namespace: string | undefined) =>
    pods.filter((p) => p.namespace === namespace && selects(selector, p.labels));
  for (const hpa of objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
    const ref = hpa.spec?.scaleTargetRef ?? {};
    const target = objects.find((o) => o.kind === ref.kind && o.metadata.name === ref.name
      && o.apiVersion === ref.apiVersion && o.metadata.namespace === hpa.metadata.namespace);
    if (!target) fail(hpa, `scaleTargetRef ${ref.apiVersion} ${ref.kind}/${ref.name} does not exist`);
    else if (target.spec?.replicas !== undefined) fail(hpa, `target ${describeObject(target)} sets replicas, which fights the HPA`);
  }
  for (const svc of objects.filter((o) => o.kind === 'Service')) {
    const selected = podsSelectedBy({ matchLabels: svc.spec?.selector }, svc.metadata.namespace);
    if (selected.length === 0) fail(svc, 'selector matches no pod template');
    for (const port of svc.spec?.ports ?? []) {
      const target = port.targetPort ?? port.port;
      for (const p of selected) {
        const match = containersOf(p.spec).some((c) => (c.ports ?? []).some((cp: any) =>
          (typeof target === 'string' ? cp.name === target : cp.containerPort === target)
          && (cp.protocol ?? 'TCP') === (port.protocol ?? 'TCP')));
        if (!match) fail(svc, `port ${port.name ?? port.port}: targetPort ${target} is not a container port of ${describeObject(p.owner)}`);
      }
    }
  }
  for (const kind of ['PodDisruptionBudget', 'PodMonitor']) {
    for (const o of objects.filter((x) => x.kind === kind)) {
      const selected = podsSelectedBy(o.spec?.selector, o.metadata.namespace);
      if (selected.length === 0) fail(o, 'selector matches no pod template');
      for (const ep of o.spec?.podMetricsEndpoints ?? []) {
        for (const p of selected) {
          if (!containersOf(p.spec).some((c) => (c.ports ?? []).some((cp: any) => cp.name === ep.port))) {
            fail(o, `metrics port ${ep.port} is not a named container port of ${describeObject(p.owner)}`);
          }
        }
      }
    }
  }
  for (const np of objects.filter((o) => o.kind === 'NetworkPolicy')) {
    const sel = np.spec?.podSelector ?? {};
    const empty = !sel.matchLabels && !sel.matchExpressions;
    if (!empty && podsSelectedBy(sel, np.metadata.namespace).length === 0) fail(np, 'podSelector matches no pod template');
    const blocks = [...(np.spec?.ingress ?? []).flatMap((r: any) => r.from ?? []), ...(np.spec?.egress ?? []).flatMap((r: any) => r.to ?? [])]
      .filter((peer: any) => peer.ipBlock);
    for (const { ipBlock } of blocks) {
      for (const cidr of [ipBlock.cidr, ...(ipBlock.except ?? [])]) if (!isCidr(cidr)) fail(np, `ipBlock ${cidr} is not an IPv4 CIDR`);
    }
  }

  // ---- Ingress: backends and ALB annotations ----
  for (const ing of objects.filter((o) => o.kind === 'Ingress')) {
    for (const rule of ing.spec?.rules ?? []) {
      for (const p of rule.http?.paths ?? []) {
        const b = p.backend?.service;
        const svc = b && find('Service', b.name, ing.metadata.namespace);
        if (!svc) { fail(ing, `backend Service ${b?.name} does not exist`); continue; }
        const port = (svc.spec?.ports ?? []).find((sp: any) => (b.port?.name !== undefined ? sp.name === b.port.name : sp.port === b.port?.number));
        if (!port) fail(ing, `backend Service ${b.name} has no port ${b.port?.name ?? b.port?.number}`);
      }
    }
    findings.push(...albAnnotationFindings(ing, aws));
    const host = ing.spec?.rules?.[0]?.host;
    if (host !== aws.API_HOST) fail(ing, `host ${host} is not API_HOST ${aws.API_HOST}`);
  }

  // ---- aws.env values where they belong ----
  const expectValue = (o: Obj | undefined, label: string, actual: unknown, expected: string | undefined) => {
    if (!o) fail(label, 'missing');
    else if (actual !== expected) fail(o, `${label} is ${String(actual)}, aws.env says ${expected}`);
  };
  const store = find('SecretStore', 'aws-secrets-manager', appNamespace);
  expectValue(store, 'SecretStore region', store?.spec?.provider?.aws?.region, aws.AWS_REGION);
  const esSa = find('ServiceAccount', 'nimbuspay-external-secrets', appNamespace);
  expectValue(esSa, 'external-secrets role', esSa?.metadata.annotations?.['eks.amazonaws.com/role-arn'], aws.EXTERNAL_SECRETS_ROLE_ARN);
  const fbSa = find('ServiceAccount', 'fluent-bit', 'amazon-cloudwatch');
  expectValue(fbSa, 'fluent-bit role', fbSa?.metadata.annotations?.['eks.amazonaws.com/role-arn'], aws.FLUENT_BIT_ROLE_ARN);
  const fb = find('DaemonSet', 'fluent-bit', 'amazon-cloudwatch');
  const fbEnv = Object.fromEntries((fb?.spec?.template?.spec?.containers?.[0]?.env ?? []).map((e: any) => [e.name, e.value]));
  expectValue(fb, 'Fluent Bit AWS_REGION', fbEnv.AWS_REGION, aws.AWS_REGION);
  expectValue(fb, 'Fluent Bit LOG_GROUP_NAME', fbEnv.LOG_GROUP_NAME, aws.LOG_GROUP_NAME);
  expectValue(fb, 'Fluent Bit APP_NAMESPACE', fbEnv.APP_NAMESPACE, appNamespace);
  for (const p of pods.filter((x) => x.namespace === appNamespace)) {
    for (const c of containersOf(p.spec)) {
      if (!String(c.image).startsWith(`${aws.IMAGE_REPOSITORY}@`) && !String(c.image).startsWith(`${aws.IMAGE_REPOSITORY}:`)) {
        fail(p.owner, `container ${c.name}: image ${c.image} is not from IMAGE_REPOSITORY ${aws.IMAGE_REPOSITORY}`);
      }
    }
  }
  for (const sa of objects.filter((o) => o.kind === 'ServiceAccount' && o.metadata.namespace === appNamespace
    && o.metadata.name !== 'nimbuspay-external-secrets')) {
    if (sa.metadata.annotations?.['eks.amazonaws.com/role-arn']) fail(sa, 'the app\'s pods get no AWS role (no IRSA annotation)');
  }
  const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('nimbuspay-config-'));
  for (const key of ['NIMBUSPAY_PUBLIC_URL', 'NIMBUSPAY_ISSUER_URL']) {
    expectValue(config, key, config?.data?.[key], `https://${aws.API_HOST}`);
  }

  findings.push(...syncWaveFindings(objects, appNamespace));
  return findings;
}

const ALB = 'alb.ingress.kubernetes.io/';
/** The AWS Load Balancer Controller annotations NimbusPay uses; any other alb.* key is a typo until added here. */
const ALB_KEYS = new Set([
  'scheme', 'target-type', 'listen-ports', 'ssl-redirect', 'certificate-arn', 'ssl-policy', 'backend-protocol',
  'healthcheck-path', 'healthcheck-port', 'healthcheck-interval-seconds', 'healthcheck-timeout-seconds',
  'healthy-threshold-count', 'unhealthy-threshold-count', 'success-codes', 'target-group-attributes',
  'load-balancer-attributes', 'wafv2-acl-arn', 'group.name', 'tags',
]);

export function albAnnotationFindings(ing: Obj, aws: AwsValues): Finding[] {
  const findings: Finding[] = [];
  const fail = (message: string) => findings.push({ where: describeObject(ing), message: `ALB: ${message}` });
  const ann = ing.metadata.annotations ?? {};
  if (ing.spec?.ingressClassName !== 'alb') fail(`ingressClassName is ${ing.spec?.ingressClassName}, not alb`);
  for (const key of Object.keys(ann).filter((k) => k.startsWith(ALB))) {
    if (!ALB_KEYS.has(key.slice(ALB.length))) fail(`unknown annotation ${key}`);
  }
  const get = (k: string) => ann[ALB + k];
  if (!['internet-facing', 'internal'].includes(get('scheme') ?? '')) fail(`scheme ${get('scheme')} is neither internet-facing nor internal`);
  if (get('target-type') !== 'ip') fail(`target-type ${get('target-type')}: must be ip (NetworkPolicies and readiness gates assume pod IPs)`);
  let listeners: Array<Record<string, number>> = [];
  try {
    listeners = JSON.parse(get('listen-ports') ?? '');
    if (!Array.isArray(listeners) || !listeners.every((l) => Object.keys(l).length === 1
      && Object.keys(l).every((k) => ['HTTP', 'HTTPS'].includes(k)) && Number.isInteger(Object.values(l)[0]))) throw new Error('shape');
  } catch {
    fail(`listen-ports ${get('listen-ports')} is not a JSON list like [{"HTTPS": 443}]`);
    listeners = [];
  }
  const httpsPorts = listeners.filter((l) => 'HTTPS' in l).map((l) => l.HTTPS);
  if (httpsPorts.length === 0) fail('no HTTPS listener');
  if (get('ssl-redirect') === undefined || !httpsPorts.includes(Number(get('ssl-redirect')))) {
    fail(`ssl-redirect ${get('ssl-redirect')} is not one of the HTTPS listener ports ${httpsPorts.join(', ')}`);
  }
  const region = aws.AWS_REGION;
  const account = aws.AWS_ACCOUNT_ID;
  const certs = (get('certificate-arn') ?? '').split(',').map((s) => s.trim());
  for (const arn of certs) {
    if (!/^arn:aws:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/.test(arn)) fail(`certificate-arn ${arn} is not an ACM certificate ARN`);
    else if (!arn.startsWith(`arn:aws:acm:${region}:${account}:`)) fail(`certificate-arn ${arn} is not in ${region}/${account} (the ALB's region and account)`);
  }
  const waf = get('wafv2-acl-arn') ?? '';
  if (!/^arn:aws:wafv2:[a-z0-9-]+:\d{12}:regional\/webacl\/[A-Za-z0-9_-]+\/[A-Za-z0-9-]+$/.test(waf)) {
    fail(`wafv2-acl-arn ${waf || '(missing)'} is not a regional WAFv2 web ACL ARN`);
  } else if (!waf.startsWith(`arn:aws:wafv2:${region}:${account}:`)) fail(`wafv2-acl-arn ${waf} is not in ${region}/${account}`);
  return findings;
}

/**
 * Argo CD order: the migrate Job is a Sync-phase hook (a PreSync hook would run before every wave, i.e. before the
 * config it reads), and everything it reads (ConfigMaps, the ExternalSecrets behind its Secrets and their
 * SecretStore and ServiceAccount, its ServiceAccount, the NetworkPolicies admitting its PostgreSQL traffic, the
 * Namespace) has a lower wave; every Deployment a higher one.
 */
export function syncWaveFindings(objects: Obj[], appNamespace: string): Finding[] {
  const findings: Finding[] = [];
  const job = objects.find((o) => o.kind === 'Job' && o.metadata.name === 'nimbuspay-migrate');
  if (!job) return [{ where: 'Job/nimbuspay-migrate', message: 'missing' }];
  const fail = (message: string) => findings.push({ where: describeObject(job), message: `Argo CD order: ${message}` });
  const hook = job.metadata.annotations?.['argocd.argoproj.io/hook'];
  if (hook !== 'Sync') fail(`hook is ${hook ?? '(none)'}, must be Sync (PreSync runs before every wave, so before the config it reads)`);
  const wave = syncWave(job);
  const before = new Map<string, Obj>();
  const add = (o: Obj | undefined) => { if (o) before.set(describeObject(o), o); };
  const byName = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name
    && (kind === 'Namespace' || o.metadata.namespace === job.metadata.namespace));
  const spec = job.spec?.template?.spec ?? {};
  add(byName('Namespace', appNamespace));
  add(byName('ServiceAccount', spec.serviceAccountName ?? 'default'));
  const esFor = (secret: string) => objects.find((o) => o.kind === 'ExternalSecret' && o.metadata.namespace === job.metadata.namespace
    && (o.spec?.target?.name ?? o.metadata.name) === secret);
  const secretNames = new Set<string>();
  for (const c of containersOf(spec)) {
    for (const f of c.envFrom ?? []) {
      if (f.configMapRef) add(byName('ConfigMap', f.configMapRef.name));
      if (f.secretRef) secretNames.add(f.secretRef.name);
    }
    for (const e of c.env ?? []) {
      if (e.valueFrom?.configMapKeyRef) add(byName('ConfigMap', e.valueFrom.configMapKeyRef.name));
      if (e.valueFrom?.secretKeyRef) secretNames.add(e.valueFrom.secretKeyRef.name);
    }
  }
  for (const v of spec.volumes ?? []) {
    if (v.configMap) add(byName('ConfigMap', v.configMap.name));
    if (v.secret) secretNames.add(v.secret.secretName);
  }
  for (const name of secretNames) {
    const es = esFor(name);
    if (!es) { fail(`Secret ${name} comes from no ExternalSecret`); continue; }
    add(es);
    const store = byName(es.spec?.secretStoreRef?.kind ?? 'SecretStore', es.spec?.secretStoreRef?.name);
    add(store);
    const sa = store?.spec?.provider?.aws?.auth?.jwt?.serviceAccountRef?.name;
    if (sa) add(byName('ServiceAccount', sa));
    if (store && syncWave(store) >= syncWave(es)) fail(`${describeObject(store)} (wave ${syncWave(store)}) must come before ${describeObject(es)} (wave ${syncWave(es)})`);
  }
  const jobLabels = job.spec?.template?.metadata?.labels ?? {};
  for (const np of objects.filter((o) => o.kind === 'NetworkPolicy' && o.metadata.namespace === job.metadata.namespace)) {
    if (selects(np.spec?.podSelector ?? {}, jobLabels)) add(np);
  }
  for (const [name, o] of before) {
    if (syncWave(o) >= wave) fail(`${name} (wave ${syncWave(o)}) is read by the migrate Job (wave ${wave}) and must have a lower wave`);
  }
  for (const d of objects.filter((o) => o.kind === 'Deployment' && o.metadata.namespace === job.metadata.namespace)) {
    if (syncWave(d) <= wave) fail(`${describeObject(d)} (wave ${syncWave(d)}) must come after the migrate Job (wave ${wave})`);
  }
  return findings;
}
