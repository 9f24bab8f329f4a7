import { windowAt, type WindowSlot } from '../runtime/limits/windows';
import { combinations, describeValues, dimensionValues, type Attribution } from './attribution';
import { dollars, microFromUsd } from './cost';
import type { BudgetConfig } from './schema';

/** A rolling budget is kept in this many sub-buckets of period/12 (plus the current one): see rollingSlot. */
export const ROLLING_SUB_BUCKETS = 12;
/** Counters outlive their window by a minute, so late settlements still find them. */
const SETTLE_GRACE_MS = 60_000;

/** One budget counter a request counts against: a budget, one combination of its dimensions' values, one window. */
export interface BudgetCounter {
  budget: BudgetConfig;
  values: string[];
  /** The window counted: a calendar/fixed window, or for a rolling budget the span its sub-buckets cover now. */
  slot: WindowSlot;
  /** Reserved + settled spend (the cap is checked against this; for a rolling budget, its current sub-bucket). */
  key: string;
  /** Settled spend only (alerts are based on money actually spent, not on reservations in flight). */
  spentKey: string;
  /** Rolling budgets: the earlier live sub-buckets of key and spentKey, oldest first (empty for fixed windows). */
  earlier: string[];
  spentEarlier: string[];
  limitMicro: number;
  /** TTL of the counters when created now. */
  ttlMs: number;
  /** When spend is next released: the end of the fixed window, or of the current sub-bucket (Retry-After). */
  releaseAtMs: number;
  /** Alerts fire once per alertId, which is remembered for alertTtlMs (a fixed window; one period when rolling). */
  alertId: string;
  alertTtlMs: number;
}

function applies(budget: BudgetConfig, a: Attribution): boolean {
  return budget.where.every((cond) => dimensionValues(a, cond.dimension).some((v) => cond.values.includes(v)));
}

/**
 * A rolling window of `seconds` at `nowMs`, as N = 12 sub-buckets of b = ceil(period / N) ms plus the current one:
 * the sum covers from (current − N)·b to now, i.e. at least the last period and at most b more. Never less than
 * the period, so a cap holds for every sliding interval of one period; spend is released a sub-bucket at a time.
 */
function rollingSlot(seconds: number, nowMs: number) {
  const bucketMs = Math.ceil((seconds * 1000) / ROLLING_SUB_BUCKETS);
  const current = Math.floor(nowMs / bucketMs);
  const ids = Array.from({ length: ROLLING_SUB_BUCKETS + 1 }, (_, i) => `r${seconds}s:${current - ROLLING_SUB_BUCKETS + i}`);
  return {
    ids,
    slot: { id: ids.at(-1)!, startMs: (current - ROLLING_SUB_BUCKETS) * bucketMs, endMs: (current + 1) * bucketMs },
    // the current sub-bucket is counted until N more have started
    ttlMs: (current + ROLLING_SUB_BUCKETS + 1) * bucketMs - nowMs + SETTLE_GRACE_MS,
  };
}

export function budgetCounters(budgets: readonly BudgetConfig[], a: Attribution, nowMs: number): BudgetCounter[] {
  const out: BudgetCounter[] = [];
  for (const budget of budgets) {
    if (!applies(budget, a)) continue;
    const limitMicro = microFromUsd(budget.amount_usd);
    const rolling = budget.rolling ? rollingSlot(Number(budget.period.slice(0, -1)), nowMs) : undefined;
    const slot = rolling?.slot ?? windowAt(budget.period, nowMs, budget.time_zone);
    const ttlMs = rolling?.ttlMs ?? Math.max(1, slot.endMs - nowMs) + SETTLE_GRACE_MS;
    for (const values of combinations(a, budget.by)) {
      const base = `${budget.name}:${values.join('|')}`;
      const ids = rolling?.ids ?? [slot.id];
      const keys = ids.map((id) => `cost:b:${base}:${id}`);
      const spent = ids.map((id) => `cost:s:${base}:${id}`);
      out.push({
        budget,
        values,
        slot,
        key: keys.at(-1)!,
        spentKey: spent.at(-1)!,
        earlier: keys.slice(0, -1),
        spentEarlier: spent.slice(0, -1),
        limitMicro,
        ttlMs,
        releaseAtMs: slot.endMs,
        alertId: rolling ? `cost:b:${base}:${budget.period}-rolling` : keys.at(-1)!,
        alertTtlMs: rolling ? Number(budget.period.slice(0, -1)) * 1000 : ttlMs,
      });
    }
  }
  return out;
}

/** day, week, month, minute, hour, 90s — or "3600s rolling". */
export function periodLabel(budget: BudgetConfig): string {
  return budget.rolling ? `${budget.period} rolling` : budget.period;
}

/** Who the budget is for, as people say it: "team data-science in env dev", or the budget's name when it has no dimensions. */
export function budgetSubject(c: BudgetCounter): string {
  return c.budget.by.length > 0 ? describeValues(c.budget.by, c.values) : `budget ${c.budget.name}`;
}

/**
 * "Budget exceeded for team data-science in env dev: $50.00/day, $50.13 used (budget team-daily); …": `used` is what
 * the counter would hold with this request's worst case added — the amount that does not fit.
 */
export function overBudgetMessage(c: BudgetCounter, currentMicro: number, requestMicro: number): string {
  return (
    `Budget exceeded for ${budgetSubject(c)}: ${dollars(c.limitMicro)}/${periodLabel(c.budget)}, ` +
    `${dollars(currentMicro + requestMicro)} used (budget ${c.budget.name}); this request may cost up to ${dollars(requestMicro)}`
  );
}
