/**
 * CloudWatch alarms for what Prometheus cannot see from inside the cluster: the RDS instance's own CPU,
 * storage, memory, connection count and (production) replica lag. They notify one SNS topic per environment.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as rds from 'aws-cdk-lib/aws-rds';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/environments.js';
import { prefix } from '../config/names.js';

export const REPLICA_LAG_ALARM_SECONDS = 300;

export interface DatabaseAlarmsProps {
  readonly config: EnvironmentConfig;
  readonly instance: rds.DatabaseInstance;
  readonly replica: rds.DatabaseInstanceReadReplica | null;
}

export class DatabaseAlarms extends Construct {
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: DatabaseAlarmsProps) {
    super(scope, id);
    const { config, instance, replica } = props;
    const name = prefix(config.name);
    // Not KMS-encrypted: CloudWatch cannot publish to a topic under the AWS-managed SNS key, and alarm
    // notifications carry no customer data.
    this.topic = new sns.Topic(this, 'Topic', { topicName: `${name}-alarms`, enforceSSL: true });
    for (const email of config.alarmEmails) this.topic.addSubscription(new subscriptions.EmailSubscription(email));

    const period = Duration.minutes(5);
    const add = (alarmId: string, metric: cloudwatch.IMetric, threshold: number, comparison: cloudwatch.ComparisonOperator,
      evaluationPeriods: number, description: string) => {
      const alarm = new cloudwatch.Alarm(this, alarmId, {
        alarmName: `${name}-${alarmId}`,
        alarmDescription: description,
        metric,
        threshold,
        comparisonOperator: comparison,
        evaluationPeriods,
        treatMissingData: cloudwatch.TreatMissingData.MISSING,
      });
      alarm.addAlarmAction(new actions.SnsAction(this.topic));
      alarm.addOkAction(new actions.SnsAction(this.topic));
    };

    const freeStorageBytes = config.database.allocatedStorageGiB * 1024 ** 3 * 0.1;
    add('db-cpu', instance.metricCPUUtilization({ period }), 80, cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD, 3,
      'PostgreSQL CPU above 80% for 15 minutes: slow queries (see Performance Insights) or the instance is too small.');
    add('db-free-storage', instance.metricFreeStorageSpace({ period, statistic: 'Minimum' }), freeStorageBytes,
      cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD, 1,
      'Less than 10% of the initial allocation free. Storage autoscaling should grow it; if it cannot (at maxAllocatedStorage), writes stop.');
    add('db-freeable-memory', instance.metricFreeableMemory({ period, statistic: 'Minimum' }), config.database.freeableMemoryAlarmBytes,
      cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD, 3, 'PostgreSQL is short of memory: connections or work_mem too high for the instance class.');
    add('db-connections', instance.metricDatabaseConnections({ period, statistic: 'Maximum' }), config.database.connectionsAlarmThreshold,
      cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD, 2,
      'Connections above the planned budget (docs/deployment.md, "Connection budget"): HPA ceiling times DB_POOL_MAX grew?');
    if (replica) {
      add('db-replica-lag', replica.metric('ReplicaLag', { period, statistic: 'Maximum' }), REPLICA_LAG_ALARM_SECONDS,
        cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD, 3,
        'The read replica is more than 5 minutes behind: support console searches show stale payments.');
    }
  }
}
