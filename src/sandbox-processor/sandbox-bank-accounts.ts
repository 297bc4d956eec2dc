/** Deterministic test accounts of the sandbox bank rail and the debit life cycle computed from timestamps. */

export const SANDBOX_ROUTING_NUMBER = '110000000';

export interface AchReturn {
  code: string;
  reason: string;
}

export type DebitScenario =
  | { kind: 'settles' }
  | { kind: 'returned_before_settlement'; achReturn: AchReturn }
  | { kind: 'late_return'; achReturn: AchReturn };

const ACCOUNT_SCENARIOS: ReadonlyMap<string, DebitScenario> = new Map<string, DebitScenario>([
  ['000123456789', { kind: 'settles' }],
  ['000111111113', { kind: 'returned_before_settlement', achReturn: { code: 'R01', reason: 'Insufficient funds' } }],
  [
    '000111111116',
    { kind: 'returned_before_settlement', achReturn: { code: 'R03', reason: 'No account/unable to locate account' } },
  ],
  ['000222222227', { kind: 'late_return', achReturn: { code: 'R10', reason: 'Customer advises unauthorized' } }],
]);

/** Every test account number with its outcome, in table order (the testing guide renders them). */
export function listDebitScenarios(): ReadonlyArray<readonly [string, DebitScenario]> {
  return [...ACCOUNT_SCENARIOS];
}

export function resolveDebitScenario(accountNumber: string): DebitScenario {
  return ACCOUNT_SCENARIOS.get(accountNumber) ?? { kind: 'settles' };
}

export type DebitStatus = 'submitted' | 'settled' | 'returned';

export interface DebitState {
  status: DebitStatus;
  settledAtMs?: number;
  returnedAtMs?: number;
  achReturn?: AchReturn;
}

export interface DebitTimeline {
  submittedAtMs: number;
  scenario: DebitScenario;
}

export interface RailDelays {
  settlementDelayMs: number;
  lateReturnDelayMs: number;
}

/**
 * The debit's state at `nowMs`, derived only from its submission time and delays, so every GET tells the truth
 * however late its notifications are pushed, restarts included. Returns before settlement happen at the settlement
 * point; late returns `lateReturnDelayMs` after it.
 */
export function computeDebitState(debit: DebitTimeline, delays: RailDelays, nowMs: number): DebitState {
  const settlementAtMs = debit.submittedAtMs + delays.settlementDelayMs;
  if (nowMs < settlementAtMs) return { status: 'submitted' };
  const scenario = debit.scenario;
  switch (scenario.kind) {
    case 'settles':
      return { status: 'settled', settledAtMs: settlementAtMs };
    case 'returned_before_settlement':
      return { status: 'returned', returnedAtMs: settlementAtMs, achReturn: scenario.achReturn };
    case 'late_return': {
      const returnAtMs = settlementAtMs + delays.lateReturnDelayMs;
      if (nowMs < returnAtMs) return { status: 'settled', settledAtMs: settlementAtMs };
      return { status: 'returned', settledAtMs: settlementAtMs, returnedAtMs: returnAtMs, achReturn: scenario.achReturn };
    }
  }
}

/** The instants (ms) at which the debit's state changes, for pushing notifications. */
export function debitEventTimes(debit: DebitTimeline, delays: RailDelays): number[] {
  const settlementAtMs = debit.submittedAtMs + delays.settlementDelayMs;
  if (debit.scenario.kind === 'late_return') return [settlementAtMs, settlementAtMs + delays.lateReturnDelayMs];
  return [settlementAtMs];
}
