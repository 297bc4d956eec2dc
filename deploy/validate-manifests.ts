/**
 * Validates rendered overlays (called by deploy/validate.sh):
 *
 *   npx tsx deploy/validate-manifests.ts ENV=RENDERED.yaml [ENV=RENDERED.yaml ...]
 *
 * For each: every object against its OpenAPI/CRD schema (deploy/manifest-schemas.ts), the cross-object checks
 * (deploy/manifest-checks.ts) with the overlay's aws.env, and the aws.env contract itself. Prints one ok/FAIL line
 * per environment and per finding; exits 1 on any finding.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { schemaFindings, schemaNotes, type Finding, type K8sObject } from './manifest-schemas.js';
import { crossObjectFindings, parseAwsEnv, type AwsValues } from './manifest-checks.js';

const repoRoot = path.resolve(import.meta.dirname, '..');

export function parseRendered(text: string): K8sObject[] {
  return parseAllDocuments(text).map((d) => {
    if (d.errors.length) throw new Error(d.errors.map((e) => e.message).join('; '));
    return d.toJS() as K8sObject | null;
  }).filter((o): o is K8sObject => o !== null);
}

/** aws.env of an overlay, with the shape of each value checked against the environment it belongs to. */
export function readAwsEnv(env: string): { values: AwsValues; findings: Finding[] } {
  const file = path.join('deploy/k8s/overlays', env, 'aws.env');
  const { values, findings } = parseAwsEnv(readFileSync(path.join(repoRoot, file), 'utf8'), file);
  const a = values.AWS_ACCOUNT_ID ?? '';
  const r = values.AWS_REGION ?? '';
  const expect: Record<string, RegExp> = {
    AWS_REGION: /^[a-z]{2}(-[a-z]+)+-\d$/,
    AWS_ACCOUNT_ID: /^\d{12}$/,
    IMAGE_REPOSITORY: new RegExp(`^${a}\\.dkr\\.ecr\\.${r}\\.amazonaws\\.com/nimbuspay$`),
    EXTERNAL_SECRETS_ROLE_ARN: new RegExp(`^arn:aws:iam::${a}:role/nimbuspay-${env}-external-secrets$`),
    FLUENT_BIT_ROLE_ARN: new RegExp(`^arn:aws:iam::${a}:role/nimbuspay-${env}-fluent-bit$`),
    LOG_GROUP_NAME: new RegExp(`^/nimbuspay/${env}/application$`),
    API_HOST: /^[a-z0-9.-]+\.[a-z]{2,}$/,
  };
  for (const [key, re] of Object.entries(expect)) {
    if (!re.test(values[key] ?? '')) findings.push({ where: file, message: `${key}=${values[key]} does not match ${re}` });
  }
  return { values, findings };
}

export async function validateOverlay(env: string, objects: K8sObject[], aws: AwsValues): Promise<Finding[]> {
  return [...(await schemaFindings(objects)), ...crossObjectFindings(env, objects, aws)];
}

async function main(args: string[]): Promise<number> {
  if (args.length === 0) {
    console.error('usage: validate-manifests.ts ENV=RENDERED.yaml ...');
    return 2;
  }
  let failed = 0;
  for (const note of schemaNotes()) console.log(`note: ${note}`);
  for (const arg of args) {
    const [env, file] = arg.split('=') as [string, string];
    const objects = parseRendered(readFileSync(file, 'utf8'));
    const aws = readAwsEnv(env);
    const findings = [...aws.findings, ...(await validateOverlay(env, objects, aws.values))];
    for (const f of findings) console.log(`FAIL: [${env}] ${f.where}: ${f.message}`);
    if (findings.length === 0) console.log(`ok: [${env}] ${objects.length} objects valid against their schemas; references, selectors, ALB annotations, image pins, aws.env values and sync waves consistent`);
    failed += findings.length;
  }
  return failed ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
}
