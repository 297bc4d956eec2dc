/**
 * The AWS Load Balancer Controller's IAM policy as documented upstream (kubernetes-sigs/aws-load-balancer-controller,
 * docs/install/iam_policy.json, v2.x). Kept statement for statement so an upgrade is a visible diff against the
 * new upstream file. The controller needs broad Describe access and creates resources it cannot name in
 * advance; the documented policy scopes every mutation of an existing load balancer, target group or security
 * group to resources carrying the controller's own `elbv2.k8s.aws/cluster` tag, and only lets it create
 * resources that carry that tag.
 */
import * as iam from 'aws-cdk-lib/aws-iam';

interface PolicyStatementJson {
  readonly Effect: 'Allow';
  readonly Action: readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

const CLUSTER_TAG = 'elbv2.k8s.aws/cluster';
const TAGGED_BY_CONTROLLER = { Null: { [`aws:ResourceTag/${CLUSTER_TAG}`]: 'false' } } as const;
const ELB_RESOURCES = [
  'arn:aws:elasticloadbalancing:*:*:targetgroup/*/*',
  'arn:aws:elasticloadbalancing:*:*:loadbalancer/net/*/*',
  'arn:aws:elasticloadbalancing:*:*:loadbalancer/app/*/*',
];

export const LOAD_BALANCER_CONTROLLER_STATEMENTS: readonly PolicyStatementJson[] = [
  {
    Effect: 'Allow',
    Action: ['iam:CreateServiceLinkedRole'],
    Resource: '*',
    Condition: { StringEquals: { 'iam:AWSServiceName': 'elasticloadbalancing.amazonaws.com' } },
  },
  {
    Effect: 'Allow',
    Action: [
      'ec2:DescribeAccountAttributes', 'ec2:DescribeAddresses', 'ec2:DescribeAvailabilityZones',
      'ec2:DescribeInternetGateways', 'ec2:DescribeVpcs', 'ec2:DescribeVpcPeeringConnections',
      'ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups', 'ec2:DescribeInstances',
      'ec2:DescribeNetworkInterfaces', 'ec2:DescribeTags', 'ec2:GetCoipPoolUsage', 'ec2:DescribeCoipPools',
      'ec2:GetSecurityGroupsForVpc', 'ec2:DescribeIpamPools', 'ec2:DescribeRouteTables',
      'elasticloadbalancing:DescribeLoadBalancers', 'elasticloadbalancing:DescribeLoadBalancerAttributes',
      'elasticloadbalancing:DescribeListeners', 'elasticloadbalancing:DescribeListenerCertificates',
      'elasticloadbalancing:DescribeSSLPolicies', 'elasticloadbalancing:DescribeRules',
      'elasticloadbalancing:DescribeTargetGroups', 'elasticloadbalancing:DescribeTargetGroupAttributes',
      'elasticloadbalancing:DescribeTargetHealth', 'elasticloadbalancing:DescribeTags',
      'elasticloadbalancing:DescribeTrustStores', 'elasticloadbalancing:DescribeListenerAttributes',
      'elasticloadbalancing:DescribeCapacityReservation',
    ],
    Resource: '*',
  },
  {
    Effect: 'Allow',
    Action: [
      'cognito-idp:DescribeUserPoolClient', 'acm:ListCertificates', 'acm:DescribeCertificate',
      'iam:ListServerCertificates', 'iam:GetServerCertificate', 'waf-regional:GetWebACL',
      'waf-regional:GetWebACLForResource', 'waf-regional:AssociateWebACL', 'waf-regional:DisassociateWebACL',
      'wafv2:GetWebACL', 'wafv2:GetWebACLForResource', 'wafv2:AssociateWebACL', 'wafv2:DisassociateWebACL',
      'shield:GetSubscriptionState', 'shield:DescribeProtection', 'shield:CreateProtection',
      'shield:DeleteProtection',
    ],
    Resource: '*',
  },
  { Effect: 'Allow', Action: ['ec2:AuthorizeSecurityGroupIngress', 'ec2:RevokeSecurityGroupIngress'], Resource: '*' },
  { Effect: 'Allow', Action: ['ec2:CreateSecurityGroup'], Resource: '*' },
  {
    Effect: 'Allow',
    Action: ['ec2:CreateTags'],
    Resource: 'arn:aws:ec2:*:*:security-group/*',
    Condition: {
      StringEquals: { 'ec2:CreateAction': 'CreateSecurityGroup' },
      Null: { [`aws:RequestTag/${CLUSTER_TAG}`]: 'false' },
    },
  },
  {
    Effect: 'Allow',
    Action: ['ec2:CreateTags', 'ec2:DeleteTags'],
    Resource: 'arn:aws:ec2:*:*:security-group/*',
    Condition: { Null: { [`aws:RequestTag/${CLUSTER_TAG}`]: 'true', [`aws:ResourceTag/${CLUSTER_TAG}`]: 'false' } },
  },
  {
    Effect: 'Allow',
    Action: ['ec2:AuthorizeSecurityGroupIngress', 'ec2:RevokeSecurityGroupIngress', 'ec2:DeleteSecurityGroup'],
    Resource: '*',
    Condition: TAGGED_BY_CONTROLLER,
  },
  {
    Effect: 'Allow',
    Action: ['elasticloadbalancing:CreateLoadBalancer', 'elasticloadbalancing:CreateTargetGroup'],
    Resource: '*',
    Condition: { Null: { [`aws:RequestTag/${CLUSTER_TAG}`]: 'false' } },
  },
  {
    Effect: 'Allow',
    Action: [
      'elasticloadbalancing:CreateListener', 'elasticloadbalancing:DeleteListener',
      'elasticloadbalancing:CreateRule', 'elasticloadbalancing:DeleteRule',
    ],
    Resource: '*',
  },
  {
    Effect: 'Allow',
    Action: ['elasticloadbalancing:AddTags', 'elasticloadbalancing:RemoveTags'],
    Resource: ELB_RESOURCES,
    Condition: { Null: { [`aws:RequestTag/${CLUSTER_TAG}`]: 'true', [`aws:ResourceTag/${CLUSTER_TAG}`]: 'false' } },
  },
  {
    Effect: 'Allow',
    Action: ['elasticloadbalancing:AddTags', 'elasticloadbalancing:RemoveTags'],
    Resource: [
      'arn:aws:elasticloadbalancing:*:*:listener/net/*/*/*',
      'arn:aws:elasticloadbalancing:*:*:listener/app/*/*/*',
      'arn:aws:elasticloadbalancing:*:*:listener-rule/net/*/*/*',
      'arn:aws:elasticloadbalancing:*:*:listener-rule/app/*/*/*',
    ],
  },
  {
    Effect: 'Allow',
    Action: [
      'elasticloadbalancing:ModifyLoadBalancerAttributes', 'elasticloadbalancing:SetIpAddressType',
      'elasticloadbalancing:SetSecurityGroups', 'elasticloadbalancing:SetSubnets',
      'elasticloadbalancing:DeleteLoadBalancer', 'elasticloadbalancing:ModifyTargetGroup',
      'elasticloadbalancing:ModifyTargetGroupAttributes', 'elasticloadbalancing:DeleteTargetGroup',
      'elasticloadbalancing:ModifyListenerAttributes', 'elasticloadbalancing:ModifyCapacityReservation',
      'elasticloadbalancing:ModifyIpPools',
    ],
    Resource: '*',
    Condition: TAGGED_BY_CONTROLLER,
  },
  {
    Effect: 'Allow',
    Action: ['elasticloadbalancing:AddTags'],
    Resource: ELB_RESOURCES,
    Condition: {
      StringEquals: { 'elasticloadbalancing:CreateAction': ['CreateTargetGroup', 'CreateLoadBalancer'] },
      Null: { [`aws:RequestTag/${CLUSTER_TAG}`]: 'false' },
    },
  },
  {
    Effect: 'Allow',
    Action: ['elasticloadbalancing:RegisterTargets', 'elasticloadbalancing:DeregisterTargets'],
    Resource: 'arn:aws:elasticloadbalancing:*:*:targetgroup/*/*',
  },
  {
    Effect: 'Allow',
    Action: [
      'elasticloadbalancing:SetWebAcl', 'elasticloadbalancing:ModifyListener',
      'elasticloadbalancing:AddListenerCertificates', 'elasticloadbalancing:RemoveListenerCertificates',
      'elasticloadbalancing:ModifyRule', 'elasticloadbalancing:SetRulePriorities',
    ],
    Resource: '*',
  },
];

export function loadBalancerControllerPolicy(): iam.PolicyDocument {
  return iam.PolicyDocument.fromJson({ Version: '2012-10-17', Statement: LOAD_BALANCER_CONTROLLER_STATEMENTS });
}
