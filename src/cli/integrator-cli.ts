import { readFileSync } from 'node:fs';
import { EXIT } from '../main/admin-cli.js';
import { CliError, COMMON_OPTIONS_HELP, runCommand, toCliError, type CliIo, type Command } from './command-kit.js';
import { eventCommands } from './commands/events.js';
import { listenCommand } from './commands/listen.js';
import { logsCommands } from './commands/logs.js';
import { paymentCommands } from './commands/payments.js';
import { triggerCommand } from './commands/trigger.js';
import { webhookEndpointCommands } from './commands/webhooks.js';

/** A group of commands (`payments create`), or one command that is its own group (`listen`). */
type Group = { summary: string; commands: Record<string, Command | Group> } | Command;

const isCommand = (g: Group): g is Command => 'run' in g;

const GROUPS: Record<string, Group> = {
  payments: { summary: 'create, get, list, capture, cancel and refund payments', commands: paymentCommands },
  events: { summary: 'list and get events', commands: eventCommands },
  webhooks: {
    summary: 'manage webhook endpoints',
    commands: { endpoints: { summary: 'create, list, get, update, delete and rotate-secret endpoints', commands: webhookEndpointCommands } },
  },
  listen: listenCommand,
  trigger: triggerCommand,
  logs: { summary: "your own API request log (tail, --follow)", commands: logsCommands },
};

export const INTEGRATOR_GROUPS = Object.keys(GROUPS);

export const INTEGRATOR_USAGE = `
Integrator commands (they call the API with a tenant's client credentials: \`nimbuspay login\`, the profile
\`npm start\` writes, or NIMBUSPAY_CLIENT_ID / NIMBUSPAY_CLIENT_SECRET with NIMBUSPAY_PUBLIC_URL):
  payments create|get|list|capture|cancel|refund
  events list|get
  webhooks endpoints create|list|get|update|delete|rotate-secret
  listen --forward-to URL [--events TYPE,TYPE]     forward your events, signed, to a local URL
  trigger EVENT_TYPE                                create sandbox objects that emit EVENT_TYPE
  logs tail [--follow]                              your own API request log
  Every command takes --json, --url URL, --profile NAME and --help (\`nimbuspay payments --help\`).
`;

function firstLine(usage: string): string {
  const end = usage.indexOf('\n');
  return end === -1 ? usage : usage.slice(0, end);
}

function groupHelp(path: string, group: Exclude<Group, Command>): string {
  const lines = Object.entries(group.commands).map(([name, c]) => (isCommand(c)
    ? `  ${firstLine(c.usage)}\n      ${c.usage.split('\n')[1]?.trim() ?? ''}`
    : `  ${path} ${name} <command>\n      ${c.summary}`));
  return `Usage: nimbuspay ${path} <command> [options]\n\n${group.summary.charAt(0).toUpperCase()}${group.summary.slice(1)}.\n\nCommands:\n${lines.join('\n')}\n\n${COMMON_OPTIONS_HELP}`
    + `\nRun \`nimbuspay ${path} <command> --help\` for a command's options.\n`;
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/**
 * Runs an integrator command (`args` are the words after `nimbuspay`, e.g. ['payments', 'get', 'pay_…']) and
 * returns the exit code; expected failures are printed, never thrown.
 */
export async function runIntegratorCli(args: string[], io: CliIo): Promise<number> {
  try {
    let group: Group = { summary: '', commands: GROUPS };
    const path: string[] = [];
    let rest = args;
    while (!isCommand(group)) {
      const [word, ...tail] = rest;
      if (word === undefined || word === '--help' || word === '-h' || word === 'help') {
        io.out(groupHelp(path.join(' '), group));
        return word === undefined ? EXIT.usage : 0;
      }
      const next: Group | undefined = Object.hasOwn(group.commands, word) ? group.commands[word] : undefined;
      if (!next) throw new CliError(`unknown command '${[...path, word].join(' ')}'\n\n${groupHelp(path.join(' '), group)}`, EXIT.usage);
      path.push(word);
      group = next;
      rest = tail;
    }
    await runCommand(path.join(' '), group, rest, io);
    return 0;
  } catch (err) {
    const mapped = toCliError(err);
    if (mapped instanceof CliError) {
      io.err(`nimbuspay: ${mapped.message}\n`);
      return mapped.exitCode;
    }
    throw mapped;
  }
}
