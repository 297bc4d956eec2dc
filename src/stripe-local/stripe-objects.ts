import type { StripeObject } from './stripe-local-store.js';
import { newStripeId, randomAlphanumeric, unixSeconds } from './stripe-ids.js';
import { cardFunding, detectCardBrand, instrumentFingerprint, TEST_BANK_NAME, type RawCard } from './test-instruments.js';

/**
 * Builders for the objects as Stripe renders them (field sets from the SDK's type definitions). Only last4 and a
 * keyed fingerprint of a card or account number ever reach an object.
 */

export interface BankAccountInput {
  account_number: string;
  routing_number: string;
  account_holder_type?: string;
  account_type?: string;
}

/** Same number → same fingerprint, as Stripe's; keyed so the fingerprint cannot be reversed by brute force. */

function billingDetails(name: string | undefined): Record<string, unknown> {
  return {
    address: { city: null, country: null, line1: null, line2: null, postal_code: null, state: null },
    email: null,
    name: name ?? null,
    phone: null,
    tax_id: null,
  };
}

export function buildCardPaymentMethod(card: RawCard, name: string | undefined, fingerprintKey: string): StripeObject {
  const number = card.number.replace(/[\s-]/g, '');
  const brand = detectCardBrand(number);
  return {
    id: newStripeId('paymentMethod'),
    object: 'payment_method',
    allow_redisplay: 'unspecified',
    billing_details: billingDetails(name),
    card: {
      brand,
      checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: card.cvc ? 'unchecked' : null },
      country: 'US',
      display_brand: brand,
      exp_month: card.exp_month,
      exp_year: card.exp_year < 100 ? 2000 + card.exp_year : card.exp_year,
      fingerprint: instrumentFingerprint(fingerprintKey, number),
      funding: cardFunding(number),
      generated_from: null,
      last4: number.slice(-4),
      networks: { available: [brand], preferred: null },
      regulated_status: 'unregulated',
      three_d_secure_usage: { supported: true },
      wallet: null,
    },
    created: unixSeconds(),
    customer: null,
    customer_account: null,
    livemode: false,
    metadata: {},
    type: 'card',
  };
}

export function buildBankPaymentMethod(bank: BankAccountInput, name: string | undefined, fingerprintKey: string): StripeObject {
  return {
    id: newStripeId('paymentMethod'),
    object: 'payment_method',
    allow_redisplay: 'unspecified',
    billing_details: billingDetails(name),
    created: unixSeconds(),
    customer: null,
    customer_account: null,
    livemode: false,
    metadata: {},
    type: 'us_bank_account',
    us_bank_account: {
      account_holder_type: bank.account_holder_type ?? 'individual',
      account_type: bank.account_type ?? 'checking',
      bank_name: TEST_BANK_NAME,
      financial_connections_account: null,
      fingerprint: instrumentFingerprint(fingerprintKey, `${bank.routing_number}:${bank.account_number}`),
      last4: bank.account_number.slice(-4),
      networks: { preferred: 'ach', supported: ['ach'] },
      routing_number: bank.routing_number,
      status_details: null,
    },
  };
}

export function buildPaymentIntent(fields: {
  amount: number;
  currency: string;
  captureMethod: string;
  paymentMethodTypes: string[];
  allowedPaymentMethodTypes: string[] | null;
  description?: string;
  metadata: Record<string, string>;
}): StripeObject {
  const id = newStripeId('paymentIntent');
  const methodOptions: Record<string, unknown> = {};
  if (fields.paymentMethodTypes.includes('card')) {
    methodOptions.card = { installments: null, mandate_options: null, network: null, request_three_d_secure: 'automatic' };
  }
  if (fields.paymentMethodTypes.includes('us_bank_account')) methodOptions.us_bank_account = { verification_method: 'automatic' };
  return {
    id,
    object: 'payment_intent',
    allowed_payment_method_types: fields.allowedPaymentMethodTypes,
    amount: fields.amount,
    amount_capturable: 0,
    amount_details: { tip: {} },
    amount_received: 0,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: null,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: fields.captureMethod,
    client_secret: `${id}_secret_${randomAlphanumeric(25)}`,
    confirmation_method: 'automatic',
    created: unixSeconds(),
    currency: fields.currency,
    customer: null,
    customer_account: null,
    description: fields.description ?? null,
    excluded_payment_method_types: null,
    last_payment_error: null,
    latest_charge: null,
    livemode: false,
    managed_payments: null,
    metadata: fields.metadata,
    next_action: null,
    on_behalf_of: null,
    payment_method: null,
    payment_method_configuration_details: null,
    payment_method_options: methodOptions,
    payment_method_types: fields.paymentMethodTypes,
    payment_record: null,
    processing: null,
    receipt_email: null,
    review: null,
    setup_future_usage: null,
    shipping: null,
    source: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: 'requires_payment_method',
    transfer_data: null,
    transfer_group: null,
  };
}

