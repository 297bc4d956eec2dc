import type { EnvSource } from '../platform/config.js';

export const ADMIN_USAGE = `  tenants create --name NAME [--json]     (admin commands call the admin API; see README)
`;

/** Admin commands (tenants, clients, keys) that call the admin API with the platform admin credentials. */
export async function runAdminCommand(
  command: string,
  _positionals: string[],
  _values: Record<string, string | boolean | undefined>,
  _env: EnvSource,
): Promise<void> {
  throw new Error(`unknown command '${command}' (try \`nimbuspay help\`)`);
}
