/**
 * Everything that differs between NimbusPay's AWS environments, in one typed table. Stacks read only this;
 * nothing is looked up at synth time, so `cdk synth` works offline and a diff of this file is a diff of the
 * infrastructure. The account ids are examples (see infra/README.md, "Before the first deploy").
 */

export type EnvironmentName = 'development' | 'staging' | 'production';

export const ENVIRONMENT_NAMES: readonly EnvironmentName[] = ['development', 'staging', 'production'];

export interface NodeGroupConfig {
  /** Suffix of the node group name (`nimbuspay-<env>-<name>`). */
  readonly name: string;
  readonly instanceTypes: readonly string[];
  readonly minSize: number;
  readonly desiredSize: number;
  readonly maxSize: number;
  readonly diskSizeGiB: number;
  readonly capacityType: 'ON_DEMAND' | 'SPOT';
}

export interface EnvironmentConfig {
  readonly name: EnvironmentName;
  readonly account: string;
  readonly region: string;
  readonly network: {
    readonly cidr: string;
    /** Explicit, so synth needs no availability-zone lookup. */
    readonly availabilityZones: readonly string[];
    readonly natGateways: number;
    readonly flowLogRetentionDays: number;
  };
  readonly cluster: {
    readonly kubernetesVersion: string;
    /**
     * `public-and-private`: kubectl from outside the VPC works (restricted to publicAccessCidrs), nodes talk to
     * the private endpoint. `private`: the API server has no internet-facing endpoint at all; operators and CI
     * reach it from inside the VPC (SSM session, VPN or an in-VPC runner).
     */
    readonly endpointAccess: 'public-and-private' | 'private';
    readonly publicAccessCidrs: readonly string[];
    /** IAM roles granted cluster-admin through an EKS access entry (e.g. the platform team's SSO role). */
    readonly adminRoleArns: readonly string[];
    readonly nodeGroups: readonly NodeGroupConfig[];
    readonly controlPlaneLogRetentionDays: number;
  };
  readonly database: {
    readonly instanceType: string;
    readonly allocatedStorageGiB: number;
    /** Storage autoscaling ceiling: a full disk stops every write, growing it costs little. */
    readonly maxAllocatedStorageGiB: number;
    readonly multiAz: boolean;
    /** A read replica for the support console's searches (production only). */
    readonly readReplica: { readonly instanceType: string } | null;
    readonly backupRetentionDays: number;
    readonly deletionProtection: boolean;
    readonly monitoringIntervalSeconds: 1 | 5 | 10 | 15 | 30 | 60;
    /** Alarm threshold; see docs/deployment.md "Connection budget" (production: 341 planned). */
    readonly connectionsAlarmThreshold: number;
    /** Alarm threshold in bytes: below this the instance is swapping or about to. */
    readonly freeableMemoryAlarmBytes: number;
    /** Copy of every daily backup into a vault in another region (production: us-west-2). */
    readonly crossRegionCopy: { readonly region: string; readonly vaultName: string; readonly retentionDays: number } | null;
  };
  readonly logs: {
    readonly applicationRetentionDays: number;
    readonly wafRetentionDays: number;
  };
  readonly dns: {
    readonly apiHost: string;
    /** Created once by hand (or delegated from the parent zone); see infra/README.md. */
    readonly hostedZoneName: string;
    readonly hostedZoneId: string;
  };
  readonly waf: {
    /** Requests per IP per 5 minutes to POST /oauth/token (credential stuffing against client secrets). */
    readonly tokenRateLimit: number;
    /** Requests per IP per 5 minutes to everything else. */
    readonly generalRateLimit: number;
  };
  readonly ecr: {
    /**
     * Tags that may be pushed again (ECR's IMMUTABLE_WITH_EXCLUSION); every other tag is immutable. Development's
     * overlay follows the moving `main` tag; staging and production pin digests and allow none.
     */
    readonly mutableTags: readonly string[];
  };
  /** Which processor the overlay runs: decides whether the sandbox's secret exists. */
  readonly processor: 'sandbox' | 'stripe';
  /** Where CloudWatch alarms are mailed; empty = subscribe by hand (or via a chat integration) later. */
  readonly alarmEmails: readonly string[];
}

const US_EAST_1_AZS = ['us-east-1a', 'us-east-1b', 'us-east-1c'] as const;

