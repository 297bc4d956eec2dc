/**
 * Writes deploy/k8s/overlays/<env>/aws.env, the overlay values contract (lib/overlay-contract.ts).
 *
 *   npx tsx infra/bin/overlay-values.ts --env staging --outputs cdk-outputs/staging.json   # after cdk deploy
 *   npx tsx infra/bin/overlay-values.ts --env staging --from-config                        # example ARNs
 *
 * --stdout prints instead of writing. --from-config writes what follows from infra/config/environments.ts plus
 * example certificate and WAF ARNs: that is what the repository commits until a deployer has real outputs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { environmentConfig } from '../config/environments.js';
import { overlayValuesFromConfig, overlayValuesFromOutputs, renderAwsEnv } from '../lib/overlay-contract.js';

const repositoryRoot = path.resolve(import.meta.dirname, '..', '..');

function main(): void {
  const { values: args } = parseArgs({
    options: {
      env: { type: 'string' },
      outputs: { type: 'string' },
      'from-config': { type: 'boolean', default: false },
      stdout: { type: 'boolean', default: false },
    },
  });
  if (!args.env || (!args.outputs === !args['from-config'])) {
    process.stderr.write('usage: overlay-values.ts --env <development|staging|production> (--outputs <cdk-outputs.json> | --from-config) [--stdout]\n');
    process.exit(64);
  }
  const config = environmentConfig(args.env);
  const values = args.outputs
    ? overlayValuesFromOutputs(config, JSON.parse(readFileSync(args.outputs, 'utf8')))
    : overlayValuesFromConfig(config);
  const text = renderAwsEnv(config.name, values);
  if (args.stdout) {
    process.stdout.write(text);
    return;
  }
  const target = path.join(repositoryRoot, 'deploy', 'k8s', 'overlays', config.name, 'aws.env');
  writeFileSync(target, text);
  process.stdout.write(`wrote ${path.relative(process.cwd(), target)}\n`);
}

main();
