/**
 * EKS from the CloudFormation resources directly (AWS::EKS::Cluster, Nodegroup, Addon, AccessEntry and an
 * AWS::IAM::OIDCProvider for IRSA): no kubectl Lambda layer or custom resource is needed to create it, and
 * nothing inside the cluster (Helm charts, manifests) is managed from CloudFormation. In-cluster software
 * (AWS Load Balancer Controller, External Secrets, Fluent Bit, Prometheus) is installed by the platform's
 * GitOps/Helm step with the role ARNs this stack outputs.
 */
import { Fn, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/environments.js';
import { clusterName, prefix } from '../config/names.js';

export interface EksClusterProps {
  readonly config: EnvironmentConfig;
  readonly vpc: ec2.IVpc;
}

export class EksCluster extends Construct {
  readonly cluster: eks.CfnCluster;
  readonly oidcProvider: iam.OidcProviderNative;
  /** `oidc.eks.<region>.amazonaws.com/id/<id>`: the prefix of the IRSA condition keys. */
  readonly oidcIssuer: string;
  /** The security group EKS creates for the control plane and attaches to managed nodes. */
  readonly clusterSecurityGroupId: string;
  readonly secretsKey: kms.Key;

  constructor(scope: Construct, id: string, props: EksClusterProps) {
    super(scope, id);
    const { config, vpc } = props;
    const name = clusterName(config.name);

    this.secretsKey = new kms.Key(this, 'SecretsKey', {
      alias: `alias/${prefix(config.name)}/eks-secrets`,
      description: `Envelope encryption of Kubernetes Secrets in ${name}`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const clusterRole = new iam.Role(this, 'ClusterRole', {
      assumedBy: new iam.ServicePrincipal('eks.amazonaws.com'),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonEKSClusterPolicy')],
    });

    // EKS writes control-plane logs to this name; creating it first keeps them from living forever.
    const controlPlaneLogs = new logs.LogGroup(this, 'ControlPlaneLogs', {
      logGroupName: `/aws/eks/${name}/cluster`,
      retention: config.cluster.controlPlaneLogRetentionDays as logs.RetentionDays,
    });

    const publicEndpoint = config.cluster.endpointAccess === 'public-and-private';
    this.cluster = new eks.CfnCluster(this, 'Cluster', {
      name,
      version: config.cluster.kubernetesVersion,
      roleArn: clusterRole.roleArn,
      resourcesVpcConfig: {
        // Control-plane ENIs in the private subnets only; the ALB controller finds public subnets by tag.
        subnetIds: vpc.privateSubnets.map((s) => s.subnetId),
        endpointPrivateAccess: true,
        endpointPublicAccess: publicEndpoint,
        ...(publicEndpoint ? { publicAccessCidrs: [...config.cluster.publicAccessCidrs] } : {}),
      },
      encryptionConfig: [{ resources: ['secrets'], provider: { keyArn: this.secretsKey.keyArn } }],
      logging: {
        clusterLogging: {
          enabledTypes: ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'].map((type) => ({ type })),
        },
      },
      // Access entries (IAM → Kubernetes RBAC through the EKS API) instead of the aws-auth ConfigMap.
      accessConfig: { authenticationMode: 'API', bootstrapClusterCreatorAdminPermissions: true },
      kubernetesNetworkConfig: { ipFamily: 'ipv4' },
      // Extended support costs several times the standard rate per cluster-hour; rather be upgraded by AWS.
      upgradePolicy: { supportType: 'STANDARD' },
      deletionProtection: config.database.deletionProtection,
    });
    this.cluster.node.addDependency(controlPlaneLogs);
    Validations.of(this.cluster).acknowledge({
      id: 'CloudFormation-Validate::W9009',
      reason: 'EncryptionConfig.Resources: the EKS API still takes ["secrets"] with a customer-managed key',
    });
    this.clusterSecurityGroupId = this.cluster.attrClusterSecurityGroupId;

    // attrOpenIdConnectIssuerUrl is https://oidc.eks...; IAM condition keys use it without the scheme.
    this.oidcIssuer = Fn.select(1, Fn.split('https://', this.cluster.attrOpenIdConnectIssuerUrl));
    this.oidcProvider = new iam.OidcProviderNative(this, 'OidcProvider', {
      url: this.cluster.attrOpenIdConnectIssuerUrl,
      clientIds: ['sts.amazonaws.com'],
    });

    for (const roleArn of config.cluster.adminRoleArns) {
      new eks.CfnAccessEntry(this, `Admin${roleArn.split('/').pop()}`, {
        clusterName: this.cluster.ref,
        principalArn: roleArn,
        accessPolicies: [{
          policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy',
          accessScope: { type: 'cluster' },
        }],
      });
    }

    const nodeGroups = this.addNodeGroups(config, vpc);
    this.addAddons(nodeGroups);
  }

  private addNodeGroups(config: EnvironmentConfig, vpc: ec2.IVpc): eks.CfnNodegroup[] {
    const nodeRole = new iam.Role(this, 'NodeRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      managedPolicies: [
        'AmazonEKSWorkerNodePolicy',
        // The VPC CNI runs on the node's identity (hostNetwork); it only manages ENIs and addresses.
        'AmazonEKS_CNI_Policy',
        'AmazonEC2ContainerRegistryPullOnly',
        // Shell access through Session Manager instead of SSH keys and an open port 22.
        'AmazonSSMManagedInstanceCore',
      ].map((n) => iam.ManagedPolicy.fromAwsManagedPolicyName(n)),
    });

    return config.cluster.nodeGroups.map((group) => {
      // Encrypted root volumes and IMDSv2 with hop limit 1, so pods cannot borrow the node's role through
      // the instance metadata service: a pod's AWS identity is its IRSA role or nothing.
      const launchTemplate = new ec2.CfnLaunchTemplate(this, `LaunchTemplate-${group.name}`, {
        launchTemplateData: {
          blockDeviceMappings: [{
            deviceName: '/dev/xvda',
            ebs: { volumeSize: group.diskSizeGiB, volumeType: 'gp3', encrypted: true, deleteOnTermination: true },
          }],
          metadataOptions: { httpTokens: 'required', httpPutResponseHopLimit: 1, httpEndpoint: 'enabled' },
        },
      });
      return new eks.CfnNodegroup(this, `NodeGroup-${group.name}`, {
        clusterName: this.cluster.ref,
        nodegroupName: `${prefix(config.name)}-${group.name}`,
        nodeRole: nodeRole.roleArn,
        subnets: vpc.privateSubnets.map((s) => s.subnetId),
        amiType: 'AL2023_x86_64_STANDARD',
        capacityType: group.capacityType,
        instanceTypes: [...group.instanceTypes],
        scalingConfig: { minSize: group.minSize, desiredSize: group.desiredSize, maxSize: group.maxSize },
        updateConfig: { maxUnavailable: 1 },
        launchTemplate: { id: launchTemplate.ref, version: launchTemplate.attrLatestVersionNumber },
        labels: { 'nimbuspay.io/node-group': group.name },
      });
    });
  }

  private addAddons(nodeGroups: readonly eks.CfnNodegroup[]): void {
    const addons: { name: string; configurationValues?: string; needsNodes?: boolean }[] = [
      // The network policy agent enforces deploy/k8s's NetworkPolicies (default deny, egress allowlists).
      { name: 'vpc-cni', configurationValues: JSON.stringify({ enableNetworkPolicy: 'true' }) },
      // CoreDNS pods need somewhere to run; created before any node it would sit degraded.
      { name: 'coredns', needsNodes: true },
      { name: 'kube-proxy' },
      { name: 'eks-pod-identity-agent' },
    ];
    for (const addon of addons) {
      const resource = new eks.CfnAddon(this, `Addon-${addon.name}`, {
        clusterName: this.cluster.ref,
        addonName: addon.name,
        resolveConflicts: 'OVERWRITE',
        ...(addon.configurationValues ? { configurationValues: addon.configurationValues } : {}),
      });
      if (addon.needsNodes) for (const group of nodeGroups) resource.node.addDependency(group);
    }
  }
}
