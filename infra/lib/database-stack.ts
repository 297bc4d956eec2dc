/**
 * RDS PostgreSQL, the platform's only state. Isolated subnets, reachable on 5432 from the EKS cluster
 * security group only (the one EKS attaches to managed nodes, so every pod's traffic comes from it), KMS
 * encryption for storage, Performance Insights and the master secret, TLS forced by the parameter group.
 * Production adds Multi-AZ, a read replica for the support console and a daily cross-region backup copy.
 */
import { CfnOutput, Duration, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/environments.js';
import { databaseMasterSecretName, prefix } from '../config/names.js';
import { DatabaseAlarms } from './database-alarms.js';

/** The newest major the installed aws-cdk-lib knows, the same major as development's embedded PostgreSQL. */
export const POSTGRES_VERSION = rds.PostgresEngineVersion.VER_18;
const LOG_EXPORTS = ['postgresql', 'upgrade'];

export interface DatabaseStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  readonly vpc: ec2.IVpc;
  /** EKS cluster security group (attached to the managed nodes). */
  readonly clientSecurityGroupId: string;
}

export const drVaultArn = (config: EnvironmentConfig): string | null => config.database.crossRegionCopy
  ? `arn:aws:backup:${config.database.crossRegionCopy.region}:${config.account}:backup-vault:${config.database.crossRegionCopy.vaultName}`
  : null;

export class DatabaseStack extends Stack {
  readonly instance: rds.DatabaseInstance;
  readonly replica: rds.DatabaseInstanceReadReplica | null;

