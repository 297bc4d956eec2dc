/**
 * Every rendered object checked against the Kubernetes OpenAPI schemas (kubernetes-models) and, for custom
 * resources, the CRD schemas (@kubernetes-models/external-secrets, @kubernetes-models/prometheus-operator).
 *
 * Two passes, because neither alone is a full schema check:
 *  - the models' `validate()` (ajv code generated from the OpenAPI/CRD schemas): types, formats (quantities),
 *    required fields, enums. It does NOT reject unknown fields: the OpenAPI documents carry no
 *    `additionalProperties: false`, so `imagePullPolcy: Always` passes it silently.
 *  - the TypeScript interfaces generated from the same schemas, type-checked with each object as a literal: the
 *    compiler's excess-property check reports every field the schema does not have, at any depth (what
 *    `kubectl apply --validate=strict` would refuse).
 * A kind with no schema here is reported, never skipped.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface Finding {
  /** Kind/name of the object, or a file/area */
  where: string;
  message: string;
}

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: object) => Validatable;

interface SchemaEntry {
  /** module whose export `kind` is the model class */
  module: string;
  /** module and interface name for the unknown-field pass */
  typeModule: string;
  typeName: string;
  /** the apiVersion the schema is written for, when it differs from the object's (see EXTERNAL_SECRETS) */
  schemaApiVersion?: string;
}

const repoRoot = path.resolve(import.meta.dirname, '..');

/**
 * External Secrets: the manifests use external-secrets.io/v1 (served by ESO 0.16 and later). The installed
 * @kubernetes-models/external-secrets (0.5.x) only ships v1alpha1/v1beta1; 2.x ships v1. With 0.5.x the objects
 * are checked against the v1beta1 CRD schema, whose ExternalSecret and SecretStore (AWS provider) fields are the
 * ones v1 kept (v1 only dropped deprecated v1beta1 fields), and a note says so.
 */
const ESO = '@kubernetes-models/external-secrets/external-secrets.io';
function externalSecretsVersion(): 'v1' | 'v1beta1' {
  return existsSync(path.join(repoRoot, 'node_modules', ESO, 'v1', 'ExternalSecret.d.ts')) ? 'v1' : 'v1beta1';
}

function core(group: string, kind: string): SchemaEntry {
  return { module: `kubernetes-models/${group}`, typeModule: `kubernetes-models/${group}/${kind}`, typeName: `I${kind}` };
}

function schemaRegistry(): Map<string, SchemaEntry> {
  const eso = externalSecretsVersion();
  const esoEntry = (kind: string): SchemaEntry => ({
    module: `${ESO}/${eso}`,
    typeModule: `${ESO}/${eso}/${kind}`,
    typeName: `I${kind}`,
    ...(eso === 'v1' ? {} : { schemaApiVersion: `external-secrets.io/${eso}` }),
  });
  const prom = (kind: string): SchemaEntry => ({
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
    typeModule: `@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/${kind}`,
    typeName: `I${kind}`,
  });
  return new Map<string, SchemaEntry>([
    ['v1 Namespace', core('v1', 'Namespace')],
    ['v1 ServiceAccount', core('v1', 'ServiceAccount')],
    ['v1 ConfigMap', core('v1', 'ConfigMap')],
    ['v1 Service', core('v1', 'Service')],
    ['apps/v1 Deployment', core('apps/v1', 'Deployment')],
    ['apps/v1 DaemonSet', core('apps/v1', 'DaemonSet')],
    ['batch/v1 Job', core('batch/v1', 'Job')],
    ['autoscaling/v2 HorizontalPodAutoscaler', core('autoscaling/v2', 'HorizontalPodAutoscaler')],
    ['policy/v1 PodDisruptionBudget', core('policy/v1', 'PodDisruptionBudget')],
    ['networking.k8s.io/v1 Ingress', core('networking.k8s.io/v1', 'Ingress')],
    ['networking.k8s.io/v1 NetworkPolicy', core('networking.k8s.io/v1', 'NetworkPolicy')],
    ['rbac.authorization.k8s.io/v1 ClusterRole', core('rbac.authorization.k8s.io/v1', 'ClusterRole')],
    ['rbac.authorization.k8s.io/v1 ClusterRoleBinding', core('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding')],
    ['external-secrets.io/v1 ExternalSecret', esoEntry('ExternalSecret')],
    ['external-secrets.io/v1 SecretStore', esoEntry('SecretStore')],
    ['monitoring.coreos.com/v1 PodMonitor', prom('PodMonitor')],
    ['monitoring.coreos.com/v1 PrometheusRule', prom('PrometheusRule')],
  ]);
}

