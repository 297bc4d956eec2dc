import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

/**
 * The sandbox acquirer's response bodies as this adapter expects them. Written from the adapter's side, as for
 * any external API (the sandbox is not imported): extra fields are tolerated so the processor can add some, missing
 * or mistyped ones make the answer `bad_response`.
 */

const Amount = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const OptionalText = Type.Optional(Type.Union([Type.String(), Type.Null()]));

export const WireAuthorization = Type.Object({
  id: Type.String({ minLength: 1 }),
  object: Type.Literal('authorization'),
  status: Type.Union([Type.Literal('approved'), Type.Literal('declined')]),
  decline_code: OptionalText,
  decline_message: OptionalText,
  amount: Amount,
  currency: Type.String({ pattern: '^[A-Za-z]{3}$' }),
  captured_amount: Amount,
  voided: Type.Optional(Type.Boolean()),
  card: Type.Object({ brand: Type.String(), last4: Type.String({ pattern: '^[0-9]{4}$' }) }),
});
export type WireAuthorization = Static<typeof WireAuthorization>;

export const WireRefund = Type.Object({
  id: Type.String({ minLength: 1 }),
  object: Type.Literal('refund'),
  status: Type.Union([Type.Literal('approved'), Type.Literal('declined')]),
  decline_code: OptionalText,
  decline_message: OptionalText,
  authorization_id: Type.String({ minLength: 1 }),
  amount: Amount,
  currency: Type.String({ pattern: '^[A-Za-z]{3}$' }),
});
export type WireRefund = Static<typeof WireRefund>;

export const WireBankDebit = Type.Object({
  id: Type.String({ minLength: 1 }),
  object: Type.Literal('bank_debit'),
  status: Type.Union([Type.Literal('submitted'), Type.Literal('settled'), Type.Literal('returned'), Type.Literal('declined')]),
  decline_code: OptionalText,
  decline_message: OptionalText,
  amount: Amount,
  currency: Type.String({ pattern: '^[A-Za-z]{3}$' }),
  account: Type.Object({ last4: Type.String({ pattern: '^[0-9]{4}$' }) }),
  idempotency_key: Type.String(),
  submitted_at: Type.String(),
  settled_at: OptionalText,
  returned_at: OptionalText,
  return_code: OptionalText,
  return_reason: OptionalText,
});
export type WireBankDebit = Static<typeof WireBankDebit>;

export const WireBankCredit = Type.Object({
  id: Type.String({ minLength: 1 }),
  object: Type.Literal('bank_credit'),
  status: Type.String(),
  decline_code: OptionalText,
  debit_id: Type.String({ minLength: 1 }),
  amount: Amount,
  currency: Type.String({ pattern: '^[A-Za-z]{3}$' }),
});
export type WireBankCredit = Static<typeof WireBankCredit>;

export const WireOperation = Type.Object({
  object: Type.Literal('operation'),
  idempotency_key: Type.String(),
  operation: Type.Union([
    Type.Literal('authorization'),
    Type.Literal('capture'),
    Type.Literal('void'),
    Type.Literal('refund'),
    Type.Literal('bank_debit'),
    Type.Literal('bank_credit'),
  ]),
  status_code: Type.Integer(),
  result: Type.Unknown(),
});
export type WireOperation = Static<typeof WireOperation>;

export const WireError = Type.Object({ error: Type.String(), message: Type.Optional(Type.String()) });
export type WireError = Static<typeof WireError>;

export const wireAuthorizationCheck = TypeCompiler.Compile(WireAuthorization);
export const wireRefundCheck = TypeCompiler.Compile(WireRefund);
export const wireBankDebitCheck = TypeCompiler.Compile(WireBankDebit);
export const wireBankCreditCheck = TypeCompiler.Compile(WireBankCredit);
export const wireOperationCheck = TypeCompiler.Compile(WireOperation);
export const wireErrorCheck = TypeCompiler.Compile(WireError);
