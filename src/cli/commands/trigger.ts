import type { NimbusPay, Payment, PaymentCreateParams } from '@nimbuspay/sdk';
import { usageError, type Command } from '../command-kit.js';

// The sandbox processor's test cards (README: "Test cards"). A live processor declines them, so trigger cannot move
// real money wherever it is pointed; the API does not say whether it runs against the sandbox, so that is the guard.
const CARDS = { succeeds: '4242424242424242', declined: '4000000000000002', refundDeclined: '4000000000000424' } as const;

function cardPayment(number: string, capture: 'automatic' | 'manual'): PaymentCreateParams {
  return {
    amount: 2000,
    currency: 'usd',
    capture_method: capture,
    description: 'nimbuspay trigger',
    payment_method: { type: 'card', card: { number, exp_month: 12, exp_year: new Date().getUTCFullYear() + 2, cvc: '123' } },
  } as PaymentCreateParams;
}

type Step = (np: NimbusPay) => Promise<Array<{ object: string; id: string; status: string }>>;
const summary = (o: { object?: string; id: string; status: string }) => ({ object: o.object ?? 'object', id: o.id, status: o.status });

const TRIGGERS: Record<string, { does: string; run: Step }> = {
  'payment.succeeded': {
    does: 'a card payment with 4242424242424242, captured at once',
    run: async (np) => [summary(await np.payments.create(cardPayment(CARDS.succeeds, 'automatic')) as Payment)],
  },
  'payment.failed': {
    does: 'a card payment with 4000000000000002 (declined)',
    run: async (np) => [summary(await np.payments.create(cardPayment(CARDS.declined, 'automatic')) as Payment)],
  },
  'payment.requires_capture': {
    does: 'a card payment with capture_method manual (authorized, not captured)',
    run: async (np) => [summary(await np.payments.create(cardPayment(CARDS.succeeds, 'manual')) as Payment)],
  },
  'payment.canceled': {
    does: 'an authorized payment, then canceled',
    run: async (np) => {
      const p = await np.payments.create(cardPayment(CARDS.succeeds, 'manual')) as Payment;
      return [summary(await np.payments.cancel(p.id) as Payment)];
    },
  },
  'refund.succeeded': {
    does: 'a succeeded payment, then refunded in full',
    run: async (np) => {
      const p = await np.payments.create(cardPayment(CARDS.succeeds, 'automatic')) as Payment;
      return [summary(p), summary(await np.refunds.create(p.id) as never)];
    },
  },
  'refund.failed': {
    does: 'a succeeded payment with 4000000000000424, whose refund the processor declines',
    run: async (np) => {
      const p = await np.payments.create(cardPayment(CARDS.refundDeclined, 'automatic')) as Payment;
      return [summary(p), summary(await np.refunds.create(p.id) as never)];
    },
  },
};

const USAGE = `trigger EVENT_TYPE
  Create the API objects that emit EVENT_TYPE, with the sandbox's test cards (a live processor declines them).
  The event reaches your webhook endpoints and \`nimbuspay listen\`. EVENT_TYPE is one of:
${Object.entries(TRIGGERS).map(([type, t]) => `    ${type.padEnd(26)}${t.does}`).join('\n')}`;

export const triggerCommand: Command = {
  usage: USAGE,
  options: {},
  positionals: ['EVENT_TYPE'],
  async run({ positional, client, print }) {
    const type = positional('EVENT_TYPE');
    const trigger = TRIGGERS[type];
    if (!trigger) throw usageError(`cannot trigger '${type}'`, `Usage: nimbuspay ${USAGE}`);
    const created = await trigger.run(client());
    print({ object: 'trigger', event_type: type, created }, () =>
      `Triggered ${type}: ${created.map((o) => `${o.object} ${o.id} (${o.status})`).join(', ')}\n`);
  },
};
