import type { PaymentCreateParams } from '@nimbuspay/sdk';
import { fields, integerFlag, keyValueFlags, pageText, requiredFlag, stringFlag, usageError, type Command } from '../command-kit.js';

const PAYMENT_FIELDS = ['id', 'status', 'amount', 'currency', 'amount_captured', 'amount_refunded', 'capture_method', 'payment_method', 'failure_code', 'failure_message', 'created_at'];
const PAYMENT_COLUMNS = ['id', 'status', 'amount', 'currency', 'created_at'];
const REFUND_FIELDS = ['id', 'payment_id', 'status', 'amount', 'currency', 'reason', 'failure_code', 'created_at'];

const CREATE = `payments create --amount MINOR --currency CUR (--card NUMBER [--exp MM/YYYY] [--cvc CVC] | --bank-account NUMBER --routing-number N)
                    [--capture-method automatic|manual] [--description TEXT] [--customer-reference REF]
                    [--metadata key=value ...] [--idempotency-key KEY]
  Create a payment. Amounts are minor units (2000 = 20.00 USD). In the sandbox, card 4242424242424242 succeeds
  and 4000000000000002 is declined (README: test cards).`;

function paymentMethod(flags: Record<string, unknown>): PaymentCreateParams['payment_method'] {
  const card = stringFlag(flags as never, 'card');
  const account = stringFlag(flags as never, 'bank-account');
  if (card !== undefined && account === undefined) {
    const exp = stringFlag(flags as never, 'exp') ?? `12/${new Date().getUTCFullYear() + 2}`;
    const m = /^(\d{1,2})\/(\d{4})$/.exec(exp);
    if (!m) throw usageError(`--exp must be MM/YYYY (got '${exp}')`, `Usage: nimbuspay ${CREATE}`);
    const cvc = stringFlag(flags as never, 'cvc') ?? (card.startsWith('34') || card.startsWith('37') ? '1234' : '123');
    return { type: 'card', card: { number: card, exp_month: Number(m[1]), exp_year: Number(m[2]), cvc } } as PaymentCreateParams['payment_method'];
  }
  if (account !== undefined && card === undefined) {
    const routing = requiredFlag(flags as never, 'routing-number', CREATE);
    return { type: 'bank_transfer', bank_account: { account_number: account, routing_number: routing } } as PaymentCreateParams['payment_method'];
  }
  throw usageError('give --card or --bank-account', `Usage: nimbuspay ${CREATE}`);
}