function methodDetails(pm: StripeObject, amount: number, mandateId: string | null): Record<string, unknown> {
  if (pm.type === 'card') {
    const card = pm.card as Record<string, unknown>;
    return {
      card: {
        amount_authorized: amount,
        authorization_code: null,
        brand: card.brand,
        checks: card.checks,
        country: card.country,
        exp_month: card.exp_month,
        exp_year: card.exp_year,
        extended_authorization: { status: 'disabled' },
        fingerprint: card.fingerprint,
        funding: card.funding,
        incremental_authorization: { status: 'unavailable' },
        installments: null,
        last4: card.last4,
        mandate: null,
        multicapture: { status: 'unavailable' },
        network: card.brand,
        network_token: { used: false },
        network_transaction_id: randomAlphanumeric(15),
        overcapture: { maximum_amount_capturable: amount, status: 'unavailable' },
        regulated_status: 'unregulated',
        three_d_secure: null,
        wallet: null,
      },
      type: 'card',
    };
  }
  const bank = pm.us_bank_account as Record<string, unknown>;
  return {
    type: 'us_bank_account',
    us_bank_account: {
      account_holder_type: bank.account_holder_type,
      account_type: bank.account_type,
      bank_name: bank.bank_name,
      fingerprint: bank.fingerprint,
      last4: bank.last4,
      mandate: mandateId,
      payment_reference: null,
      routing_number: bank.routing_number,
    },
  };
}

export type ChargeOutcome =
  | { kind: 'authorized'; captured: boolean }
  | { kind: 'declined'; code: string; declineCode?: string; message: string }
  | { kind: 'pending' };

export function buildCharge(pi: StripeObject, pm: StripeObject, outcome: ChargeOutcome, mandateId: string | null): StripeObject {
  const amount = pi.amount as number;
  const succeeded = outcome.kind === 'authorized';
  const captured = outcome.kind === 'pending' || (outcome.kind === 'authorized' && outcome.captured);
  return {
    id: newStripeId('charge'),
    object: 'charge',
    amount,
    amount_captured: captured ? amount : 0,
    amount_refunded: 0,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: succeeded && captured ? newStripeId('balanceTransaction') : null,
    billing_details: pm.billing_details,
    calculated_statement_descriptor: 'STRIPE LOCAL',
    captured,
    created: unixSeconds(),
    currency: pi.currency,
    customer: null,
    description: pi.description,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: outcome.kind === 'declined' ? outcome.code : null,
    failure_message: outcome.kind === 'declined' ? outcome.message : null,
    fraud_details: {},
    livemode: false,
    metadata: pi.metadata,
    on_behalf_of: null,
    outcome: chargeOutcome(outcome),
    paid: succeeded,
    payment_intent: pi.id,
    payment_method: pm.id,
    payment_method_details: methodDetails(pm, amount, mandateId),
    receipt_email: null,
    receipt_number: null,
    receipt_url: null,
    refunded: false,
    review: null,
    shipping: null,
    source: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: outcome.kind === 'authorized' ? 'succeeded' : outcome.kind === 'declined' ? 'failed' : 'pending',
    transfer_data: null,
    transfer_group: null,
  };
}

function chargeOutcome(outcome: ChargeOutcome): Record<string, unknown> | null {
  const base = { advice_code: null, network_advice_code: null, network_decline_code: null, risk_level: 'normal', rule: null };
  if (outcome.kind === 'authorized') {
    return { ...base, network_status: 'approved_by_network', reason: null, seller_message: 'Payment complete.', type: 'authorized' };
  }
  if (outcome.kind === 'declined') {
    return {
      ...base,
      network_status: 'declined_by_network',
      reason: outcome.declineCode ?? outcome.code,
      seller_message: 'The bank did not return any further details with this decline.',
      type: 'issuer_declined',
    };
  }
  return null;
}

export function buildRefund(fields: {
  charge: StripeObject;
  amount: number;
  status: 'pending' | 'succeeded';
  reason?: string;
  metadata: Record<string, string>;
  bank: boolean;
}): StripeObject {
  return {
    id: newStripeId('refund'),
    object: 'refund',
    amount: fields.amount,
    balance_transaction: newStripeId('balanceTransaction'),
    charge: fields.charge.id,
    created: unixSeconds(),
    currency: fields.charge.currency,
    customer: null,
    customer_account: null,
    destination_details: fields.bank
      ? { type: 'us_bank_transfer', us_bank_transfer: { reference: null, reference_status: 'pending' } }
      : { card: { reference: null, reference_status: 'pending', reference_type: 'acquirer_reference_number', type: 'refund' }, type: 'card' },
    metadata: fields.metadata,
    payment_intent: fields.charge.payment_intent,
    payment_method: fields.charge.payment_method,
    reason: fields.reason ?? null,
    receipt_number: null,
    source_transfer_reversal: null,
    status: fields.status,
    transfer_reversal: null,
  };
}

export function buildDispute(fields: { charge: StripeObject; amount: number; reason: string; status: string }): StripeObject {
  const nowS = unixSeconds();
  const details = fields.charge.payment_method_details as Record<string, unknown>;
  return {
    id: newStripeId('dispute'),
    object: 'dispute',
    amount: fields.amount,
    balance_transactions: [],
    charge: fields.charge.id,
    created: nowS,
    currency: fields.charge.currency,
    enhanced_eligibility_types: [],
    evidence: {},
    evidence_details: { due_by: nowS + 7 * 24 * 3600, has_evidence: false, past_due: false, submission_count: 0 },
    is_charge_refundable: false,
    livemode: false,
    metadata: {},
    payment_intent: fields.charge.payment_intent,
    payment_method_details: { type: details.type },
    reason: fields.reason,
    status: fields.status,
  };
}