  constructor(scope: Construct, id: string, props: DatabaseStackProps) {
    super(scope, id, props);
    const { config, vpc } = props;
    const db = config.database;
    const name = prefix(config.name);
    const engine = rds.DatabaseInstanceEngine.postgres({ version: POSTGRES_VERSION });

    const key = new kms.Key(this, 'Key', {
      alias: `alias/${name}/rds`,
      description: `RDS ${name}: storage, Performance Insights, master secret`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      securityGroupName: `${name}-postgres`,
      description: `PostgreSQL ${name}: 5432 from the EKS cluster security group only`,
      // A database never opens connections; nothing to allow outwards.
      allowAllOutbound: false,
    });
    securityGroup.addIngressRule(ec2.Peer.securityGroupId(props.clientSecurityGroupId), ec2.Port.tcp(5432), 'EKS nodes and pods');

    const parameterGroup = new rds.ParameterGroup(this, 'Parameters', {
      engine,
      description: `${name} PostgreSQL settings`,
      parameters: {
        // Card and bank data cross this connection: refuse any client that does not negotiate TLS.
        'rds.force_ssl': '1',
        'ssl_min_protocol_version': 'TLSv1.2',
        'password_encryption': 'scram-sha-256',
        // A pod killed mid-transaction (or a console session left open) would hold row locks on payments and
        // block the reconciler and vacuum; the app's own transactions last milliseconds.
        'idle_in_transaction_session_timeout': '60000',
        // Slow statements in the PostgreSQL log (exported to CloudWatch) with their plan-relevant text.
        'log_min_duration_statement': '500',
        // Lock waits longer than deadlock_timeout (1 s) and autovacuum runs over 10 s explain most stalls.
        'log_lock_waits': '1',
        'log_autovacuum_min_duration': '10000',
        // Sorts and hashes spilling over 10 MB to disk: work_mem or a missing index.
        'log_temp_files': '10240',
        // Schema changes are audited: only the migrate Job should ever issue DDL.
        'log_statement': 'ddl',
        // Dead clients (a node gone without FIN) are noticed in about two minutes, freeing their connections.
        'tcp_keepalives_idle': '60',
        'tcp_keepalives_interval': '10',
        'tcp_keepalives_count': '6',
        // No server-wide statement_timeout: migrations (index builds) may legitimately run long; the app sets
        // its own per-connection timeouts.
      },
    });

    const instanceId = name;
    const logGroups = createLogExportGroups(this, 'Logs', instanceId, config);

    this.instance = new rds.DatabaseInstance(this, 'Postgres', {
      instanceIdentifier: instanceId,
      engine,
      instanceType: new ec2.InstanceType(db.instanceType.replace(/^db\./, '')),
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [securityGroup],
      publiclyAccessible: false,
      port: 5432,
      credentials: rds.Credentials.fromGeneratedSecret('nimbuspay_master', {
        // Outside nimbuspay/<env>/: the External Secrets role must never be able to read it.
        secretName: databaseMasterSecretName(config.name),
        encryptionKey: key,
      }),
      // The app authenticates with passwords from Secrets Manager (sslmode=verify-full); IAM auth would need
      // 15-minute tokens refreshed inside every pool for no gain over that.
      iamAuthentication: false,
      parameterGroup,
      multiAz: db.multiAz,
      storageType: rds.StorageType.GP3,
      allocatedStorage: db.allocatedStorageGiB,
      maxAllocatedStorage: db.maxAllocatedStorageGiB,
      storageEncrypted: true,
      storageEncryptionKey: key,
      backupRetention: Duration.days(db.backupRetentionDays),
      preferredBackupWindow: '06:00-06:30',
      preferredMaintenanceWindow: 'sun:07:00-sun:07:30',
      copyTagsToSnapshot: true,
      deleteAutomatedBackups: false,
      deletionProtection: db.deletionProtection,
      // A final snapshot whatever the environment: deleting the stack must never be the end of the data.
      removalPolicy: RemovalPolicy.SNAPSHOT,
      autoMinorVersionUpgrade: true,
      caCertificate: rds.CaCertificate.RDS_CA_RSA2048_G1,
      enablePerformanceInsights: true,
      performanceInsightEncryptionKey: key,
      performanceInsightRetention: rds.PerformanceInsightRetention.DEFAULT,
      monitoringInterval: Duration.seconds(db.monitoringIntervalSeconds),
      cloudwatchLogsExports: LOG_EXPORTS,
    });
    for (const group of logGroups) this.instance.node.addDependency(group);

    this.replica = null;
    if (db.readReplica) {
      const replicaId = `${name}-replica`;
      const replicaLogs = createLogExportGroups(this, 'ReplicaLogs', replicaId, config);
      this.replica = new rds.DatabaseInstanceReadReplica(this, 'ReadReplica', {
        instanceIdentifier: replicaId,
        sourceDatabaseInstance: this.instance,
        instanceType: new ec2.InstanceType(db.readReplica.instanceType.replace(/^db\./, '')),
        vpc,
        vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
        securityGroups: [securityGroup],
        publiclyAccessible: false,
        parameterGroup,
        // Encryption (and its key) is inherited from the source; CloudFormation rejects setting it here.
        deletionProtection: db.deletionProtection,
        removalPolicy: RemovalPolicy.DESTROY,
        autoMinorVersionUpgrade: true,
        caCertificate: rds.CaCertificate.RDS_CA_RSA2048_G1,
        enablePerformanceInsights: true,
        performanceInsightEncryptionKey: key,
        monitoringInterval: Duration.seconds(db.monitoringIntervalSeconds),
        cloudwatchLogsExports: LOG_EXPORTS,
      });
      for (const group of replicaLogs) this.replica.node.addDependency(group);
      new CfnOutput(this, 'DatabaseReaderEndpoint', { value: this.replica.dbInstanceEndpointAddress });
    }

    const vaultArn = drVaultArn(config);
    if (vaultArn && db.crossRegionCopy) {
      const vault = new backup.BackupVault(this, 'BackupVault', {
        backupVaultName: `${name}-backups`,
        encryptionKey: key,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      const plan = new backup.BackupPlan(this, 'BackupPlan', {
        backupPlanName: `${name}-dr`,
        backupVault: vault,
        backupPlanRules: [
          new backup.BackupPlanRule({
            ruleName: 'daily-with-dr-copy',
            scheduleExpression: events.Schedule.cron({ hour: '7', minute: '0' }),
            deleteAfter: Duration.days(db.backupRetentionDays),
            // The disaster-recovery region keeps its own copy: a region-wide outage or a compromised primary
            // account region leaves a restorable snapshot elsewhere.
            copyActions: [{
              destinationBackupVault: backup.BackupVault.fromBackupVaultArn(this, 'DrVault', vaultArn),
              deleteAfter: Duration.days(db.crossRegionCopy.retentionDays),
            }],
          }),
        ],
      });
      plan.addSelection('Database', { resources: [backup.BackupResource.fromRdsDatabaseInstance(this.instance)] });
    }

    const alarms = new DatabaseAlarms(this, 'Alarms', { config, instance: this.instance, replica: this.replica });

    new CfnOutput(this, 'DatabaseEndpoint', { value: this.instance.dbInstanceEndpointAddress });
    new CfnOutput(this, 'DatabasePort', { value: this.instance.dbInstanceEndpointPort });
    new CfnOutput(this, 'DatabaseMasterSecretArn', { value: this.instance.secret?.secretArn ?? '' });
    new CfnOutput(this, 'DatabaseSecurityGroupId', { value: securityGroup.securityGroupId });
    new CfnOutput(this, 'DatabaseSubnetCidrs', {
      value: Fn.join(',', vpc.isolatedSubnets.map((s) => s.ipv4CidrBlock)),
      description: 'egress 5432 in deploy/k8s NetworkPolicies',
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: alarms.topic.topicArn });
  }
}

/** RDS creates these on export with no retention; creating them first applies the environment's retention. */
function createLogExportGroups(scope: Construct, id: string, instanceId: string, config: EnvironmentConfig): logs.LogGroup[] {
  return LOG_EXPORTS.map((type) => new logs.LogGroup(scope, `${id}-${type}`, {
    logGroupName: `/aws/rds/instance/${instanceId}/${type}`,
    retention: config.logs.applicationRetentionDays as logs.RetentionDays,
    removalPolicy: RemovalPolicy.RETAIN,
  }));
}
