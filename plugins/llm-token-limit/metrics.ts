/** Decisions of llm-token-limit since the process started, for the metrics endpoint. */
export type TokenLimitDecision = 'allowed' | 'rejected' | 'store_failed_open' | 'store_failed_closed';

const decisions: Record<TokenLimitDecision, number> = { allowed: 0, rejected: 0, store_failed_open: 0, store_failed_closed: 0 };
const rejectionsByLimit = new Map<string, number>();
let settleFailures = 0;

export function countDecision(decision: TokenLimitDecision, limitName?: string): void {
  decisions[decision] += 1;
  if (decision === 'rejected' && limitName) rejectionsByLimit.set(limitName, (rejectionsByLimit.get(limitName) ?? 0) + 1);
}

export function countSettleFailure(): void {
  settleFailures += 1;
}

export function tokenLimitMetrics(): { decisions: Record<TokenLimitDecision, number>; rejections_by_limit: Record<string, number>; settle_failures: number } {
  return { decisions: { ...decisions }, rejections_by_limit: Object.fromEntries(rejectionsByLimit), settle_failures: settleFailures };
}

/** Prometheus text of what usage events do not carry (appended to the metrics endpoint). */
export function tokenLimitMetricsText(): string {
  return [
    '# HELP llm_suite_token_limit_settle_failures_total Settlements llm-token-limit could not write (the reservation then expires on its own).',
    '# TYPE llm_suite_token_limit_settle_failures_total counter',
    `llm_suite_token_limit_settle_failures_total ${settleFailures}`,
    '',
  ].join('\n');
}
