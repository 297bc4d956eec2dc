/**
 * Everything the Kubernetes side of NimbusPay needs from AWS, apart from the network and the database: the
 * EKS cluster, the IRSA roles of the three in-cluster AWS clients, the app's Secrets Manager entries, the ECR
 * repository, the application log group, the API host's certificate and the WAF ACL. Its outputs are the
 * overlay values contract (overlay-contract.ts).
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/environments.js';
import {
  applicationLogGroupName, ECR_REPOSITORY_NAME, imageRepositoryUri, irsaBindings, prefix, secretNamePrefix,
} from '../config/names.js';
import { AppSecrets } from './app-secrets.js';
import { EksCluster } from './eks-cluster.js';
import { irsaRole } from './irsa-role.js';
import { loadBalancerControllerPolicy } from './load-balancer-controller-policy.js';
import { OVERLAY_KEYS, type OverlayKey } from './overlay-contract.js';
import { WebAcl } from './web-acl.js';

export interface PlatformStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  readonly vpc: ec2.IVpc;
}

export class PlatformStack extends Stack {
  readonly eks: EksCluster;

  constructor(scope: Construct, id: string, props: PlatformStackProps) {
    super(scope, id, props);
    const { config, vpc } = props;
    const env = config.name;

    this.eks = new EksCluster(this, 'Eks', { config, vpc });
    const secrets = new AppSecrets(this, 'AppSecrets', { config });

    const logGroup = new logs.LogGroup(this, 'ApplicationLogs', {
      logGroupName: applicationLogGroupName(env),
      retention: config.logs.applicationRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const repositoryKey = new kms.Key(this, 'RepositoryKey', {
      alias: `alias/${prefix(env)}/ecr`,
      description: 'ECR repository nimbuspay',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const repository = new ecr.Repository(this, 'Repository', {
      repositoryName: ECR_REPOSITORY_NAME,
      imageScanOnPush: true,
      // A pinned tag means the same bytes forever; only the configured moving tags (development's `main`) move.
      ...(config.ecr.mutableTags.length > 0
        ? {
          imageTagMutability: ecr.TagMutability.IMMUTABLE_WITH_EXCLUSION,
          imageTagMutabilityExclusionFilters: config.ecr.mutableTags.map((tag) => ecr.ImageTagMutabilityExclusionFilter.wildcard(tag)),
        }
        : { imageTagMutability: ecr.TagMutability.IMMUTABLE }),
      encryption: ecr.RepositoryEncryption.KMS,
      encryptionKey: repositoryKey,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        { rulePriority: 1, description: 'untagged layers from failed or superseded pushes', tagStatus: ecr.TagStatus.UNTAGGED, maxImageAge: Duration.days(14) },
        // Far more releases than any rollback reaches back to, so a pinned tag is never expired under a running overlay.
        { rulePriority: 2, description: 'keep the newest 300 images', tagStatus: ecr.TagStatus.ANY, maxImageCount: 300 },
      ],
    });

    const roles = irsaBindings(env);
    const { oidcProvider, oidcIssuer } = this.eks;
    const externalSecretsRole = irsaRole(this, 'ExternalSecretsRole', {
      binding: roles.externalSecrets,
      oidcProvider,
      oidcIssuer,
      description: `External Secrets Operator (SecretStore in ${roles.externalSecrets.namespace}): read nimbuspay/${env}/*`,
      policy: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
            resources: [`arn:aws:secretsmanager:${config.region}:${config.account}:secret:${secretNamePrefix(env)}*`],
          }),
          new iam.PolicyStatement({
            actions: ['kms:Decrypt'],
            resources: [secrets.key.keyArn],
            // Only as Secrets Manager's caller: the role cannot decrypt arbitrary ciphertext with the key.
            conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${config.region}.amazonaws.com` } },
          }),
        ],
      }),
    });
    const fluentBitRole = irsaRole(this, 'FluentBitRole', {
      binding: roles.fluentBit,
      oidcProvider,
      oidcIssuer,
      description: `Fluent Bit: write to ${applicationLogGroupName(env)} only`,
      policy: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
            resources: [`arn:aws:logs:${config.region}:${config.account}:log-group:${applicationLogGroupName(env)}:*`],
          }),
        ],
      }),
    });
    const loadBalancerControllerRole = irsaRole(this, 'LoadBalancerControllerRole', {
      binding: roles.loadBalancerController,
      oidcProvider,
      oidcIssuer,
      description: 'AWS Load Balancer Controller (documented policy)',
      policy: loadBalancerControllerPolicy(),
    });

    const zone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
      hostedZoneId: config.dns.hostedZoneId,
      zoneName: config.dns.hostedZoneName,
    });
    const certificate = new acm.Certificate(this, 'ApiCertificate', {
      certificateName: `${prefix(env)}-api`,
      domainName: config.dns.apiHost,
      validation: acm.CertificateValidation.fromDns(zone),
    });

    const webAcl = new WebAcl(this, 'Waf', { config });

    const overlayValues: Record<OverlayKey, string> = {
      AWS_REGION: this.region,
      AWS_ACCOUNT_ID: this.account,
      IMAGE_REPOSITORY: imageRepositoryUri(config),
      CERTIFICATE_ARN: certificate.certificateArn,
      WAF_ACL_ARN: webAcl.acl.attrArn,
      EXTERNAL_SECRETS_ROLE_ARN: externalSecretsRole.roleArn,
      FLUENT_BIT_ROLE_ARN: fluentBitRole.roleArn,
      LOG_GROUP_NAME: logGroup.logGroupName,
      API_HOST: config.dns.apiHost,
    };
    for (const { key, outputId } of OVERLAY_KEYS) {
      new CfnOutput(this, outputId, { value: overlayValues[key], description: `aws.env ${key}` });
    }
    new CfnOutput(this, 'ClusterName', { value: this.eks.cluster.ref });
    new CfnOutput(this, 'ClusterSecurityGroupId', { value: this.eks.clusterSecurityGroupId });
    new CfnOutput(this, 'OidcIssuer', { value: oidcIssuer });
    new CfnOutput(this, 'LoadBalancerControllerRoleArn', { value: loadBalancerControllerRole.roleArn });
    new CfnOutput(this, 'RepositoryArn', { value: repository.repositoryArn });
    for (const { spec, secret } of secrets.secrets) {
      const suffix = spec.name.split('/').pop() ?? '';
      new CfnOutput(this, `Secret${suffix.charAt(0).toUpperCase()}${suffix.slice(1)}Arn`, { value: secret.secretArn, description: spec.name });
    }
  }
}
