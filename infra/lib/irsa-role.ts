/**
 * An IAM role for one Kubernetes ServiceAccount (IRSA). The trust policy names the exact
 * `system:serviceaccount:<namespace>:<name>` subject and the `sts.amazonaws.com` audience: a token of any
 * other ServiceAccount in the cluster, or one minted for another audience, cannot assume it.
 */
import { CfnJson } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { ServiceAccountBinding } from '../config/names.js';

export interface IrsaRoleProps {
  readonly binding: ServiceAccountBinding;
  readonly oidcProvider: iam.IOidcProvider;
  /** Issuer without `https://`, a token until the cluster exists. */
  readonly oidcIssuer: string;
  readonly policy: iam.PolicyDocument;
  readonly description: string;
}

export function irsaRole(scope: Construct, id: string, props: IrsaRoleProps): iam.Role {
  const { binding, oidcIssuer } = props;
  // The issuer is only known once the cluster exists and JSON keys cannot be CloudFormation expressions,
  // so the condition object is resolved at deploy time (CfnJson).
  const conditions = new CfnJson(scope, `${id}TrustConditions`, {
    value: {
      [`${oidcIssuer}:sub`]: `system:serviceaccount:${binding.namespace}:${binding.serviceAccount}`,
      [`${oidcIssuer}:aud`]: 'sts.amazonaws.com',
    },
  });
  return new iam.Role(scope, id, {
    roleName: binding.roleName,
    description: props.description,
    assumedBy: new iam.OpenIdConnectPrincipal(props.oidcProvider).withConditions({ StringEquals: conditions }),
    inlinePolicies: { access: props.policy },
  });
}