export const paymentCommands: Record<string, Command> = {
  create: {
    usage: CREATE,
    options: {
      amount: { type: 'string' }, currency: { type: 'string' }, card: { type: 'string' }, exp: { type: 'string' }, cvc: { type: 'string' },
      'bank-account': { type: 'string' }, 'routing-number': { type: 'string' }, 'capture-method': { type: 'string' },
      description: { type: 'string' }, 'customer-reference': { type: 'string' }, metadata: { type: 'string', multiple: true },
      'idempotency-key': { type: 'string' },
    },
    async run({ flags, client, print }) {
      const amount = integerFlag(flags, 'amount', CREATE, { min: 1 });
      if (amount === undefined) throw usageError('--amount is required', `Usage: nimbuspay ${CREATE}`);
      const capture = stringFlag(flags, 'capture-method');
      if (capture !== undefined && capture !== 'automatic' && capture !== 'manual') throw usageError('--capture-method is automatic or manual', `Usage: nimbuspay ${CREATE}`);
      const params = {
        amount,
        currency: requiredFlag(flags, 'currency', CREATE),
        payment_method: paymentMethod(flags),
        ...(capture ? { capture_method: capture } : {}),
        ...(stringFlag(flags, 'description') !== undefined ? { description: stringFlag(flags, 'description') } : {}),
        ...(stringFlag(flags, 'customer-reference') !== undefined ? { customer_reference: stringFlag(flags, 'customer-reference') } : {}),
        ...(keyValueFlags(flags, 'metadata', CREATE) ? { metadata: keyValueFlags(flags, 'metadata', CREATE) } : {}),
      } as PaymentCreateParams;
      const key = stringFlag(flags, 'idempotency-key');
      const p = await client().payments.create(params, key ? { idempotencyKey: key } : {});
      print(p, () => fields(p as Record<string, unknown>, PAYMENT_FIELDS));
    },
  },
  get: {
    usage: 'payments get PAYMENT_ID [--expand attempts]\n  Show one payment.',
    options: { expand: { type: 'string' } },
    positionals: ['PAYMENT_ID'],
    async run({ flags, positional, client, print }) {
      const expand = stringFlag(flags, 'expand');
      const p = await client().payments.retrieve(positional('PAYMENT_ID'), expand ? { expand } as never : undefined);
      print(p, () => fields(p as Record<string, unknown>, PAYMENT_FIELDS));
    },
  },
  list: {
    usage: 'payments list [--limit N] [--starting-after ID] [--status STATUS]\n  List payments, newest first.',
    options: { limit: { type: 'string' }, 'starting-after': { type: 'string' }, status: { type: 'string' } },
    async run({ flags, client, print }) {
      const limit = integerFlag(flags, 'limit', 'payments list', { min: 1 });
      const query: Record<string, string | number> = {};
      if (limit !== undefined) query.limit = limit;
      for (const [flag, param] of [['starting-after', 'starting_after'], ['status', 'status']] as const) {
        const v = stringFlag(flags, flag);
        if (v !== undefined) query[param] = v;
      }
      const page = await client().payments.list(query as never);
      const body = { object: 'list', data: page.data, has_more: page.has_more };
      print(body, () => pageText(body as never, PAYMENT_COLUMNS));
    },
  },
  capture: {
    usage: 'payments capture PAYMENT_ID [--amount MINOR] [--idempotency-key KEY]\n  Capture an authorized payment (all of it without --amount).',
    options: { amount: { type: 'string' }, 'idempotency-key': { type: 'string' } },
    positionals: ['PAYMENT_ID'],
    async run({ flags, positional, client, print }) {
      const amount = integerFlag(flags, 'amount', 'payments capture', { min: 1 });
      const key = stringFlag(flags, 'idempotency-key');
      const p = await client().payments.capture(positional('PAYMENT_ID'), amount === undefined ? {} : { amount }, key ? { idempotencyKey: key } : {});
      print(p, () => fields(p as Record<string, unknown>, PAYMENT_FIELDS));
    },
  },
  cancel: {
    usage: 'payments cancel PAYMENT_ID [--reason duplicate|fraudulent|requested_by_customer|abandoned] [--idempotency-key KEY]\n  Cancel (void) an authorized payment.',
    options: { reason: { type: 'string' }, 'idempotency-key': { type: 'string' } },
    positionals: ['PAYMENT_ID'],
    async run({ flags, positional, client, print }) {
      const reason = stringFlag(flags, 'reason');
      const key = stringFlag(flags, 'idempotency-key');
      const p = await client().payments.cancel(positional('PAYMENT_ID'), reason ? { cancellation_reason: reason } as never : {}, key ? { idempotencyKey: key } : {});
      print(p, () => fields(p as Record<string, unknown>, PAYMENT_FIELDS));
    },
  },
  refund: {
    usage: 'payments refund PAYMENT_ID [--amount MINOR] [--reason duplicate|fraudulent|requested_by_customer] [--idempotency-key KEY]\n  Refund a payment (all of what is left without --amount).',
    options: { amount: { type: 'string' }, reason: { type: 'string' }, 'idempotency-key': { type: 'string' } },
    positionals: ['PAYMENT_ID'],
    async run({ flags, positional, client, print }) {
      const amount = integerFlag(flags, 'amount', 'payments refund', { min: 1 });
      const reason = stringFlag(flags, 'reason');
      const key = stringFlag(flags, 'idempotency-key');
      const params = { ...(amount !== undefined ? { amount } : {}), ...(reason ? { reason } : {}) };
      const r = await client().refunds.create(positional('PAYMENT_ID'), params as never, key ? { idempotencyKey: key } : {});
      print(r, () => fields(r as Record<string, unknown>, REFUND_FIELDS));
    },
  },
};
