/**
 * deploy/k8s/overlays/<env>/aws.env (written by infra/bin/overlay-values.ts) agrees with the infra config for
 * every value the config determines, in the contract's key order; and the outputs → aws.env path refuses
 * outputs from another account or an incomplete stack.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ENVIRONMENT_NAMES, environmentConfig } from '../config/environments.js';
import { stackNames } from '../config/names.js';
import {
  deterministicOverlayValues, GENERATED_KEYS, OVERLAY_KEYS, overlayValuesFromConfig, overlayValuesFromOutputs, parseAwsEnv, renderAwsEnv,
} from '../lib/overlay-contract.js';

const root = path.resolve(import.meta.dirname, '..', '..');

for (const name of ENVIRONMENT_NAMES) {
  const config = environmentConfig(name);
  describe(`${name}: aws.env`, () => {
    test('agrees with infra/config/environments.ts for the deterministic keys, in contract order', () => {
      const file = path.join(root, 'deploy', 'k8s', 'overlays', name, 'aws.env');
      assert.ok(existsSync(file), `${path.relative(root, file)} is missing: write it with \`npx tsx infra/bin/overlay-values.ts --env ${name} --from-config\` (or --outputs <cdk-outputs.json> after a deploy)`);
      const values = parseAwsEnv(readFileSync(file, 'utf8'));
      assert.deepEqual([...values.keys()], OVERLAY_KEYS.map((k) => k.key));
      for (const [key, value] of Object.entries(deterministicOverlayValues(config))) assert.equal(values.get(key), value, key);
      assert.match(values.get('CERTIFICATE_ARN') ?? '', new RegExp(`^arn:aws:acm:${config.region}:${config.account}:certificate/[0-9a-f-]{36}$`));
      assert.match(values.get('WAF_ACL_ARN') ?? '', new RegExp(`^arn:aws:wafv2:${config.region}:${config.account}:regional/webacl/nimbuspay-${name}/[0-9a-f-]{36}$`));
    });

    test('from stack outputs: takes the generated ARNs, refuses a mismatch with the config', () => {
      const real = { CertificateArn: `arn:aws:acm:us-east-1:${config.account}:certificate/1b2c3d4e-0000-4000-8000-123456789abc`, WafAclArn: 'arn:aws:wafv2:x' };
      const outputIds = Object.fromEntries(OVERLAY_KEYS.map(({ key, outputId }) => [outputId, overlayValuesFromConfig(config)[key]]));
      const outputs = { [stackNames(name).platform]: { ...outputIds, ...real, ClusterName: `nimbuspay-${name}` } };
      const values = overlayValuesFromOutputs(config, outputs);
      assert.equal(values.CERTIFICATE_ARN, real.CertificateArn);
      assert.equal(values.WAF_ACL_ARN, real.WafAclArn);
      assert.deepEqual(Object.keys(values).sort(), OVERLAY_KEYS.map((k) => k.key).sort());
      const text = renderAwsEnv(name, values);
      assert.deepEqual([...parseAwsEnv(text).keys()], OVERLAY_KEYS.map((k) => k.key));

      const otherAccount = { [stackNames(name).platform]: { ...outputIds, ...real, AwsAccountId: '999999999999' } };
      assert.throws(() => overlayValuesFromOutputs(config, otherAccount), /AWS_ACCOUNT_ID is 999999999999/);
      const missing = { [stackNames(name).platform]: { ...outputIds, WafAclArn: undefined } };
      assert.throws(() => overlayValuesFromOutputs(config, missing), /no output WafAclArn/);
      assert.throws(() => overlayValuesFromOutputs(config, {}), new RegExp(`no stack ${stackNames(name).platform}`));
    });
  });
}

test('only the certificate and WAF ARNs are left to AWS', () => {
  const deterministic = Object.keys(deterministicOverlayValues(environmentConfig('staging')));
  assert.deepEqual([...deterministic, ...GENERATED_KEYS].sort(), OVERLAY_KEYS.map((k) => k.key).sort());
});
