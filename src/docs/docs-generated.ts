import { ERROR_CODES } from '../platform/errors.js';
import { detectCardBrand, listCardScenarios, SANDBOX_APPROVED_CARDS, type CardScenario } from '../sandbox-processor/sandbox-cards.js';
import { listDebitScenarios, SANDBOX_ROUTING_NUMBER, type DebitScenario } from '../sandbox-processor/sandbox-bank-accounts.js';
import { escapeHtml } from './docs-page.js';
import { renderMarkdown } from './docs-markdown.js';

/**
 * The parts of the guides that are facts of the code, rendered from the code itself so they cannot drift: the
 * error codes, the sandbox's test cards and accounts, the webhook retry schedule.
 */

const code = (text: string) => `<code>${escapeHtml(text)}</code>`;

function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const head = `<thead><tr>${headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>`;
  const body = rows.map((cells) => `<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table>${head}<tbody>\n${body}\n</tbody></table>\n`;
}

/** One entry per error code, each with id="<code>": the target of every error's doc_url. */
export function renderErrorCodes(): string {
  return Object.entries(ERROR_CODES)
    .map(([name, entry]) => {
      return [
        `<section class="error-code" id="${escapeHtml(name)}">`,
        `<h3><a href="#${escapeHtml(name)}">${code(name)}</a></h3>`,
        `<p>HTTP ${entry.status} · type ${code(entry.type)}</p>`,
        // written beside the code in src/platform/errors.ts, in markdown (`code` spans)
        renderMarkdown(entry.description),
        '</section>',
      ].join('\n');
    })
    .join('\n');
}

function describeCard(scenario: CardScenario): string {
  switch (scenario.kind) {
    case 'approve':
      return 'Approved';
    case 'decline':
      return `Declined: the payment is ${code('failed')} with ${code('failure_code')} ${code(scenario.code)}`;
    case 'fail_server_error':
      return `The sandbox answers 500 to every attempt: the payment is ${code('failed')} with ${code('processing_error')}`;
    case 'approve_response_lost':
      return `Approved, but the answer arrives after NimbusPay's timeout: the payment stays ${code('processing')} until reconciliation finds it ${code('succeeded')}`;
    case 'lost_before_recording':
      return `Times out and the processor records nothing: reconciliation resolves the payment ${code('failed')} with ${code('processor_timeout')}`;
    case 'approve_refunds_declined':
      return `The payment succeeds; every refund of it is declined (the refund is ${code('failed')})`;
  }
}

export function renderTestCards(): string {
  const approved = SANDBOX_APPROVED_CARDS.map((number) => [code(number), escapeHtml(detectCardBrand(number)), describeCard({ kind: 'approve' })]);
  const special = listCardScenarios().map(([number, scenario]) => [code(number), escapeHtml(detectCardBrand(number)), describeCard(scenario)]);
  return table(['Card number', 'Brand', 'Outcome in the sandbox'], [...approved, ...special]);
}

function describeDebit(scenario: DebitScenario): string {
  switch (scenario.kind) {
    case 'settles':
      return `Settles: the payment becomes ${code('succeeded')}`;
    case 'returned_before_settlement':
      return `Returned before settlement with ${code(scenario.achReturn.code)} (${escapeHtml(scenario.achReturn.reason)}): the payment becomes ${code('failed')}`;
    case 'late_return':
      return `Settles (${code('succeeded')}), then a late return ${code(scenario.achReturn.code)} (${escapeHtml(scenario.achReturn.reason)}): the payment becomes ${code('reversed')}`;
  }
}

export function renderTestBankAccounts(): string {
  const rows = listDebitScenarios().map(([number, scenario]) => [code(number), code(SANDBOX_ROUTING_NUMBER), describeDebit(scenario)]);
  return table(['Account number', 'Routing number', 'Outcome in the sandbox'], rows);
}

function formatDuration(ms: number): string {
  const units: Array<[number, string]> = [[86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'min'], [1_000, 's']];
  const parts: string[] = [];
  let rest = ms;
  for (const [size, unit] of units) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)} ${unit}`);
      rest %= size;
    }
  }
  return parts.length > 0 ? parts.join(' ') : `${ms} ms`;
}

/** The configured retry schedule; each delay also gets ±20 % jitter when the worker schedules it. */
export function renderRetrySchedule(retryScheduleMs: readonly number[]): string {
  let elapsedMs = 0;
  const rows = retryScheduleMs.map((delayMs, index) => {
    elapsedMs += delayMs;
    return [String(index + 2), `${formatDuration(delayMs)} after attempt ${index + 1}`, formatDuration(elapsedMs)];
  });
  return table(['Attempt', 'When', 'Since the event (before jitter)'], [['1', 'at once', '0'], ...rows]);
}
