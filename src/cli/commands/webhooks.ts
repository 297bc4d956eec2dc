import { fields, integerFlag, pageText, requiredFlag, stringFlag, usageError, type Command, type Flags } from '../command-kit.js';

const ENDPOINT_FIELDS = ['id', 'url', 'status', 'enabled_events', 'description', 'disabled_reason', 'created_at', 'updated_at'];

function events(flags: Flags): string[] | undefined {
  const v = stringFlag(flags, 'events');
  return v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean);
}

const secretNote = '\nStore the signing secret now: it is not shown again.\n';

export const webhookEndpointCommands: Record<string, Command> = {
  create: {
    usage: 'webhooks endpoints create --endpoint-url URL [--events TYPE,TYPE] [--description TEXT]\n  Register an endpoint (events default to *); prints its whsec_ signing secret once.',
    options: { 'endpoint-url': { type: 'string' }, events: { type: 'string' }, description: { type: 'string' } },
    async run({ flags, client, print }) {
      // --url names the API in every command, so the endpoint's own URL has a flag of its own.
      const url = requiredFlag(flags, 'endpoint-url', 'webhooks endpoints create --endpoint-url URL');
      const description = stringFlag(flags, 'description');
      const e = await client().webhookEndpoints.create({ url, enabled_events: (events(flags) ?? ['*']) as never, ...(description ? { description } : {}) });
      print(e, () => fields(e as Record<string, unknown>, [...ENDPOINT_FIELDS, 'secret']) + secretNote);
    },
  },
  list: {
    usage: 'webhooks endpoints list [--limit N] [--starting-after ID]\n  List webhook endpoints.',
    options: { limit: { type: 'string' }, 'starting-after': { type: 'string' } },
    async run({ flags, client, print }) {
      const limit = integerFlag(flags, 'limit', 'webhooks endpoints list', { min: 1 });
      const after = stringFlag(flags, 'starting-after');
      const page = await client().webhookEndpoints.list({ ...(limit !== undefined ? { limit } : {}), ...(after ? { starting_after: after } : {}) });
      const body = { object: 'list', data: page.data, has_more: page.has_more };
      print(body, () => pageText(body as never, ['id', 'url', 'status', 'enabled_events']));
    },
  },
  get: {
    usage: 'webhooks endpoints get ENDPOINT_ID\n  Show one endpoint.',
    options: {},
    positionals: ['ENDPOINT_ID'],
    async run({ positional, client, print }) {
      const e = await client().webhookEndpoints.retrieve(positional('ENDPOINT_ID'));
      print(e, () => fields(e as Record<string, unknown>, ENDPOINT_FIELDS));
    },
  },
  update: {
    usage: 'webhooks endpoints update ENDPOINT_ID [--endpoint-url URL] [--events TYPE,TYPE] [--description TEXT] [--disable | --enable]\n  Change an endpoint; --disable pauses deliveries, --enable resumes them.',
    options: { 'endpoint-url': { type: 'string' }, events: { type: 'string' }, description: { type: 'string' }, disable: { type: 'boolean' }, enable: { type: 'boolean' } },
    positionals: ['ENDPOINT_ID'],
    async run({ flags, positional, client, print }) {
      if (flags.disable && flags.enable) throw usageError('--disable and --enable exclude each other', 'Usage: nimbuspay webhooks endpoints update --help');
      const params = {
        ...(stringFlag(flags, 'endpoint-url') !== undefined ? { url: stringFlag(flags, 'endpoint-url') } : {}),
        ...(events(flags) ? { enabled_events: events(flags) } : {}),
        ...(stringFlag(flags, 'description') !== undefined ? { description: stringFlag(flags, 'description') } : {}),
        ...(flags.disable ? { disabled: true } : flags.enable ? { disabled: false } : {}),
      };
      if (Object.keys(params).length === 0) throw usageError('nothing to change', 'Usage: nimbuspay webhooks endpoints update --help');
      const e = await client().webhookEndpoints.update(positional('ENDPOINT_ID'), params as never);
      print(e, () => fields(e as Record<string, unknown>, ENDPOINT_FIELDS));
    },
  },
  delete: {
    usage: 'webhooks endpoints delete ENDPOINT_ID\n  Delete an endpoint (its pending deliveries are dropped).',
    options: {},
    positionals: ['ENDPOINT_ID'],
    async run({ positional, client, print }) {
      const d = await client().webhookEndpoints.del(positional('ENDPOINT_ID'));
      print(d, () => `Deleted webhook endpoint ${positional('ENDPOINT_ID')}\n`);
    },
  },
  'rotate-secret': {
    usage: 'webhooks endpoints rotate-secret ENDPOINT_ID [--expire-previous-after SECONDS]\n  New signing secret (printed once); the previous one keeps signing for SECONDS (default 86400).',
    options: { 'expire-previous-after': { type: 'string' } },
    positionals: ['ENDPOINT_ID'],
    async run({ flags, positional, client, print }) {
      const s = integerFlag(flags, 'expire-previous-after', 'webhooks endpoints rotate-secret');
      const e = await client().webhookEndpoints.rotateSecret(positional('ENDPOINT_ID'), s === undefined ? {} : { expire_previous_after_seconds: s });
      print(e, () => fields(e as Record<string, unknown>, ['id', 'url', 'previous_secret_expires_at', 'secret']) + secretNote);
    },
  },
};
