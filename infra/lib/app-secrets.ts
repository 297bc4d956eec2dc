/**
 * The Secrets Manager entries the ExternalSecrets in deploy/k8s read (names and properties: config/names.ts),
 * under a customer-managed key so reading one takes both secretsmanager:GetSecretValue and kms:Decrypt.
 *
 * CloudFormation can generate one value per secret, so it generates the one nobody should ever see or type:
 * NIMBUSPAY_MASTER_KEY. The other properties are written once by the deployer (infra/README.md, "Secrets"):
 * DATABASE_URL needs the nimbuspay_api login role that exists only after the first migration, the Stripe keys
 * come from Stripe, the rest from `aws secretsmanager get-random-password`. Values put with
 * put-secret-value stay: CloudFormation rewrites a secret only when its generate settings below change, so
 * they must not change after the first deploy.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/environments.js';
import { appSecretSpecs, prefix, type AppSecretSpec } from '../config/names.js';

/**
 * 43 characters of [A-Za-z0-9] are valid base64 and decode (as Node's Buffer does) to exactly 32 bytes with
 * ~254 bits of entropy: the 32-byte key the app requires (src/platform/config.ts).
 */
const MASTER_KEY_GENERATION: secretsmanager.SecretStringGenerator = {
  secretStringTemplate: '{}',
  generateStringKey: 'NIMBUSPAY_MASTER_KEY',
  passwordLength: 43,
  excludePunctuation: true,
  includeSpace: false,
  requireEachIncludedType: true,
};

export interface AppSecretsProps {
  readonly config: EnvironmentConfig;
}

export class AppSecrets extends Construct {
  readonly key: kms.Key;
  readonly secrets: { spec: AppSecretSpec; secret: secretsmanager.Secret }[];

  constructor(scope: Construct, id: string, props: AppSecretsProps) {
    super(scope, id);
    const { config } = props;
    this.key = new kms.Key(this, 'Key', {
      alias: `alias/${prefix(config.name)}/app-secrets`,
      description: `Secrets Manager entries nimbuspay/${config.name}/*`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.secrets = appSecretSpecs(config).map((spec) => {
      const isApp = spec.name.endsWith('/app');
      const secret = new secretsmanager.Secret(this, spec.name.split('/').pop() ?? spec.name, {
        secretName: spec.name,
        description: `NimbusPay ${config.name}: JSON with ${spec.properties.join(', ')}`,
        encryptionKey: this.key,
        ...(isApp ? { generateSecretString: MASTER_KEY_GENERATION } : { secretObjectValue: {} }),
        // The master key encrypts the signing keys stored in the database: losing it loses every signing key.
        removalPolicy: RemovalPolicy.RETAIN,
      });
      return { spec, secret };
    });
  }
}
