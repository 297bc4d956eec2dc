/**
 * Deterministic names shared by the stacks, the overlay values script and the Kubernetes manifests. A value a
 * manifest in deploy/k8s must match (namespace, ServiceAccount, secret name, role name) is derived here once.
 */
import type { EnvironmentConfig, EnvironmentName } from './environments.js';

export const prefix = (env: EnvironmentName): string => `nimbuspay-${env}`;
export const namespace = (env: EnvironmentName): string => `nimbuspay-${env}`;
export const clusterName = (env: EnvironmentName): string => prefix(env);
export const applicationLogGroupName = (env: EnvironmentName): string => `/nimbuspay/${env}/application`;
/** WAF only delivers to log groups whose name starts with `aws-waf-logs-`. */
export const wafLogGroupName = (env: EnvironmentName): string => `aws-waf-logs-nimbuspay-${env}`;
export const ECR_REPOSITORY_NAME = 'nimbuspay';

/** The ServiceAccounts that get an IAM role, and the role each gets (names fixed by the overlay contract). */
export interface ServiceAccountBinding {
  readonly roleName: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

export function irsaBindings(env: EnvironmentName): {
  externalSecrets: ServiceAccountBinding;
  fluentBit: ServiceAccountBinding;
  loadBalancerController: ServiceAccountBinding;
} {
  return {
    externalSecrets: { roleName: `${prefix(env)}-external-secrets`, namespace: namespace(env), serviceAccount: 'nimbuspay-external-secrets' },
    fluentBit: { roleName: `${prefix(env)}-fluent-bit`, namespace: 'amazon-cloudwatch', serviceAccount: 'fluent-bit' },
    loadBalancerController: { roleName: `${prefix(env)}-aws-load-balancer-controller`, namespace: 'kube-system', serviceAccount: 'aws-load-balancer-controller' },
  };
}

/**
 * Secrets Manager entries the ExternalSecrets in deploy/k8s read, with the JSON properties each must hold.
 * Everything under `nimbuspay/<env>/` is readable by the External Secrets role, so nothing else may live there
 * (the RDS master credentials are deliberately named outside it).
 */
export interface AppSecretSpec {
  readonly name: string;
  readonly properties: readonly string[];
}

export function appSecretSpecs(config: EnvironmentConfig): AppSecretSpec[] {
  const env = config.name;
  const appProperties = ['DATABASE_URL', 'NIMBUSPAY_MASTER_KEY', 'NIMBUSPAY_ADMIN_CLIENT_SECRET'];
  if (config.processor === 'sandbox') appProperties.push('PROCESSOR_NOTIFICATION_SECRET');
  else appProperties.push('STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRETS');
  // Staging and production staff sign in to the support console through the company IdP (deploy/k8s overlays).
  if (env !== 'development') appProperties.push('STAFF_OIDC_CLIENT_SECRET');
  const specs: AppSecretSpec[] = [
    { name: `nimbuspay/${env}/app`, properties: appProperties },
    { name: `nimbuspay/${env}/migrate`, properties: ['MIGRATION_DATABASE_URL'] },
  ];
  if (config.processor === 'sandbox') specs.push({ name: `nimbuspay/${env}/sandbox`, properties: ['SANDBOX_DATABASE_URL'] });
  return specs;
}

export const secretNamePrefix = (env: EnvironmentName): string => `nimbuspay/${env}/`;
export const databaseMasterSecretName = (env: EnvironmentName): string => `${prefix(env)}/rds/master`;

export const roleArn = (config: EnvironmentConfig, roleName: string): string => `arn:aws:iam::${config.account}:role/${roleName}`;
export const imageRepositoryUri = (config: EnvironmentConfig): string =>
  `${config.account}.dkr.ecr.${config.region}.amazonaws.com/${ECR_REPOSITORY_NAME}`;

export const stackNames = (env: EnvironmentName) => ({
  network: `${prefix(env)}-network`,
  platform: `${prefix(env)}-platform`,
  database: `${prefix(env)}-database`,
  disasterRecovery: `${prefix(env)}-dr`,
});