export const ENVIRONMENTS: Readonly<Record<EnvironmentName, EnvironmentConfig>> = {
  development: {
    name: 'development',
    account: '111111111111',
    region: 'us-east-1',
    network: { cidr: '10.10.0.0/16', availabilityZones: US_EAST_1_AZS, natGateways: 1, flowLogRetentionDays: 14 },
    cluster: {
      kubernetesVersion: '1.34',
      endpointAccess: 'public-and-private',
      publicAccessCidrs: ['0.0.0.0/0'],
      adminRoleArns: [],
      nodeGroups: [
        { name: 'general', instanceTypes: ['t3.large'], minSize: 1, desiredSize: 2, maxSize: 3, diskSizeGiB: 40, capacityType: 'ON_DEMAND' },
      ],
      controlPlaneLogRetentionDays: 14,
    },
    database: {
      instanceType: 'db.t4g.medium',
      allocatedStorageGiB: 20,
      maxAllocatedStorageGiB: 100,
      multiAz: false,
      readReplica: null,
      backupRetentionDays: 1,
      deletionProtection: false,
      monitoringIntervalSeconds: 60,
      connectionsAlarmThreshold: 150,
      freeableMemoryAlarmBytes: 256 * 1024 * 1024,
      crossRegionCopy: null,
    },
    logs: { applicationRetentionDays: 14, wafRetentionDays: 14 },
    dns: { apiHost: 'api.dev.nimbuspay.example', hostedZoneName: 'dev.nimbuspay.example', hostedZoneId: 'Z0EXAMPLEDEVELOPMENT' },
    waf: { tokenRateLimit: 300, generalRateLimit: 3000 },
    ecr: { mutableTags: ['main'] },
    processor: 'sandbox',
    alarmEmails: [],
  },
  staging: {
    name: 'staging',
    account: '222222222222',
    region: 'us-east-1',
    network: { cidr: '10.20.0.0/16', availabilityZones: US_EAST_1_AZS, natGateways: 1, flowLogRetentionDays: 30 },
    cluster: {
      kubernetesVersion: '1.34',
      endpointAccess: 'public-and-private',
      publicAccessCidrs: ['0.0.0.0/0'],
      adminRoleArns: [],
      nodeGroups: [
        { name: 'general', instanceTypes: ['m6i.large'], minSize: 2, desiredSize: 3, maxSize: 6, diskSizeGiB: 50, capacityType: 'ON_DEMAND' },
      ],
      controlPlaneLogRetentionDays: 30,
    },
    database: {
      instanceType: 'db.t4g.large',
      allocatedStorageGiB: 50,
      maxAllocatedStorageGiB: 200,
      multiAz: false,
      readReplica: null,
      backupRetentionDays: 7,
      deletionProtection: true,
      monitoringIntervalSeconds: 30,
      connectionsAlarmThreshold: 300,
      freeableMemoryAlarmBytes: 512 * 1024 * 1024,
      crossRegionCopy: null,
    },
    logs: { applicationRetentionDays: 30, wafRetentionDays: 30 },
    dns: { apiHost: 'api.staging.nimbuspay.example', hostedZoneName: 'staging.nimbuspay.example', hostedZoneId: 'Z0EXAMPLESTAGING0000' },
    waf: { tokenRateLimit: 300, generalRateLimit: 3000 },
    ecr: { mutableTags: [] },
    processor: 'sandbox',
    alarmEmails: [],
  },
  production: {
    name: 'production',
    account: '333333333333',
    region: 'us-east-1',
    network: { cidr: '10.30.0.0/16', availabilityZones: US_EAST_1_AZS, natGateways: 3, flowLogRetentionDays: 365 },
    cluster: {
      kubernetesVersion: '1.34',
      endpointAccess: 'private',
      publicAccessCidrs: [],
      adminRoleArns: [],
      nodeGroups: [
        { name: 'general', instanceTypes: ['m6i.xlarge'], minSize: 3, desiredSize: 6, maxSize: 12, diskSizeGiB: 80, capacityType: 'ON_DEMAND' },
      ],
      controlPlaneLogRetentionDays: 365,
    },
    database: {
      instanceType: 'db.r7g.xlarge',
      allocatedStorageGiB: 200,
      maxAllocatedStorageGiB: 1000,
      multiAz: true,
      readReplica: { instanceType: 'db.r7g.large' },
      backupRetentionDays: 35,
      deletionProtection: true,
      monitoringIntervalSeconds: 15,
      // 341 connections planned at the HPA ceiling (docs/deployment.md); alarm before the pools run dry.
      connectionsAlarmThreshold: 400,
      freeableMemoryAlarmBytes: 2 * 1024 * 1024 * 1024,
      crossRegionCopy: { region: 'us-west-2', vaultName: 'nimbuspay-production-dr', retentionDays: 35 },
    },
    logs: { applicationRetentionDays: 365, wafRetentionDays: 90 },
    dns: { apiHost: 'api.nimbuspay.example', hostedZoneName: 'nimbuspay.example', hostedZoneId: 'Z0EXAMPLEPRODUCTION0' },
    waf: { tokenRateLimit: 300, generalRateLimit: 6000 },
    ecr: { mutableTags: [] },
    processor: 'stripe',
    alarmEmails: [],
  },
};

export function environmentConfig(name: string): EnvironmentConfig {
  if (!(ENVIRONMENT_NAMES as readonly string[]).includes(name)) {
    throw new Error(`unknown environment '${name}' (expected one of ${ENVIRONMENT_NAMES.join(', ')})`);
  }
  return ENVIRONMENTS[name as EnvironmentName];
}
