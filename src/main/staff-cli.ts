import { parseArgs } from 'node:util';
import { table } from '../cli/text-table.js';
import { ConfigError, loadConfig, type Config, type EnvSource } from '../platform/config.js';
import { createDb, type DbHandle } from '../platform/db.js';
import { AppError } from '../platform/errors.js';
import { STAFF_ROLES, type StaffRole } from '../platform/http/scopes.js';
import { createStaffUser, listStaffUsers } from '../modules/staff/index.js';
import { withDevelopmentSecrets } from './dev-secrets.js';
import { EXIT } from './admin-cli.js';
import { EMBEDDED_DATABASE, embeddedAppUrl } from './embedded-postgres.js';
import { keyRingFor } from './modules.js';

export const STAFF_USAGE = `
Staff commands (support console accounts; they talk to the database directly, so they work before anyone can log in):
  staff create --email EMAIL --role ROLE [--name "Full Name"] [--no-totp]
                                                    create a local staff account; prints its password and TOTP
                                                    enrolment (otpauth:// URI and base32 secret) once
  staff list [--limit N] [--starting-after ID]      list staff accounts, newest first

  ROLE is support_agent (read), support_operator (read + actions) or platform_admin (+ tenants, clients, keys, staff).
  TOTP is always set up outside development; --no-totp (development only) skips it.
  Needs DATABASE_URL and NIMBUSPAY_MASTER_KEY (in development, the data directory's and the embedded database of
  a running \`nimbuspay start\` are used when unset). --json prints JSON.
`;

class StaffCliError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

const usageError = (message: string) => new StaffCliError(`${message}\n${STAFF_USAGE}`, EXIT.usage);

interface Output {
  out(text: string): void;
  err(text: string): void;
}

function databaseUrl(config: Config): string {
  if (config.databaseUrl) return config.databaseUrl;
  if (config.env !== 'development') throw new ConfigError(['DATABASE_URL is required outside development']);
  return embeddedAppUrl(config.embeddedPgPort, EMBEDDED_DATABASE);
}

/** Runs `nimbuspay staff …` (args are the words after `staff`). Returns the exit code; expected failures never throw. */
export async function runStaffCli(args: string[], env: EnvSource, io: Output): Promise<number> {
  try {
    await dispatch(args, env, io);
    return 0;
  } catch (err) {
    if (err instanceof StaffCliError) {
      io.err(`nimbuspay: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof ConfigError) {
      io.err(`${err.message}\n`);
      return EXIT.config;
    }
    if (err instanceof AppError) {
      io.err(`nimbuspay: ${err.message}\n`);
      return EXIT.apiError;
    }
    throw err;
  }
}

async function dispatch(args: string[], env: EnvSource, io: Output): Promise<void> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h' || rest.includes('--help') || rest.includes('-h')) {
    io.out(STAFF_USAGE);
    return;
  }
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: rest,
      options: {
        email: { type: 'string' }, role: { type: 'string' }, name: { type: 'string' }, 'no-totp': { type: 'boolean' },
        limit: { type: 'string' }, 'starting-after': { type: 'string' }, json: { type: 'boolean' },
      },
      allowPositionals: false,
      strict: true,
    });
  } catch (err) {
    throw usageError(err instanceof Error ? err.message : String(err));
  }
  const { values } = parsed;
  if (sub !== 'create' && sub !== 'list') throw usageError(`unknown staff command '${sub}'`);

  const config = loadConfig(await withDevelopmentSecrets(env));
  const database = await connect(config);
  try {
    if (sub === 'create') await create(config, database, values, io);
    else await list(database, values, io);
  } finally {
    await database.close();
  }
}

async function connect(config: Config): Promise<DbHandle> {
  const database = createDb({ connectionString: databaseUrl(config), max: 2, applicationName: 'nimbuspay-staff-cli' });
  try {
    await database.pool.query('select 1');
  } catch (err) {
    await database.close();
    const hint = config.databaseUrl ? 'check DATABASE_URL' : 'start the platform with `nimbuspay start` (or `npm start`), or set DATABASE_URL';
    throw new StaffCliError(`cannot reach the database (${err instanceof Error ? err.message : String(err)}); ${hint}`, EXIT.unavailable);
  }
  return database;
}

async function create(config: Config, database: DbHandle, values: Record<string, string | boolean | undefined>, io: Output): Promise<void> {
  const email = values.email;
  const role = values.role;
  if (typeof email !== 'string' || !email.trim()) throw usageError('--email is required');
  if (typeof role !== 'string' || !(STAFF_ROLES as readonly string[]).includes(role)) throw usageError(`--role must be one of ${STAFF_ROLES.join(', ')}`);
  const noTotp = values['no-totp'] === true;
  if (noTotp && config.env !== 'development') throw usageError(`--no-totp is for development only: ${config.env} requires TOTP`);
  const created = await createStaffUser(
    { db: database.db, keyRing: keyRingFor(config), now: () => new Date() },
    { email, displayName: typeof values.name === 'string' ? values.name : undefined, role: role as StaffRole, totp: !noTotp },
  );
  if (values.json) {
    io.out(`${JSON.stringify({ ...created.user, password: created.password, totp_uri: created.totpUri, totp_secret: created.totpSecret }, null, 2)}\n`);
    return;
  }
  const u = created.user;
  io.out([
    `Created staff user ${u.id} ${u.email} (${u.role})`,
    `  password      ${created.password}`,
    ...(created.totpUri
      ? [`  TOTP URI      ${created.totpUri}`, `  TOTP secret   ${created.totpSecret}   (base32, for entering by hand)`]
      : ['  TOTP          none (development only)']),
    '',
    `Log in at ${config.publicUrl}/console/. These are shown once: only a hash of the password and the encrypted`,
    'TOTP secret are kept. Hand them over through a secure channel.',
    '',
  ].join('\n'));
}

async function list(database: DbHandle, values: Record<string, string | boolean | undefined>, io: Output): Promise<void> {
  const limit = typeof values.limit === 'string' ? Number(values.limit) : 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw usageError('--limit must be 1–100');
  const page = await listStaffUsers({ db: database.db }, { limit, starting_after: typeof values['starting-after'] === 'string' ? values['starting-after'] : undefined });
  if (values.json) {
    io.out(`${JSON.stringify(page, null, 2)}\n`);
    return;
  }
  const rows = page.data.map((u) => ({
    id: u.id, email: u.email, role: u.role, status: u.status, login: u.totp_enabled ? `${u.login}+totp` : u.login, last_login_at: u.last_login_at ?? '-',
  }));
  const columns = ['id', 'email', 'role', 'status', 'login', 'last_login_at'] as const;
  io.out(table(rows, columns)
    + (page.has_more ? `(more: --starting-after ${page.data[page.data.length - 1]?.id})\n` : ''));
}

/** Entry point used by cli.ts. */
export async function runStaffCommand(args: string[], env: EnvSource): Promise<void> {
  const code = await runStaffCli(args, env, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) });
  if (code !== 0) {
    // as runAdminCommand does: flush, then exit explicitly, so nothing left open keeps the process alive
    await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((resolve) => s.write('', () => resolve()))));
    process.exit(code);
  }
}
