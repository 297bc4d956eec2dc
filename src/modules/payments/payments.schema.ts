import { Type, type Static } from '@sinclair/typebox';
import { MAX_AMOUNT_MINOR } from '../../platform/money.js';
import { MAX_TIME_FILTER_SECONDS } from '../events/index.js';
import { PAYMENT_STATUSES } from './payment-state.js';
import { REFUND_STATUSES } from './refund-state.js';

const Amount = Type.Integer({ minimum: 1, maximum: Number(MAX_AMOUNT_MINOR), description: 'Integer amount in minor units (cents; yen for JPY).' });
const Currency = Type.String({ pattern: '^[a-zA-Z]{3}$', description: 'ISO 4217 code, e.g. `usd`, `eur`, `jpy`.' });
const Timestamp = Type.String({ format: 'date-time' });
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

/**
 * Stripe's metadata rules, which payment developers know. The key rules are `propertyNames`, not the Record's key
 * schema: TypeBox turns a Record key into a catch-all pattern and drops its bounds, so they were never checked.
 * Square brackets are refused in keys because errors name a key as `metadata[key]`.
 */
export const METADATA_LIMITS = { maxKeys: 50, maxKeyLength: 40, maxValueLength: 500 } as const;
export const MetadataSchema = Type.Record(Type.String(), Type.String({ maxLength: METADATA_LIMITS.maxValueLength }), {
  maxProperties: METADATA_LIMITS.maxKeys,
  propertyNames: { type: 'string', minLength: 1, maxLength: METADATA_LIMITS.maxKeyLength, pattern: '^[^\\[\\]]*$' },
  description: `Up to ${METADATA_LIMITS.maxKeys} keys of 1–${METADATA_LIMITS.maxKeyLength} characters (no square brackets), `
    + `each with a string value of at most ${METADATA_LIMITS.maxValueLength} characters.`,
});

export const CardInputSchema = Type.Object(
  {
    number: Type.String({ minLength: 1, maxLength: 32, description: 'Card number, digits only. Never stored.' }),
    exp_month: Type.Integer({ minimum: 1, maximum: 12 }),
    exp_year: Type.Integer({ minimum: 1000, maximum: 9999 }),
    cvc: Type.String({ minLength: 1, maxLength: 8, description: 'Never stored.' }),
  },
  { additionalProperties: false },
);

export const BankAccountInputSchema = Type.Object(
  {
    account_holder_name: Type.String({ minLength: 1, maxLength: 100 }),
    account_number: Type.String({ minLength: 1, maxLength: 32, description: '4–17 digits. Only the last 4 are stored.' }),
    routing_number: Type.String({ minLength: 1, maxLength: 32, description: '9-digit ABA routing number.' }),
    account_type: Type.Union([Type.Literal('checking'), Type.Literal('savings')]),
  },
  { additionalProperties: false },
);

export const CreatePaymentBody = Type.Object(
  {
    amount: Amount,
    currency: Currency,
    payment_method: Type.Object(
      {
        type: Type.Union([Type.Literal('card'), Type.Literal('bank_transfer')]),
        card: Type.Optional(CardInputSchema),
        bank_account: Type.Optional(BankAccountInputSchema),
      },
      { additionalProperties: false },
    ),
    capture_method: Type.Optional(Type.Union([Type.Literal('automatic'), Type.Literal('manual')], { default: 'automatic' })),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    metadata: Type.Optional(MetadataSchema),
    customer_reference: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type CreatePaymentInput = Static<typeof CreatePaymentBody>;

export const CapturePaymentBody = Type.Object(
  { amount: Type.Optional(Amount) },
  { additionalProperties: false, description: 'Omit `amount` to capture everything authorized; a partial capture releases the rest.' },
);
export const CancelPaymentBody = Type.Object(
  { cancellation_reason: Type.Optional(Type.Union([Type.Literal('duplicate'), Type.Literal('fraudulent'), Type.Literal('requested_by_customer'), Type.Literal('abandoned')])) },
  { additionalProperties: false },
);
export const CreateRefundBody = Type.Object(
  {
    amount: Type.Optional(Amount),
    reason: Type.Optional(Type.Union([Type.Literal('duplicate'), Type.Literal('fraudulent'), Type.Literal('requested_by_customer')])),
  },
  { additionalProperties: false },
);
export type CreateRefundInput = Static<typeof CreateRefundBody>;

export const PaymentIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) }, { additionalProperties: false });
export const RefundIdParams = PaymentIdParams;

export const PaymentQuery = Type.Object(
  { expand: Type.Optional(Type.Literal('attempts', { description: 'Include processor attempts and the status history.' })) },
  { additionalProperties: false },
);

export const ListPaymentsQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
    starting_after: Type.Optional(Type.String({ maxLength: 64 })),
    ending_before: Type.Optional(Type.String({ maxLength: 64 })),
    status: Type.Optional(Type.Union(PAYMENT_STATUSES.map((s) => Type.Literal(s)))),
    customer_reference: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    'created[gte]': Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_TIME_FILTER_SECONDS, description: 'Unix seconds, inclusive.' })),
    'created[lte]': Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_TIME_FILTER_SECONDS, description: 'Unix seconds, inclusive.' })),
  },
  { additionalProperties: false },
);
export type ListPaymentsFilter = Static<typeof ListPaymentsQuery>;

export const ListRefundsQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
    starting_after: Type.Optional(Type.String({ maxLength: 64 })),
    ending_before: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

