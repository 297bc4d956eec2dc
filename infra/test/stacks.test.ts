/**
 * What each environment's synthesized templates must hold: encryption everywhere, the database's network
 * isolation and per-environment durability settings, the WAF rules, log retention and the overlay outputs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ENVIRONMENT_NAMES, type EnvironmentName } from '../config/environments.js';
import { appSecretSpecs, applicationLogGroupName, wafLogGroupName } from '../config/names.js';
import { OVERLAY_KEYS } from '../lib/overlay-contract.js';
import { MANAGED_RULE_GROUPS, NOTIFICATIONS_PATH_PREFIX, TOKEN_PATH } from '../lib/web-acl.js';
import { only, resourcesOf, synthesize, type SynthesizedEnvironment } from './synth.js';

const synthesized = new Map<EnvironmentName, SynthesizedEnvironment>(ENVIRONMENT_NAMES.map((name) => [name, synthesize(name)]));
const expected = {
  development: { nat: 1, multiAz: false, replicas: 0, retention: 1, deletionProtection: false, logDays: 14 },
  staging: { nat: 1, multiAz: false, replicas: 0, retention: 7, deletionProtection: true, logDays: 30 },
  production: { nat: 3, multiAz: true, replicas: 1, retention: 35, deletionProtection: true, logDays: 365 },
} as const;

const primaryOf = (s: SynthesizedEnvironment) => only(resourcesOf(s.database, 'AWS::RDS::DBInstance').filter((r) => !r.props.SourceDBInstanceIdentifier), 'primary DB instance');
const replicasOf = (s: SynthesizedEnvironment) => resourcesOf(s.database, 'AWS::RDS::DBInstance').filter((r) => r.props.SourceDBInstanceIdentifier);
const importName = (value: unknown): string => (value as { 'Fn::ImportValue'?: string })['Fn::ImportValue'] ?? '';

for (const name of ENVIRONMENT_NAMES) {
  const s = synthesized.get(name)!;
  const want = expected[name];

  test(`${name}: synthesizes offline (no context lookups, no Docker assets)`, () => {
    assert.deepEqual(s.missingContext, []);
    assert.deepEqual(s.dockerImageAssets, []);
  });

  describe(`${name}: network`, () => {
    test('three AZs, each with a public, private and isolated subnet', () => {
      const subnets = resourcesOf(s.network, 'AWS::EC2::Subnet');
      assert.equal(subnets.length, 9);
      assert.deepEqual([...new Set(subnets.map((r) => r.props.AvailabilityZone))].sort(), ['us-east-1a', 'us-east-1b', 'us-east-1c']);
      const isolated = subnets.filter((r) => r.id.includes('database'));
      assert.equal(isolated.length, 3);
      for (const subnet of isolated) assert.equal(subnet.props.MapPublicIpOnLaunch, false);
      const routes = resourcesOf(s.network, 'AWS::EC2::Route');
      for (const route of routes) {
        const table = JSON.stringify(route.props.RouteTableId);
        assert.ok(!table.includes('database'), `isolated subnets have no route out (${route.id})`);
      }
    });
    test(`${want.nat} NAT gateway(s) and VPC flow logs`, () => {
      assert.equal(resourcesOf(s.network, 'AWS::EC2::NatGateway').length, want.nat);
      assert.equal(only(resourcesOf(s.network, 'AWS::EC2::VPC'), 'VPC').props.CidrBlock, s.config.network.cidr);
      assert.equal(only(resourcesOf(s.network, 'AWS::EC2::FlowLog'), 'flow log').props.TrafficType, 'ALL');
    });
  });

  describe(`${name}: database`, () => {
    test('encrypted with its KMS key, Performance Insights on, logs exported, IAM auth off', () => {
      const db = primaryOf(s).props;
      assert.equal(db.StorageEncrypted, true);
      assert.ok(db.KmsKeyId, 'storage uses a customer-managed key');
      assert.equal(db.EnablePerformanceInsights, true);
      assert.ok(db.PerformanceInsightsKMSKeyId);
      assert.ok(db.MonitoringInterval > 0, 'enhanced monitoring');
      assert.deepEqual(db.EnableCloudwatchLogsExports, ['postgresql', 'upgrade']);
      assert.equal(db.EnableIAMDatabaseAuthentication, false);
      assert.equal(db.Engine, 'postgres');
      assert.match(db.EngineVersion, /^18/);
      for (const key of resourcesOf(s.database, 'AWS::KMS::Key')) assert.equal(key.props.EnableKeyRotation, true);
    });
    test(`Multi-AZ ${want.multiAz}, ${want.replicas} read replica(s), ${want.retention}-day backups, deletion protection ${want.deletionProtection}`, () => {
      const db = primaryOf(s);
      assert.equal(db.props.MultiAZ, want.multiAz);
      assert.equal(db.props.BackupRetentionPeriod, want.retention);
      assert.equal(db.props.DeletionProtection, want.deletionProtection);
      assert.equal(db.deletionPolicy, 'Snapshot');
      const replicas = replicasOf(s);
      assert.equal(replicas.length, want.replicas);
      for (const replica of replicas) {
        // Encryption is inherited from the source instance (CloudFormation refuses it on a replica).
        assert.ok(JSON.stringify(replica.props.SourceDBInstanceIdentifier).includes(`"Ref":"${db.id}"`));
        assert.equal(replica.props.StorageEncrypted, undefined);
        assert.equal(replica.props.PubliclyAccessible, false);
        assert.equal(replica.props.EnablePerformanceInsights, true);
      }
    });
    test('not public: isolated subnets only, 5432 only from the EKS cluster security group, no egress', () => {
      for (const db of resourcesOf(s.database, 'AWS::RDS::DBInstance')) assert.equal(db.props.PubliclyAccessible, false);
      for (const group of resourcesOf(s.database, 'AWS::RDS::DBSubnetGroup')) {
        assert.equal(group.props.SubnetIds.length, 3);
        for (const subnet of group.props.SubnetIds) assert.match(importName(subnet), /:ExportsOutputRefVpcdatabaseSubnet\d/);
      }
      const sg = only(resourcesOf(s.database, 'AWS::EC2::SecurityGroup'), 'database security group');
      assert.equal(sg.props.SecurityGroupIngress.length, 1);
      const [rule] = sg.props.SecurityGroupIngress;
      assert.equal(rule.FromPort, 5432);
      assert.equal(rule.ToPort, 5432);
      assert.equal(rule.CidrIp, undefined);
      assert.match(importName(rule.SourceSecurityGroupId), new RegExp(`^nimbuspay-${name}-platform:.*ClusterSecurityGroupId`));
      assert.equal(resourcesOf(s.database, 'AWS::EC2::SecurityGroupIngress').length, 0, 'no ingress added elsewhere');
      assert.equal(sg.props.SecurityGroupEgress[0].CidrIp, '255.255.255.255/32', 'egress disallowed');
    });
    test('parameter group forces TLS and bounds idle transactions', () => {
      const params = only(resourcesOf(s.database, 'AWS::RDS::DBParameterGroup'), 'parameter group').props;
      assert.equal(params.Family, 'postgres18');
      assert.equal(params.Parameters['rds.force_ssl'], '1');
      assert.equal(params.Parameters.idle_in_transaction_session_timeout, '60000');
      assert.ok(Number(params.Parameters.log_min_duration_statement) > 0);
    });
    test('master credentials generated into Secrets Manager outside nimbuspay/<env>/, KMS-encrypted', () => {
      const secret = only(resourcesOf(s.database, 'AWS::SecretsManager::Secret'), 'master secret').props;
      assert.equal(secret.Name, `nimbuspay-${name}/rds/master`);
      assert.ok(!secret.Name.startsWith(`nimbuspay/${name}/`));
      assert.ok(secret.KmsKeyId);
      assert.equal(secret.GenerateSecretString.GenerateStringKey, 'password');
    });
    test(name === 'production' ? 'daily backup copied to the us-west-2 vault' : 'no cross-region copy', () => {
      const plans = resourcesOf(s.database, 'AWS::Backup::BackupPlan');
      if (name !== 'production') {
        assert.equal(plans.length, 0);
        assert.equal(s.disasterRecovery, null);
        return;
      }
      const [rule] = only(plans, 'backup plan').props.BackupPlan.BackupPlanRule;
      assert.equal(rule.CopyActions[0].DestinationBackupVaultArn, 'arn:aws:backup:us-west-2:333333333333:backup-vault:nimbuspay-production-dr');
      assert.ok(resourcesOf(s.database, 'AWS::Backup::BackupSelection').length === 1);
      const vault = only(resourcesOf(s.disasterRecovery!, 'AWS::Backup::BackupVault'), 'DR vault');
      assert.equal(vault.props.BackupVaultName, 'nimbuspay-production-dr');
      assert.ok(vault.props.EncryptionKeyArn);
    });
    test('alarms on CPU, storage, memory, connections (and replica lag in production) notify SNS', () => {
      const alarms = resourcesOf(s.database, 'AWS::CloudWatch::Alarm');
      const metrics = alarms.map((a) => a.props.MetricName).sort();
      const wantMetrics = ['CPUUtilization', 'DatabaseConnections', 'FreeStorageSpace', 'FreeableMemory', ...(want.replicas ? ['ReplicaLag'] : [])].sort();
      assert.deepEqual(metrics, wantMetrics);
      for (const alarm of alarms) assert.equal(alarm.props.AlarmActions.length, 1);
      only(resourcesOf(s.database, 'AWS::SNS::Topic'), 'alarm topic');
    });
  });

  describe(`${name}: platform`, () => {
    test('EKS: secrets envelope-encrypted with a rotating KMS key, control-plane logs, private endpoint per config', () => {
      const cluster = only(resourcesOf(s.platform, 'AWS::EKS::Cluster'), 'cluster').props;
      assert.equal(cluster.EncryptionConfig[0].Resources[0], 'secrets');
      assert.ok(cluster.EncryptionConfig[0].Provider.KeyArn);
      assert.equal(cluster.Logging.ClusterLogging.EnabledTypes.length, 5);
      assert.equal(cluster.ResourcesVpcConfig.EndpointPrivateAccess, true);
      assert.equal(cluster.AccessConfig.AuthenticationMode, 'API');
      assert.equal(cluster.UpgradePolicy.SupportType, 'STANDARD');
      assert.equal(cluster.ResourcesVpcConfig.EndpointPublicAccess, name !== 'production');
      const nodegroup = only(resourcesOf(s.platform, 'AWS::EKS::Nodegroup'), 'node group').props;
      assert.equal(nodegroup.Subnets.length, 3);
      for (const subnet of nodegroup.Subnets) assert.match(importName(subnet), /:ExportsOutputRefVpcprivateSubnet\d/);
      const template = only(resourcesOf(s.platform, 'AWS::EC2::LaunchTemplate'), 'launch template').props.LaunchTemplateData;
      assert.equal(template.BlockDeviceMappings[0].Ebs.Encrypted, true);
      assert.equal(template.MetadataOptions.HttpTokens, 'required');
      const addons = resourcesOf(s.platform, 'AWS::EKS::Addon').map((a) => a.props.AddonName).sort();
      assert.deepEqual(addons, ['coredns', 'eks-pod-identity-agent', 'kube-proxy', 'vpc-cni']);
    });
    test('app secrets: the names the ExternalSecrets read, KMS-encrypted, retained', () => {
      const secrets = resourcesOf(s.platform, 'AWS::SecretsManager::Secret');
      assert.deepEqual(secrets.map((r) => r.props.Name).sort(), appSecretSpecs(s.config).map((x) => x.name).sort());
      for (const secret of secrets) {
        assert.ok(secret.props.KmsKeyId, `${secret.props.Name} uses the customer-managed key`);
        assert.equal(secret.deletionPolicy, 'Retain');
      }
      const app = only(secrets.filter((r) => r.props.Name === `nimbuspay/${name}/app`), 'app secret').props;
      assert.equal(app.GenerateSecretString.GenerateStringKey, 'NIMBUSPAY_MASTER_KEY');
      assert.equal(app.GenerateSecretString.PasswordLength, 43);
      assert.equal(Buffer.from('A'.repeat(43), 'base64').length, 32, '43 base64 characters are 32 bytes');
    });
    test(`ECR: scan on push, immutable tags${name === 'development' ? ' (except main)' : ''}, KMS, lifecycle`, () => {
      const repo = only(resourcesOf(s.platform, 'AWS::ECR::Repository'), 'repository').props;
      assert.equal(repo.RepositoryName, 'nimbuspay');
      assert.equal(repo.ImageScanningConfiguration.ScanOnPush, true);
      if (name === 'development') {
        assert.equal(repo.ImageTagMutability, 'IMMUTABLE_WITH_EXCLUSION');
        assert.deepEqual(repo.ImageTagMutabilityExclusionFilters, [{ ImageTagMutabilityExclusionFilterType: 'WILDCARD', ImageTagMutabilityExclusionFilterValue: 'main' }]);
      } else {
        assert.equal(repo.ImageTagMutability, 'IMMUTABLE');
      }
      assert.equal(repo.EncryptionConfiguration.EncryptionType, 'KMS');
      assert.ok(repo.EncryptionConfiguration.KmsKey);
      assert.equal(JSON.parse(repo.LifecyclePolicy.LifecyclePolicyText).rules.length, 2);
    });
    test(`log retention: application ${want.logDays} days`, () => {
      const groups = resourcesOf(s.platform, 'AWS::Logs::LogGroup');
      const app = only(groups.filter((g) => g.props.LogGroupName === applicationLogGroupName(name)), 'application log group');
      assert.equal(app.props.RetentionInDays, want.logDays);
      for (const group of [...groups, ...resourcesOf(s.network, 'AWS::Logs::LogGroup'), ...resourcesOf(s.database, 'AWS::Logs::LogGroup')]) {
        assert.ok(group.props.RetentionInDays > 0, `${group.props.LogGroupName} expires`);
      }
    });
    test('WAF: rate limit on /oauth/token, a general per-IP rate limit, the managed groups, logging', () => {
      const acl = only(resourcesOf(s.platform, 'AWS::WAFv2::WebACL'), 'web ACL').props;
      assert.equal(acl.Scope, 'REGIONAL');
      const rules = acl.Rules as any[];
      const token = rules.find((r) => r.Statement.RateBasedStatement?.ScopeDownStatement?.ByteMatchStatement?.SearchString === TOKEN_PATH);
      assert.ok(token, 'a rate rule scoped to the token path');
      assert.equal(token.Statement.RateBasedStatement.Limit, 300);
      assert.equal(token.Statement.RateBasedStatement.AggregateKeyType, 'IP');
      assert.equal(token.Statement.RateBasedStatement.EvaluationWindowSec, 300);
      assert.equal(token.Statement.RateBasedStatement.ScopeDownStatement.ByteMatchStatement.FieldToMatch.UriPath !== undefined, true);
      assert.ok(token.Action.Block);
      const general = rules.find((r) => r.Name === 'rate-per-ip');
      assert.equal(general.Statement.RateBasedStatement.AggregateKeyType, 'IP');
      assert.equal(general.Statement.RateBasedStatement.ScopeDownStatement.NotStatement.Statement.ByteMatchStatement.SearchString, NOTIFICATIONS_PATH_PREFIX);
      const managed = rules.filter((r) => r.Statement.ManagedRuleGroupStatement).map((r) => r.Statement.ManagedRuleGroupStatement.Name);
      assert.deepEqual(managed.sort(), [...MANAGED_RULE_GROUPS].sort());
      for (const rule of rules.filter((r) => r.Statement.ManagedRuleGroupStatement)) {
        assert.deepEqual(rule.OverrideAction, { None: {} }, `${rule.Name} blocks (not count-only)`);
        const scopeDown = rule.Statement.ManagedRuleGroupStatement.ScopeDownStatement;
        const exempted = ['AWSManagedRulesCommonRuleSet', 'AWSManagedRulesSQLiRuleSet'].includes(rule.Name);
        if (exempted) assert.equal(scopeDown.NotStatement.Statement.ByteMatchStatement.SearchString, NOTIFICATIONS_PATH_PREFIX);
        else assert.equal(scopeDown, undefined, `${rule.Name} applies to every path`);
      }
      const logging = only(resourcesOf(s.platform, 'AWS::WAFv2::LoggingConfiguration'), 'WAF logging').props;
      assert.equal(logging.LogDestinationConfigs[0], `arn:aws:logs:us-east-1:${s.config.account}:log-group:${wafLogGroupName(name)}`);
    });
    test('ACM certificate for the API host, DNS-validated in the configured zone', () => {
      const cert = only(resourcesOf(s.platform, 'AWS::CertificateManager::Certificate'), 'certificate').props;
      assert.equal(cert.DomainName, s.config.dns.apiHost);
      assert.equal(cert.ValidationMethod, 'DNS');
      assert.equal(cert.DomainValidationOptions[0].HostedZoneId, s.config.dns.hostedZoneId);
    });
    test('outputs: the overlay values contract plus cluster, database and secret identifiers', () => {
      const outputs = Object.keys(s.platform.toJSON().Outputs as object);
      for (const { outputId } of OVERLAY_KEYS) assert.ok(outputs.includes(outputId), outputId);
      for (const id of ['ClusterName', 'LoadBalancerControllerRoleArn', 'SecretAppArn', 'SecretMigrateArn']) assert.ok(outputs.includes(id), id);
      const dbOutputs = Object.keys(s.database.toJSON().Outputs as object);
      for (const id of ['DatabaseEndpoint', 'DatabaseMasterSecretArn', 'DatabaseSubnetCidrs']) assert.ok(dbOutputs.includes(id), id);
      assert.ok(Object.keys(s.network.toJSON().Outputs as object).includes('VpcId'));
      for (const id of outputs) assert.match(id, /^[A-Za-z0-9]+$/);
    });
  });
}