export const describeObject = (o: Partial<K8sObject>): string => `${o.kind ?? '?'}/${o.metadata?.name ?? '?'}`;

/** What the check could not do in full (printed, not failed): today only the v1beta1 stand-in for ESO v1. */
export function schemaNotes(): string[] {
  return externalSecretsVersion() === 'v1' ? [] : [
    'external-secrets.io/v1 objects are checked against the v1beta1 CRD schema: the installed '
    + '@kubernetes-models/external-secrets has no v1 (version 2.x has it)',
  ];
}

function asSchemaObject(o: K8sObject, entry: SchemaEntry): K8sObject {
  return entry.schemaApiVersion ? { ...o, apiVersion: entry.schemaApiVersion } : o;
}

async function runtimeFindings(objects: K8sObject[], registry: Map<string, SchemaEntry>): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const o of objects) {
    const entry = registry.get(`${o.apiVersion} ${o.kind}`);
    if (!entry) {
      findings.push({ where: describeObject(o), message: `no schema for ${o.apiVersion} ${o.kind}: add one to deploy/manifest-schemas.ts (unknown kinds are never skipped)` });
      continue;
    }
    const mod = (await import(entry.module)) as Record<string, ModelClass | undefined>;
    const Model = mod[o.kind];
    if (!Model) throw new Error(`${entry.module} exports no ${o.kind}`);
    try {
      new Model(asSchemaObject(o, entry)).validate();
    } catch (error) {
      findings.push({ where: describeObject(o), message: `schema: ${(error as Error).message}` });
    }
  }
  return findings;
}

/**
 * Type-checks `const oN: IKind = <object>;` for every object, one per line, in a virtual file inside the repository
 * (so the packages resolve from node_modules), and maps each diagnostic back to its object by line.
 */
function unknownFieldFindings(objects: K8sObject[], registry: Map<string, SchemaEntry>): Finding[] {
  const imports = new Map<string, string>();
  const lines: string[] = [];
  const lineOwner: number[] = [];
  objects.forEach((o, i) => {
    const entry = registry.get(`${o.apiVersion} ${o.kind}`);
    if (!entry) return;
    const alias = `T${imports.size}`;
    const key = `${entry.typeModule}#${entry.typeName}`;
    if (!imports.has(key)) imports.set(key, alias);
    lines.push(`export const o${i}: ${imports.get(key)} = ${JSON.stringify(asSchemaObject(o, entry))};`);
    lineOwner.push(i);
  });
  const header = [...imports].map(([key, alias]) => {
    const [module, name] = key.split('#');
    return `import type { ${name} as ${alias} } from '${module}';`;
  });
  const text = [...header, ...lines].join('\n') + '\n';
  const file = path.join(repoRoot, 'deploy', '__manifest-schema-check__.ts');
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts'],
    types: [],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) =>
    name === file ? ts.createSourceFile(name, text, languageVersion) : getSourceFile(name, languageVersion, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === file || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => (name === file ? text : readFile(name));
  const program = ts.createProgram([file], options, host);
  const source = program.getSourceFile(file);
  if (!source) throw new Error(`the TypeScript program did not load ${file}`); // its host serves that file from memory
  const findings: Finding[] = [];
  for (const d of [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]) {
    const line = d.start === undefined ? -1 : source.getLineAndCharacterOfPosition(d.start).line - header.length;
    const owner = lineOwner[line];
    const object = owner === undefined ? undefined : objects[owner];
    findings.push({
      where: object === undefined ? 'schema type check' : describeObject(object),
      message: `schema (fields): ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`,
    });
  }
  return findings;
}

export async function schemaFindings(objects: K8sObject[]): Promise<Finding[]> {
  const registry = schemaRegistry();
  return [...(await runtimeFindings(objects, registry)), ...unknownFieldFindings(objects, registry)];
}
