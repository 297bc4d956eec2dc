import { cardError, invalidRequest, parameterMissing } from './stripe-errors.js';
import { findObject, insertObject, updateObject, type StripeObject } from './stripe-local-store.js';
import { scheduleTask } from './work-store.js';
import { newStripeId } from './stripe-ids.js';
import { abaChecksumValid } from '../platform/aba-routing.js';
import {
  buildBankPaymentMethod,
  buildCardPaymentMethod,
  buildCharge,
  buildPaymentIntent,
  type BankAccountInput,
} from './stripe-objects.js';
import { emit, EXPANDABLE_ON_PAYMENT_INTENT, fail, ok, renderPaymentIntent, type ServiceContext } from './service-context.js';
import type { ApiResult } from './idempotency.js';
import {
  bankBehaviour,
  cardBehaviour,
  cardBehaviourOfFingerprint,
  checkRawCard,
  type CardBehaviour,
  type RawCard,
} from './test-instruments.js';

export interface CreatePaymentIntentInput {
  amount: number;
  currency: string;
  captureMethod: 'automatic' | 'manual';
  confirm: boolean;
  paymentMethodTypes: string[];
  /** As given in `allowed_payment_method_types` (echoed on the object), or null. */
  allowedPaymentMethodTypes: string[] | null;
  card?: RawCard;
  bank?: BankAccountInput;
  /** An existing PaymentMethod (`pm_…`), e.g. one created from raw card numbers by POST /v1/payment_methods. */
  paymentMethodId?: string;
  billingName?: string;
  description?: string;
  metadata: Record<string, string>;
  expand: string[];
}

/** Smallest charge per currency (Stripe's minimums for the currencies NimbusPay uses). */
const MINIMUM_AMOUNT: Readonly<Record<string, number>> = { usd: 50, eur: 50, cad: 50, aud: 50, chf: 50, gbp: 30 };
const MAXIMUM_AMOUNT = 99_999_999;

type Obj = Record<string, unknown>;

/** Checks made before the endpoint runs: failures here are 400s that Stripe does not save under the key. */
export function prepareCreatePaymentIntent(params: Obj): CreatePaymentIntentInput {
  const amount = params.amount as number;
  const currency = (params.currency as string).toLowerCase();
  if (!/^[a-z]{3}$/.test(currency)) throw invalidRequest(`Invalid currency: ${currency}.`, { param: 'currency' });
  if (amount < 1) throw invalidRequest('This value must be greater than or equal to 1.', { param: 'amount' });
  const min = MINIMUM_AMOUNT[currency];
  if (min !== undefined && amount < min) {
    throw invalidRequest(`Amount must be at least ${(min / 100).toFixed(2)} ${currency}`, { code: 'amount_too_small', param: 'amount' });
  }
  if (amount > MAXIMUM_AMOUNT) {
    throw invalidRequest(`Amount must be no more than 999,999.99 ${currency}`, { code: 'amount_too_large', param: 'amount' });
  }
  if (params.payment_method_types !== undefined && params.allowed_payment_method_types !== undefined) {
    throw invalidRequest('You may only specify one of these parameters: allowed_payment_method_types, payment_method_types.', {
      code: 'parameters_exclusive',
      param: 'allowed_payment_method_types',
    });
  }
  const allowed = (params.allowed_payment_method_types as string[] | undefined) ?? null;
  const types = allowed ?? (params.payment_method_types as string[] | undefined) ?? ['card'];
  const expand = (params.expand as string[] | undefined) ?? [];
  for (const field of expand) {
    if (!(EXPANDABLE_ON_PAYMENT_INTENT as readonly string[]).includes(field)) {
      throw invalidRequest(`This property cannot be expanded (${field}).`, { param: 'expand' });
    }
  }
  const input: CreatePaymentIntentInput = {
    amount,
    currency,
    captureMethod: (params.capture_method as 'automatic' | 'manual' | undefined) ?? 'automatic',
    confirm: (params.confirm as boolean | undefined) ?? false,
    paymentMethodTypes: types,
    allowedPaymentMethodTypes: allowed,
    metadata: (params.metadata as Record<string, string> | undefined) ?? {},
    expand,
    ...(params.description !== undefined ? { description: params.description as string } : {}),
  };
  const pmd = params.payment_method_data as Obj | undefined;
  if (pmd && params.payment_method !== undefined) {
    throw invalidRequest('You cannot provide both payment_method and payment_method_data.', { code: 'parameters_exclusive', param: 'payment_method' });
  }
  if (pmd) Object.assign(input, preparePaymentMethodData(pmd, types));
  if (params.payment_method !== undefined) input.paymentMethodId = params.payment_method as string;
  const bank = input.bank !== undefined;
  if (input.confirm && !input.card && !bank && input.paymentMethodId === undefined) {
    throw invalidRequest(
      "You cannot confirm this PaymentIntent because it's missing a payment method. You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method.",
      { code: 'payment_intent_unexpected_state' },
    );
  }
  if (bank || (types.length === 1 && types[0] === 'us_bank_account')) {
    if (currency !== 'usd') {
      throw invalidRequest(`The currency provided (${currency}) is invalid. Payments with us_bank_account support the following currencies: usd.`, { param: 'currency' });
    }
    if (input.captureMethod === 'manual') {
      throw invalidRequest('The payment method type us_bank_account does not support manual capture.', { param: 'capture_method' });
    }
  }
  if (bank && input.confirm) {
    const acceptance = (params.mandate_data as Obj | undefined)?.customer_acceptance as Obj | undefined;
    if (!acceptance) throw parameterMissing('mandate_data');
    if (acceptance.type === undefined) throw parameterMissing('mandate_data[customer_acceptance][type]');
  }
  return input;
}

