/**
 * Each IRSA role trusts exactly its ServiceAccount (subject and audience) through the cluster's OIDC provider
 * and holds only the statements it needs; the load balancer controller's destructive actions stay behind the
 * documented tag conditions.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ENVIRONMENT_NAMES } from '../config/environments.js';
import { applicationLogGroupName, irsaBindings, type ServiceAccountBinding } from '../config/names.js';
import { only, resourcesOf, synthesize } from './synth.js';

const ISSUER = '<issuer>';

/** The CfnJson condition object with the (deploy-time) issuer replaced by a marker. */
function trustConditions(resources: Record<string, any>, conditionRef: unknown): Record<string, string> {
  const id = (conditionRef as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  const [separator, parts] = resources[id].Properties.Value['Fn::Join'] as [string, unknown[]];
  const text = parts.map((part) => {
    if (typeof part === 'string') return part;
    assert.match(JSON.stringify(part), /OpenIdConnectIssuerUrl/, 'only the cluster issuer is resolved at deploy time');
    return ISSUER;
  }).join(separator);
  return JSON.parse(text) as Record<string, string>;
}

for (const name of ENVIRONMENT_NAMES) {
  const s = synthesize(name);
  const resources = s.platform.toJSON().Resources as Record<string, any>;
  const roles = resourcesOf(s.platform, 'AWS::IAM::Role');
  const bindings = irsaBindings(name);
  const roleFor = (binding: ServiceAccountBinding) => only(roles.filter((r) => r.props.RoleName === binding.roleName), binding.roleName);
  const statementsOf = (binding: ServiceAccountBinding): any[] => {
    const role = roleFor(binding).props;
    assert.equal(role.Policies.length, 1);
    assert.equal(role.ManagedPolicyArns, undefined, 'no managed policies');
    return role.Policies[0].PolicyDocument.Statement;
  };
  const actionsOf = (statement: any): string[] => [statement.Action].flat();
  const roleIds = new Set(Object.values(bindings).map((b) => roleFor(b).id));

  describe(`${name}: IRSA roles`, () => {
    for (const [label, binding] of Object.entries(bindings)) {
      test(`${label}: ${binding.roleName} trusts only system:serviceaccount:${binding.namespace}:${binding.serviceAccount}`, () => {
        const trust = roleFor(binding).props.AssumeRolePolicyDocument.Statement;
        assert.equal(trust.length, 1);
        const [statement] = trust;
        assert.equal(statement.Action, 'sts:AssumeRoleWithWebIdentity');
        assert.equal(statement.Effect, 'Allow');
        const providerId = only(resourcesOf(s.platform, 'AWS::IAM::OIDCProvider'), 'OIDC provider').id;
        assert.deepEqual(statement.Principal, { Federated: { Ref: providerId } });
        assert.deepEqual(Object.keys(statement.Condition), ['StringEquals']);
        assert.deepEqual(trustConditions(resources, statement.Condition.StringEquals), {
          [`${ISSUER}:sub`]: `system:serviceaccount:${binding.namespace}:${binding.serviceAccount}`,
          [`${ISSUER}:aud`]: 'sts.amazonaws.com',
        });
      });
      test(`${label}: no wildcard actions`, () => {
        for (const statement of statementsOf(binding)) {
          assert.equal(statement.Effect, 'Allow');
          for (const action of actionsOf(statement)) assert.ok(!action.includes('*'), `${binding.roleName}: ${action}`);
        }
      });
    }

    test('external-secrets: read nimbuspay/<env>/* and decrypt through Secrets Manager, nothing else', () => {
      const statements = statementsOf(bindings.externalSecrets);
      assert.equal(statements.length, 2);
      const [read, decrypt] = statements;
      assert.deepEqual(actionsOf(read).sort(), ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
      assert.equal(read.Resource, `arn:aws:secretsmanager:us-east-1:${s.config.account}:secret:nimbuspay/${name}/*`);
      assert.deepEqual(actionsOf(decrypt), ['kms:Decrypt']);
      const keyId = only(resourcesOf(s.platform, 'AWS::SecretsManager::Secret').map((r) => JSON.stringify(r.props.KmsKeyId)).filter((v, i, a) => a.indexOf(v) === i), 'secrets key');
      assert.deepEqual(decrypt.Resource, { 'Fn::GetAtt': [JSON.parse(keyId)['Fn::GetAtt'][0], 'Arn'] });
      assert.deepEqual(decrypt.Condition, { StringEquals: { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' } });
    });

    test('fluent-bit: create streams and put events in the application log group only', () => {
      const [statement, ...rest] = statementsOf(bindings.fluentBit);
      assert.equal(rest.length, 0);
      assert.deepEqual(actionsOf(statement).sort(), ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents']);
      assert.equal(statement.Resource, `arn:aws:logs:us-east-1:${s.config.account}:log-group:${applicationLogGroupName(name)}:*`);
    });

    test('load balancer controller: deletes and modifications only of resources tagged as its own', () => {
      const statements = statementsOf(bindings.loadBalancerController);
      const guarded = ['elasticloadbalancing:DeleteLoadBalancer', 'elasticloadbalancing:DeleteTargetGroup', 'ec2:DeleteSecurityGroup',
        'elasticloadbalancing:ModifyLoadBalancerAttributes', 'elasticloadbalancing:SetSecurityGroups'];
      for (const action of guarded) {
        const granting = statements.filter((st) => actionsOf(st).includes(action));
        assert.ok(granting.length > 0, `${action} is granted`);
        for (const st of granting) {
          assert.equal(st.Condition?.Null?.['aws:ResourceTag/elbv2.k8s.aws/cluster'], 'false', `${action} requires the controller's tag`);
        }
      }
      for (const action of ['elasticloadbalancing:CreateLoadBalancer', 'elasticloadbalancing:CreateTargetGroup']) {
        const st = only(statements.filter((x) => actionsOf(x).includes(action)), action);
        assert.equal(st.Condition.Null['aws:RequestTag/elbv2.k8s.aws/cluster'], 'false', `${action} must tag what it creates`);
      }
      const slr = only(statements.filter((x) => actionsOf(x).includes('iam:CreateServiceLinkedRole')), 'CreateServiceLinkedRole');
      assert.equal(slr.Condition.StringEquals['iam:AWSServiceName'], 'elasticloadbalancing.amazonaws.com');
      assert.ok(!statements.some((st) => actionsOf(st).some((a) => a.startsWith('iam:') && a !== 'iam:CreateServiceLinkedRole'
        && !a.includes('ServerCertificate'))), 'no other IAM write');
    });

    test('no other role in the stack can be assumed from the cluster OIDC provider', () => {
      for (const role of roles) {
        const federated = JSON.stringify(role.props.AssumeRolePolicyDocument).includes('Federated');
        assert.equal(federated, roleIds.has(role.id), `${role.id}`);
      }
    });
  });
}
