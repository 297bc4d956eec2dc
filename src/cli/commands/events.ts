import { fields, integerFlag, pageText, stringFlag, type Command } from '../command-kit.js';

export const eventCommands: Record<string, Command> = {
  list: {
    usage: 'events list [--limit N] [--starting-after ID] [--type TYPE] [--object-id ID]\n  List events, newest first (TYPE: e.g. payment.succeeded, payment.*, refund.*).',
    options: { limit: { type: 'string' }, 'starting-after': { type: 'string' }, type: { type: 'string' }, 'object-id': { type: 'string' } },
    async run({ flags, client, print }) {
      const query: Record<string, string | number> = {};
      const limit = integerFlag(flags, 'limit', 'events list', { min: 1 });
      if (limit !== undefined) query.limit = limit;
      for (const [flag, param] of [['starting-after', 'starting_after'], ['type', 'type'], ['object-id', 'object_id']] as const) {
        const v = stringFlag(flags, flag);
        if (v !== undefined) query[param] = v;
      }
      const page = await client().events.list(query as never);
      const body = { object: 'list', data: page.data, has_more: page.has_more };
      const rows = page.data.map((e) => ({ id: e.id, type: e.type, object_id: (e.data.object as { id?: string }).id, created_at: e.created_at }));
      print(body, () => pageText({ data: rows, has_more: page.has_more }, ['id', 'type', 'object_id', 'created_at']));
    },
  },
  get: {
    usage: 'events get EVENT_ID\n  Show one event with the object as it was when the event was recorded.',
    options: {},
    positionals: ['EVENT_ID'],
    async run({ positional, client, print }) {
      const e = await client().events.retrieve(positional('EVENT_ID'));
      print(e, () => `${fields(e as Record<string, unknown>, ['id', 'type', 'created_at'])}data.object:\n${JSON.stringify(e.data.object, null, 2)}\n`);
    },
  },
};