function preparePaymentMethodData(pmd: Obj, types: string[]): Partial<CreatePaymentIntentInput> {
  const type = pmd.type as string | undefined;
  if (type === undefined) throw parameterMissing('payment_method_data[type]');
  if (!types.includes(type)) {
    throw invalidRequest(
      `The PaymentMethod provided (${type}) is not allowed for this PaymentIntent. Allowed types: ${types.join(', ')}.`,
      { code: 'payment_intent_invalid_parameter', param: 'payment_method_data[type]' },
    );
  }
  const other = type === 'card' ? 'us_bank_account' : 'card';
  if (pmd[other] !== undefined) {
    throw invalidRequest(`payment_method_data[${other}] cannot be given when payment_method_data[type] is ${type}.`, { param: `payment_method_data[${other}]` });
  }
  const billingName = (pmd.billing_details as Obj | undefined)?.name as string | undefined;
  const named = billingName !== undefined ? { billingName } : {};
  if (type === 'card') {
    const card = pmd.card as Obj | undefined;
    if (!card) throw parameterMissing('payment_method_data[card]');
    for (const field of ['number', 'exp_month', 'exp_year']) {
      if (card[field] === undefined) throw parameterMissing(`payment_method_data[card][${field}]`);
    }
    return { card: card as unknown as RawCard, ...named };
  }
  const bank = pmd.us_bank_account as Obj | undefined;
  if (!bank) throw parameterMissing('payment_method_data[us_bank_account]');
  for (const field of ['account_number', 'routing_number']) {
    if (bank[field] === undefined) throw parameterMissing(`payment_method_data[us_bank_account][${field}]`);
  }
  if (!abaChecksumValid(bank.routing_number as string)) {
    throw invalidRequest('Invalid routing number.', { param: 'payment_method_data[us_bank_account][routing_number]' });
  }
  if (!/^\d{4,17}$/.test(bank.account_number as string)) {
    throw invalidRequest('Invalid account number.', { param: 'payment_method_data[us_bank_account][account_number]' });
  }
  return { bank: bank as unknown as BankAccountInput, ...named };
}

export async function createPaymentIntent(ctx: ServiceContext, input: CreatePaymentIntentInput): Promise<ApiResult> {
  let pm: StripeObject | undefined;
  if (input.card) {
    const problem = checkRawCard(input.card, ctx.nowMs);
    // Stripe checks the card while creating the PaymentMethod, before any PaymentIntent exists.
    if (problem) return fail(ctx, cardError({ code: problem.code, message: problem.message, param: problem.param }));
    pm = buildCardPaymentMethod(input.card, input.billingName, ctx.fingerprintKey);
  } else if (input.bank) {
    pm = buildBankPaymentMethod(input.bank, input.billingName, ctx.fingerprintKey);
  }
  if (pm) await insertObject(ctx.tx, 'payment_method', pm);
  if (input.paymentMethodId !== undefined) {
    pm = await findObject(ctx.tx, 'payment_method', input.paymentMethodId);
    if (!pm) return fail(ctx, invalidRequest(`No such PaymentMethod: '${input.paymentMethodId}'`, { code: 'resource_missing', param: 'payment_method' }));
    if (!input.paymentMethodTypes.includes(pm.type as string)) {
      return fail(ctx, invalidRequest(
        `The PaymentMethod provided (${pm.type as string}) is not allowed for this PaymentIntent. Allowed types: ${input.paymentMethodTypes.join(', ')}.`,
        { code: 'payment_intent_invalid_parameter', param: 'payment_method' },
      ));
    }
    if (pm.type !== 'card') {
      return fail(ctx, invalidRequest('This local server confirms only card PaymentMethods by id; send us_bank_account details in payment_method_data.', { param: 'payment_method' }));
    }
  }

  const pi = buildPaymentIntent({
    amount: input.amount,
    currency: input.currency,
    captureMethod: input.captureMethod,
    paymentMethodTypes: input.paymentMethodTypes,
    allowedPaymentMethodTypes: input.allowedPaymentMethodTypes,
    metadata: input.metadata,
    ...(input.description !== undefined ? { description: input.description } : {}),
  });
  if (pm) {
    pi.payment_method = pm.id;
    pi.status = 'requires_confirmation';
  }
  await insertObject(ctx.tx, 'payment_intent', pi);
  await emit(ctx, 'payment_intent.created', pi);
  if (!input.confirm || !pm) return ok(await renderPaymentIntent(ctx.tx, pi, input.expand));
  if (pm.type === 'card') {
    // The raw number is gone once the PaymentMethod exists; its keyed fingerprint still tells which test card it was.
    const behaviour = input.card ? cardBehaviour(input.card.number.replace(/[\s-]/g, '')) : cardBehaviourOfFingerprint((pm.card as { fingerprint: string }).fingerprint, ctx.fingerprintKey);
    return confirmCard(ctx, pi, pm, input, behaviour);
  }
  return confirmBankDebit(ctx, pi, pm, input);
}

