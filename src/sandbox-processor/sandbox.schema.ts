import { Type, type Static } from '@sinclair/typebox';

/** Request schemas of the sandbox acquirer's wire API. Unknown fields are rejected, as a strict acquirer would. */

const Amount = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
const Currency = Type.String({ pattern: '^[A-Za-z]{3}$' });

export const AuthorizationBody = Type.Object(
  {
    amount: Amount,
    currency: Currency,
    capture: Type.Boolean(),
    card: Type.Object(
      {
        number: Type.String({ pattern: '^[0-9]{12,19}$' }),
        exp_month: Type.Integer({ minimum: 1, maximum: 12 }),
        exp_year: Type.Integer({ minimum: 2000, maximum: 9999 }),
        cvc: Type.String({ pattern: '^[0-9]{3,4}$' }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type AuthorizationBody = Static<typeof AuthorizationBody>;

export const CaptureBody = Type.Object({ amount: Type.Optional(Amount) }, { additionalProperties: false });
export type CaptureBody = Static<typeof CaptureBody>;

export const RefundBody = Type.Object(
  { authorization_id: Type.String({ minLength: 1, maxLength: 64 }), amount: Amount },
  { additionalProperties: false },
);
export type RefundBody = Static<typeof RefundBody>;

export const BankDebitBody = Type.Object(
  {
    amount: Amount,
    currency: Type.Literal('usd'),
    account: Type.Object(
      {
        account_number: Type.String({ pattern: '^[0-9]{4,17}$' }),
        routing_number: Type.String({ pattern: '^[0-9]{9}$' }),
        account_type: Type.Union([Type.Literal('checking'), Type.Literal('savings')]),
        holder_name: Type.String({ minLength: 1, maxLength: 100 }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type BankDebitBody = Static<typeof BankDebitBody>;

export const BankCreditBody = Type.Object(
  { debit_id: Type.String({ minLength: 1, maxLength: 64 }), amount: Amount },
  { additionalProperties: false },
);
export type BankCreditBody = Static<typeof BankCreditBody>;

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
export type IdParams = Static<typeof IdParams>;

export const KeyParams = Type.Object({ key: Type.String({ minLength: 1, maxLength: 255 }) });
export type KeyParams = Static<typeof KeyParams>;

export const ControlBody = Type.Object(
  {
    latency_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })),
    error_rate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    stop_answering: Type.Optional(Type.Boolean()),
    drop_notifications: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type ControlBody = Static<typeof ControlBody>;
