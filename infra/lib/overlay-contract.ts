/**
 * The overlay values contract: deploy/k8s/overlays/<env>/aws.env holds these keys in this order. Each key is
 * a CfnOutput of the platform stack (logical id = `outputId`), so `cdk deploy --outputs-file` carries every
 * value and infra/bin/overlay-values.ts only has to reorder them.
 */
import type { EnvironmentConfig, EnvironmentName } from '../config/environments.js';
import { applicationLogGroupName, imageRepositoryUri, irsaBindings, roleArn, stackNames } from '../config/names.js';

export const OVERLAY_KEYS = [
  { key: 'AWS_REGION', outputId: 'AwsRegion' },
  { key: 'AWS_ACCOUNT_ID', outputId: 'AwsAccountId' },
  { key: 'IMAGE_REPOSITORY', outputId: 'ImageRepository' },
  { key: 'CERTIFICATE_ARN', outputId: 'CertificateArn' },
  { key: 'WAF_ACL_ARN', outputId: 'WafAclArn' },
  { key: 'EXTERNAL_SECRETS_ROLE_ARN', outputId: 'ExternalSecretsRoleArn' },
  { key: 'FLUENT_BIT_ROLE_ARN', outputId: 'FluentBitRoleArn' },
  { key: 'LOG_GROUP_NAME', outputId: 'LogGroupName' },
  { key: 'API_HOST', outputId: 'ApiHost' },
] as const;

export type OverlayKey = (typeof OVERLAY_KEYS)[number]['key'];

/** AWS generates these ids at deploy time; everything else follows from the config. */
export const GENERATED_KEYS: readonly OverlayKey[] = ['CERTIFICATE_ARN', 'WAF_ACL_ARN'];

export function deterministicOverlayValues(config: EnvironmentConfig): Record<Exclude<OverlayKey, 'CERTIFICATE_ARN' | 'WAF_ACL_ARN'>, string> {
  const roles = irsaBindings(config.name);
  return {
    AWS_REGION: config.region,
    AWS_ACCOUNT_ID: config.account,
    IMAGE_REPOSITORY: imageRepositoryUri(config),
    EXTERNAL_SECRETS_ROLE_ARN: roleArn(config, roles.externalSecrets.roleName),
    FLUENT_BIT_ROLE_ARN: roleArn(config, roles.fluentBit.roleName),
    LOG_GROUP_NAME: applicationLogGroupName(config.name),
    API_HOST: config.dns.apiHost,
  };
}

/** Placeholders in the shape AWS uses, until a deployer regenerates aws.env from real stack outputs. */
export function exampleGeneratedValues(config: EnvironmentConfig): Record<'CERTIFICATE_ARN' | 'WAF_ACL_ARN', string> {
  const zeroId = '00000000-0000-4000-8000-000000000000';
  return {
    CERTIFICATE_ARN: `arn:aws:acm:${config.region}:${config.account}:certificate/${zeroId}`,
    WAF_ACL_ARN: `arn:aws:wafv2:${config.region}:${config.account}:regional/webacl/nimbuspay-${config.name}/${zeroId}`,
  };
}

export function renderAwsEnv(env: EnvironmentName, values: Record<OverlayKey, string>): string {
  const header = [
    `# AWS values of the ${env} environment, fed into the manifests by this overlay's kustomization.yaml`,
    '# (replacements). GENERATED: infra/bin/overlay-values.ts regenerates this file from the CDK stack outputs',
    "# (`cdk deploy --outputs-file`); keep the keys in this order. As committed it holds the example account's",
    '# values, and CERTIFICATE_ARN / WAF_ACL_ARN are example ids (AWS generates them) until a deployer regenerates it.',
  ];
  return [...header, ...OVERLAY_KEYS.map(({ key }) => `${key}=${values[key]}`)].join('\n') + '\n';
}

/**
 * The overlay values from a `cdk deploy --outputs-file` JSON. Values that follow from the config must equal
 * it: a mismatch means the outputs come from another account or an edited config, and aws.env would point
 * the cluster at resources that are not this environment's.
 */
export function overlayValuesFromOutputs(config: EnvironmentConfig, outputs: unknown): Record<OverlayKey, string> {
  const stack = stackNames(config.name).platform;
  const stackOutputs = (outputs as Record<string, Record<string, unknown> | undefined> | null)?.[stack];
  if (!stackOutputs) throw new Error(`the outputs file has no stack ${stack} (deploy it with --outputs-file)`);
  const values = {} as Record<OverlayKey, string>;
  for (const { key, outputId } of OVERLAY_KEYS) {
    const value = stackOutputs[outputId];
    if (typeof value !== 'string' || value === '') throw new Error(`${stack} has no output ${outputId} (for ${key})`);
    values[key] = value;
  }
  const expected: Record<string, string> = deterministicOverlayValues(config);
  for (const [key, value] of Object.entries(expected)) {
    if (values[key as OverlayKey] !== value) {
      throw new Error(`${key} is ${values[key as OverlayKey]} in the outputs but ${value} by infra/config/environments.ts`);
    }
  }
  return values;
}

export function overlayValuesFromConfig(config: EnvironmentConfig): Record<OverlayKey, string> {
  return { ...deterministicOverlayValues(config), ...exampleGeneratedValues(config) };
}

export function parseAwsEnv(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`not a KEY=value line: ${raw}`);
    out.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return out;
}