async function confirmCard(ctx: ServiceContext, pi: StripeObject, pm: StripeObject, input: CreatePaymentIntentInput, behaviour: CardBehaviour): Promise<ApiResult> {
  if (behaviour.kind === 'decline') {
    const charge = buildCharge(pi, pm, { kind: 'declined', code: behaviour.code, message: behaviour.message, ...(behaviour.declineCode ? { declineCode: behaviour.declineCode } : {}) }, null);
    await insertObject(ctx.tx, 'charge', charge);
    const error = {
      charge: charge.id,
      code: behaviour.code,
      ...(behaviour.declineCode ? { decline_code: behaviour.declineCode } : {}),
      doc_url: `https://stripe.com/docs/error-codes/${behaviour.code.replace(/_/g, '-')}`,
      message: behaviour.message,
      ...(behaviour.param ? { param: behaviour.param } : {}),
      payment_method: pm,
      type: 'card_error',
    };
    // A declined attempt detaches the payment method; the PaymentIntent waits for another one.
    Object.assign(pi, { status: 'requires_payment_method', payment_method: null, latest_charge: charge.id, last_payment_error: error });
    await updateObject(ctx.tx, pi);
    await emit(ctx, 'charge.failed', charge);
    await emit(ctx, 'payment_intent.payment_failed', pi);
    const declined = cardError({
      code: behaviour.code,
      message: behaviour.message,
      charge: charge.id,
      paymentIntent: pi,
      paymentMethod: pm,
      ...(behaviour.declineCode ? { declineCode: behaviour.declineCode } : {}),
      ...(behaviour.param ? { param: behaviour.param } : {}),
    });
    return fail(ctx, declined);
  }

  const automatic = input.captureMethod === 'automatic';
  const charge = buildCharge(pi, pm, { kind: 'authorized', captured: automatic }, null);
  await insertObject(ctx.tx, 'charge', charge, { refundBehaviour: behaviour.kind === 'approve_refund_fails_later' ? 'fails_later' : 'normal' });
  Object.assign(pi, {
    latest_charge: charge.id,
    status: automatic ? 'succeeded' : 'requires_capture',
    amount_received: automatic ? input.amount : 0,
    amount_capturable: automatic ? 0 : input.amount,
  });
  await updateObject(ctx.tx, pi);
  await emit(ctx, 'charge.succeeded', charge);
  await emit(ctx, automatic ? 'payment_intent.succeeded' : 'payment_intent.amount_capturable_updated', pi);
  return ok(await renderPaymentIntent(ctx.tx, pi, input.expand));
}

async function confirmBankDebit(ctx: ServiceContext, pi: StripeObject, pm: StripeObject, input: CreatePaymentIntentInput): Promise<ApiResult> {
  // a us_bank_account PaymentMethod by id is refused above, so a bank debit always comes with its details
  if (!input.bank) throw new Error('stripe-local: a bank debit without payment_method_data');
  const { bank } = input;
  const charge = buildCharge(pi, pm, { kind: 'pending' }, newStripeId('mandate'));
  await insertObject(ctx.tx, 'charge', charge, { rail: 'ach' });
  Object.assign(pi, { latest_charge: charge.id, status: 'processing' });
  await updateObject(ctx.tx, pi);
  await emit(ctx, 'payment_intent.processing', pi);
  await emit(ctx, 'charge.pending', charge);
  const behaviour = bankBehaviour(bank.account_number);
  // Only the outcome travels with the due task: the account number itself is never stored.
  if (behaviour.kind !== 'stay_processing') {
    await scheduleTask(ctx.tx, { kind: 'ach_settle', objectId: pi.id, dueInMs: ctx.settlementDelayMs, payload: { behaviour } });
  }
  return ok(await renderPaymentIntent(ctx.tx, pi, input.expand));
}