const CardResourceSchema = Type.Object({
  brand: Type.String(),
  last4: Type.String(),
  exp_month: Type.Integer(),
  exp_year: Type.Integer(),
  fingerprint: Type.String({ description: 'Same card → same fingerprint within NimbusPay (keyed HMAC; not reversible).' }),
});

const BankAccountResourceSchema = Type.Object({
  account_holder_name: Type.String(),
  routing_number: Type.String(),
  last4: Type.String(),
  account_type: Type.String(),
  fingerprint: Type.String(),
});

export const BankTransferStatusSchema = Type.Object({
  rail_status: Type.Union(['pending', 'submitted', 'settled', 'returned', 'canceled'].map((s) => Type.Literal(s))),
  return_code: Nullable(Type.String()),
  return_reason: Nullable(Type.String()),
  submitted_at: Nullable(Timestamp),
  settled_at: Nullable(Timestamp),
  returned_at: Nullable(Timestamp),
  expected_settlement_at: Nullable(Timestamp),
});

export const AttemptSchema = Type.Object({
  id: Type.String(),
  operation: Type.String(),
  amount: Type.Integer(),
  status: Type.Union(['pending', 'succeeded', 'failed', 'unknown'].map((s) => Type.Literal(s))),
  processor_reference: Nullable(Type.String()),
  failure_code: Nullable(Type.String()),
  failure_message: Nullable(Type.String()),
  latency_ms: Type.Union([Type.Integer(), Type.Null()]),
  reconcile_count: Type.Integer(),
  created_at: Timestamp,
  completed_at: Nullable(Timestamp),
});

export const TransitionSchema = Type.Object({
  from_status: Nullable(Type.String()),
  to_status: Type.String(),
  rail_status: Nullable(Type.String()),
  reason: Type.String(),
  created_at: Timestamp,
});

export const PaymentSchema = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('payment'),
    status: Type.Union(PAYMENT_STATUSES.map((s) => Type.Literal(s))),
    amount: Type.Integer(),
    currency: Type.String(),
    capture_method: Type.String(),
    amount_capturable: Type.Integer(),
    amount_captured: Type.Integer(),
    amount_refunded: Type.Integer({ description: 'Refunds not failed, pending included (reserved against the captured amount).' }),
    amount_reversed: Type.Integer({ description: 'Bank transfers: amount taken back by a return after settlement.' }),
    amount_settled: Type.Integer({ description: 'Bank transfers: amount settled and still held (captured − reversed); cards: captured.' }),
    payment_method: Type.Object({
      type: Type.String(),
      card: Type.Optional(CardResourceSchema),
      bank_account: Type.Optional(BankAccountResourceSchema),
    }),
    bank_transfer: Type.Optional(BankTransferStatusSchema),
    description: Nullable(Type.String()),
    metadata: Type.Record(Type.String(), Type.String()),
    customer_reference: Nullable(Type.String()),
    failure_code: Nullable(Type.String()),
    failure_message: Nullable(Type.String()),
    created_at: Timestamp,
    updated_at: Timestamp,
    attempts: Type.Optional(Type.Array(AttemptSchema)),
    status_history: Type.Optional(Type.Array(TransitionSchema)),
  },
  { $id: 'Payment' },
);
export type PaymentResource = Static<typeof PaymentSchema>;

export const RefundSchema = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('refund'),
    payment_id: Type.String(),
    amount: Type.Integer(),
    currency: Type.String(),
    status: Type.Union(REFUND_STATUSES.map((s) => Type.Literal(s))),
    reason: Nullable(Type.String()),
    failure_code: Nullable(Type.String()),
    failure_message: Nullable(Type.String()),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'Refund' },
);
export type RefundResource = Static<typeof RefundSchema>;

// ---- inbound processor notifications --------------------------------------------------------------------------
// Extra fields are tolerated on purpose: the processor may add fields at any time, and a notification refused for
// that would be retried forever. The body is validated only after its signature is verified.

export const ProcessorNotificationParams = Type.Object(
  { processor: Type.String({ maxLength: 64, description: 'The processor sending the notification (`sandbox`).' }) },
  { additionalProperties: false },
);

export const ProcessorNotificationEnvelope = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 128, description: 'Notification id: each id is processed once, however often it is delivered.' }),
  type: Type.String({ minLength: 1, maxLength: 100, description: 'e.g. `bank_debit.settled`, `bank_debit.returned`.' }),
  created: Type.Optional(Type.Integer()),
  data: Type.Record(Type.String(), Type.Unknown()),
});
export type ProcessorNotificationEnvelope = Static<typeof ProcessorNotificationEnvelope>;

const OptionalText = Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()]));
export const BankDebitNotificationData = Type.Object({
  debit_id: Type.String({ minLength: 1, maxLength: 128 }),
  idempotency_key: Type.Optional(Type.String({ maxLength: 128 })),
  status: Type.Union([Type.Literal('submitted'), Type.Literal('settled'), Type.Literal('returned')]),
  return_code: OptionalText,
  return_reason: OptionalText,
  settled_at: OptionalText,
  returned_at: OptionalText,
});
export type BankDebitNotificationData = Static<typeof BankDebitNotificationData>;

export const ProcessorNotificationAck = Type.Object({
  received: Type.Literal(true),
  duplicate: Type.Boolean({ description: 'True when this notification id had already been processed (nothing was done again).' }),
});
export type ProcessorNotificationAck = Static<typeof ProcessorNotificationAck>;
