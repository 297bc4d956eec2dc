/**
 * One environment's stack set. bin/app.ts calls this for every environment; tests call it for one.
 */
import { Tags, type App } from 'aws-cdk-lib';
import type { EnvironmentConfig } from '../config/environments.js';
import { stackNames } from '../config/names.js';
import { DatabaseStack } from './database-stack.js';
import { DrVaultStack } from './dr-vault-stack.js';
import { NetworkStack } from './network-stack.js';
import { PlatformStack } from './platform-stack.js';

export interface EnvironmentStacks {
  network: NetworkStack;
  platform: PlatformStack;
  database: DatabaseStack;
  disasterRecovery: DrVaultStack | null;
}

export function buildEnvironment(app: App, config: EnvironmentConfig): EnvironmentStacks {
  const names = stackNames(config.name);
  const env = { account: config.account, region: config.region };
  // Stacks holding data refuse `cdk destroy` in staging and production.
  const terminationProtection = config.database.deletionProtection;

  const network = new NetworkStack(app, names.network, { env, config, terminationProtection, description: `NimbusPay ${config.name}: VPC` });
  const platform = new PlatformStack(app, names.platform, {
    env, config, vpc: network.vpc, terminationProtection,
    description: `NimbusPay ${config.name}: EKS, IRSA roles, secrets, ECR, logs, certificate, WAF`,
  });
  const database = new DatabaseStack(app, names.database, {
    env, config, vpc: network.vpc, clientSecurityGroupId: platform.eks.clusterSecurityGroupId, terminationProtection,
    description: `NimbusPay ${config.name}: RDS PostgreSQL, backups, alarms`,
  });

  let disasterRecovery: DrVaultStack | null = null;
  const copy = config.database.crossRegionCopy;
  if (copy) {
    disasterRecovery = new DrVaultStack(app, names.disasterRecovery, {
      env: { account: config.account, region: copy.region }, config, vaultName: copy.vaultName, terminationProtection: true,
      description: `NimbusPay ${config.name}: backup vault in ${copy.region}`,
    });
    // The copy action fails while the vault does not exist yet.
    database.addStackDependency(disasterRecovery);
  }

  for (const stack of [network, platform, database, disasterRecovery]) {
    if (!stack) continue;
    Tags.of(stack).add('project', 'nimbuspay');
    Tags.of(stack).add('environment', config.name);
  }
  return { network, platform, database, disasterRecovery };
}
