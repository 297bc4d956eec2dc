/**
 * The disaster-recovery backup vault in another region (production: us-west-2). The database stack's backup
 * plan copies into it by ARN (account + fixed name), so no cross-region reference ties the two stacks.
 */
import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/environments.js';

export interface DrVaultStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  readonly vaultName: string;
}

export class DrVaultStack extends Stack {
  constructor(scope: Construct, id: string, props: DrVaultStackProps) {
    super(scope, id, props);
    const key = new kms.Key(this, 'Key', {
      alias: `alias/nimbuspay-${props.config.name}/dr-backups`,
      description: 'Cross-region copies of NimbusPay database backups',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    new backup.BackupVault(this, 'Vault', {
      backupVaultName: props.vaultName,
      encryptionKey: key,
      removalPolicy: RemovalPolicy.RETAIN,
      // Governance-mode lock: copies cannot be deleted early by anyone without the bypass permission, which
      // protects the last restorable copy from a compromised deploy role.
      lockConfiguration: { minRetention: Duration.days(7) },
    });
  }
}
