import { Type, type TSchema } from '@sinclair/typebox';
import { SUPPORTED_CURRENCIES } from '../../platform/money.js';
import { documentAs } from '../../platform/http/openapi.js';
import {
  BankAccountInputSchema, CancelPaymentBody, CapturePaymentBody, CardInputSchema, CreatePaymentBody, CreateRefundBody, PaymentSchema,
  ProcessorNotificationAck, RefundSchema,
} from './payments.schema.js';
import { PAYMENT_FAILURE_CODES, REFUND_FAILURE_CODES } from './failure-codes.js';

// What the OpenAPI document shows for the payments resources: the runtime schemas made precise where the service,
// not Ajv, enforces the rule (payment_method is one of two shapes; closed sets are enums), with examples.
// Conventions: src/platform/http/openapi.ts.

const literals = (values: readonly string[], options: Record<string, unknown> = {}) => Type.Union(values.map((v) => Type.Literal(v)), options);
const nullable = (t: TSchema) => Type.Union([t, Type.Null()]);
const CurrencyEnum = literals(SUPPORTED_CURRENCIES, { description: 'ISO 4217 code, lowercase (uppercase is accepted on input). Bank transfers: `usd` only.' });

export const CARD_PAYMENT_EXAMPLE = {
  id: 'pay_01jq8x4m3c7kq2v9d8r6t5w4yz',
  object: 'payment',
  status: 'succeeded',
  amount: 2000,
  currency: 'usd',
  capture_method: 'automatic',
  amount_capturable: 0,
  amount_captured: 2000,
  amount_refunded: 0,
  amount_reversed: 0,
  amount_settled: 2000,
  payment_method: {
    type: 'card',
    card: { brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2030, fingerprint: 'fp_3kq9x2m4c7v8d6r5t1w0yz' },
  },
  description: 'Order #1042',
  metadata: { order_id: '1042' },
  customer_reference: 'cus_acme_17',
  failure_code: null,
  failure_message: null,
  created_at: '2026-03-14T09:26:53.589Z',
  updated_at: '2026-03-14T09:26:53.912Z',
};

const CardPaymentMethodInput = Type.Object(
  { type: Type.Literal('card'), card: CardInputSchema },
  { $id: 'CardPaymentMethodInput', additionalProperties: false, description: 'A card: test cards such as 4242 4242 4242 4242 succeed in the sandbox.' },
);
const BankTransferPaymentMethodInput = Type.Object(
  { type: Type.Literal('bank_transfer'), bank_account: BankAccountInputSchema },
  { $id: 'BankTransferPaymentMethodInput', additionalProperties: false, description: 'A US bank account debited over ACH (settles in days).' },
);
const PaymentMethodInput = Type.Unsafe({
  oneOf: [CardPaymentMethodInput, BankTransferPaymentMethodInput],
  discriminator: { propertyName: 'type', mapping: { card: '#/components/schemas/CardPaymentMethodInput', bank_transfer: '#/components/schemas/BankTransferPaymentMethodInput' } },
});

export const CreatePaymentRequest = Type.Object(
  { ...CreatePaymentBody.properties, currency: CurrencyEnum, payment_method: PaymentMethodInput },
  {
    $id: 'CreatePaymentRequest',
    additionalProperties: false,
    examples: [{
      amount: 2000,
      currency: 'usd',
      payment_method: { type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: 2030, cvc: '123' } },
      capture_method: 'automatic',
      description: 'Order #1042',
      metadata: { order_id: '1042' },
      customer_reference: 'cus_acme_17',
    }],
  },
);

const CardDetails = Type.Object({
  brand: literals(['visa', 'mastercard', 'amex', 'discover']),
  last4: Type.String({ pattern: '^[0-9]{4}$' }),
  exp_month: Type.Integer({ minimum: 1, maximum: 12 }),
  exp_year: Type.Integer(),
  fingerprint: Type.String({ description: 'Same card → same fingerprint within NimbusPay (keyed HMAC; not reversible).' }),
}, { additionalProperties: false });
const BankAccountDetails = Type.Object({
  account_holder_name: Type.String(),
  routing_number: Type.String({ pattern: '^[0-9]{9}$' }),
  last4: Type.String({ pattern: '^[0-9]{4}$' }),
  account_type: literals(['checking', 'savings']),
  fingerprint: Type.String(),
}, { additionalProperties: false });
const CardPaymentMethod = Type.Object(
  { type: Type.Literal('card'), card: CardDetails },
  { $id: 'CardPaymentMethod', additionalProperties: false },
);
const BankTransferPaymentMethod = Type.Object(
  { type: Type.Literal('bank_transfer'), bank_account: BankAccountDetails },
  { $id: 'BankTransferPaymentMethod', additionalProperties: false },
);
const PaymentMethod = Type.Unsafe({
  oneOf: [CardPaymentMethod, BankTransferPaymentMethod],
  discriminator: { propertyName: 'type', mapping: { card: '#/components/schemas/CardPaymentMethod', bank_transfer: '#/components/schemas/BankTransferPaymentMethod' } },
});

const PaymentDoc = Type.Object(
  {
    ...PaymentSchema.properties,
    currency: CurrencyEnum,
    capture_method: literals(['automatic', 'manual']),
    payment_method: PaymentMethod,
    failure_code: nullable(literals(PAYMENT_FAILURE_CODES, { description: 'Why the payment failed (a decline, a processing error or a bank return).' })),
  },
  { $id: 'Payment', examples: [CARD_PAYMENT_EXAMPLE] },
);

export const REFUND_EXAMPLE = {
  id: 're_01jq8x9b2d4f6h8k0m2p4r6t8v',
  object: 'refund',
  payment_id: 'pay_01jq8x4m3c7kq2v9d8r6t5w4yz',
  amount: 500,
  currency: 'usd',
  status: 'succeeded',
  reason: 'requested_by_customer',
  failure_code: null,
  failure_message: null,
  created_at: '2026-03-15T10:02:11.044Z',
  updated_at: '2026-03-15T10:02:11.310Z',
};
const RefundDoc = Type.Object(
  {
    ...RefundSchema.properties,
    currency: CurrencyEnum,
    reason: nullable(literals(['duplicate', 'fraudulent', 'requested_by_customer'])),
    failure_code: nullable(literals(REFUND_FAILURE_CODES)),
  },
  { $id: 'Refund', examples: [REFUND_EXAMPLE] },
);

documentAs(CreatePaymentBody, CreatePaymentRequest);
documentAs(PaymentSchema, PaymentDoc);
documentAs(RefundSchema, RefundDoc);
documentAs(CapturePaymentBody, Type.Object(CapturePaymentBody.properties, {
  ...pick(CapturePaymentBody), $id: 'CapturePaymentRequest', examples: [{ amount: 1500 }],
}));
documentAs(CancelPaymentBody, Type.Object(CancelPaymentBody.properties, {
  ...pick(CancelPaymentBody), $id: 'CancelPaymentRequest', examples: [{ cancellation_reason: 'requested_by_customer' }],
}));
documentAs(CreateRefundBody, Type.Object(CreateRefundBody.properties, {
  ...pick(CreateRefundBody), $id: 'CreateRefundRequest', examples: [{ amount: 500, reason: 'requested_by_customer' }],
}));

function pick(schema: TSchema): Record<string, unknown> {
  return { additionalProperties: false, ...(schema.description ? { description: schema.description } : {}) };
}

documentAs(ProcessorNotificationAck, Type.Object(ProcessorNotificationAck.properties, {
  $id: 'ProcessorNotificationAck', examples: [{ received: true, duplicate: false }],
}));
