/**
 * The overlay values contract: deploy/k8s/overlays/<env>/aws.env holds these keys in this order. Each key is
 * a CfnOutput of the platform stack (logical id = `outputId`), so `cdk deploy --outputs-file` carries every
 * value and infra/bin/overlay-values.ts only has to reorder them.
 */
import type { EnvironmentConfig } from '../config/environments.js';
import { applicationLogGroupName, imageRepositoryUri, irsaBindings, roleArn } from '../config/names.js';

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
  const zeroId = '00000000-0000-0000-0000-000000000000';
  return {
    CERTIFICATE_ARN: `arn:aws:acm:${config.region}:${config.account}:certificate/${zeroId}`,
    WAF_ACL_ARN: `arn:aws:wafv2:${config.region}:${config.account}:regional/webacl/nimbuspay-${config.name}/${zeroId}`,
  };
}

export function renderAwsEnv(values: Record<OverlayKey, string>): string {
  return OVERLAY_KEYS.map(({ key }) => `${key}=${values[key]}`).join('\n') + '\n';
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
