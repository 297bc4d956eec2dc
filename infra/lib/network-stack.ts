/**
 * VPC across three AZs: public subnets (ALB, NAT gateways), private subnets with egress (EKS nodes and pods)
 * and isolated subnets (RDS, no route to or from the internet). Flow logs record rejected and accepted
 * traffic for incident work.
 */
import { CfnOutput, Stack, Tags, Validations, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/environments.js';
import { prefix } from '../config/names.js';

export interface NetworkStackProps extends StackProps {
  readonly config: EnvironmentConfig;
}

export class NetworkStack extends Stack {
  readonly vpc: ec2.Vpc;
  private readonly zones: readonly string[];

  /** The configured zones, so the VPC never asks the account which zones exist (synth stays offline). */
  override get availabilityZones(): string[] {
    return [...this.zones];
  }

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.zones = config.network.availabilityZones;

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      vpcName: prefix(config.name),
      ipAddresses: ec2.IpAddresses.cidr(config.network.cidr),
      availabilityZones: [...config.network.availabilityZones],
      natGateways: config.network.natGateways,
      // Pods get VPC addresses (VPC CNI), so the private tier is the big one; /20 = 4091 addresses per AZ.
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
        { name: 'database', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      // A default security group that allows nothing: anything launched without an explicit group is inert.
      restrictDefaultSecurityGroup: true,
    });

    Validations.of(this.vpc).acknowledge({
      id: 'CloudFormation-Validate::W3010',
      reason: 'availability zones come from the config on purpose: synth must not look them up',
    });

    const flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      logGroupName: `/nimbuspay/${config.name}/vpc-flow-logs`,
      retention: config.network.flowLogRetentionDays as logs.RetentionDays,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });

    // The AWS Load Balancer Controller picks subnets by these tags: internet-facing ALBs in public subnets,
    // internal ones (development) in private subnets.
    for (const subnet of this.vpc.publicSubnets) Tags.of(subnet).add('kubernetes.io/role/elb', '1');
    for (const subnet of this.vpc.privateSubnets) Tags.of(subnet).add('kubernetes.io/role/internal-elb', '1');

    // The load balancer controller is given the VPC id: nodes deny pods the instance metadata it would ask.
    new CfnOutput(this, 'VpcId', { value: this.vpc.vpcId });
  }
}
