/**
 * The CDK app: every environment's stacks, from infra/config/environments.ts. `NIMBUSPAY_ENVIRONMENTS` (comma
 * separated) limits synthesis to some environments, e.g. for a deploy pipeline that owns one account.
 */
import { App } from 'aws-cdk-lib';
import { ENVIRONMENT_NAMES, environmentConfig } from '../config/environments.js';
import { buildEnvironment } from '../lib/build-environment.js';

const app = new App();
const selected = process.env.NIMBUSPAY_ENVIRONMENTS?.split(',').map((s) => s.trim()).filter(Boolean) ?? [...ENVIRONMENT_NAMES];
for (const name of selected) buildEnvironment(app, environmentConfig(name));
app.synth();
